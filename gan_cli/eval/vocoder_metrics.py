"""Evaluate a mel -> waveform model by copy synthesis of held-out speech, and Griffin-Lim beside it.

    evaluator = VocoderEvaluator(run.data, run.eval, mel, name)     # the held-out clips, read once
    values = evaluator(vocoder)             # {"mel_l1": 0.41, "mrstft": 2.1, "rtf": 0.05, ...}
    evaluator.reference_values()            # ("griffin_lim", the same metrics of Griffin-Lim from the same mel)

mel_l1   mean |log-mel(real) - log-mel(vocoded)| (natural log of the mel clamped at 1e-5: the papers'
         units), with the loss's mel (model.mel.f_max_loss, Nyquist by default)
mrstft   multi-resolution STFT distance (Parallel WaveGAN): per FFT size 512 / 1024 / 2048 (hop 50 / 120 /
         240, Hann windows of 240 / 600 / 1200), spectral convergence ||S - S'||_F / ||S||_F plus the mean
         |log S - log S'|; averaged over the three
pesq     wide-band PESQ (ITU-T P.862.2) at 16 kHz, when the `pesq` package is importable
stoi     short-time objective intelligibility, when the `pystoi` package is importable
rtf      seconds of synthesis per second of audio, on the CPU (torch's threads as set), all clips
"""

from __future__ import annotations

import copy
import importlib.util
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from gan_cli.data.audio_clips import resample
from gan_cli.errors import UserError
from gan_cli.inference.copy_synthesis import Vocoder, heldout_clips
from gan_cli.mel import MelFeatures

VOCODER_VALUES = {"mel_l1": ("mel_l1",), "mrstft": ("mrstft",), "pesq": ("pesq",), "stoi": ("stoi",), "rtf": ("rtf",)}
OPTIONAL = {"pesq": "pesq", "stoi": "pystoi"}  # metric -> the package it needs (not a dependency of gan-cli)
RESOLUTIONS = ((512, 50, 240), (1024, 120, 600), (2048, 240, 1200))  # (n_fft, hop, win), Parallel WaveGAN's
DEFAULT_CLIPS = 32  # eval.num_samples=auto: held-out clips judged (all of them when fewer)


def available(metric: str) -> bool:
    return metric not in OPTIONAL or importlib.util.find_spec(OPTIONAL[metric]) is not None


@dataclass(frozen=True)
class Settings:
    metrics: tuple[str, ...]
    best_metric: str
    batch_size: int
    seed: int
    num_clips: int | None


def resolve_settings(request, model_name: str) -> Settings:
    metrics = request.metrics
    if metrics == "auto":
        metrics = tuple(m for m in VOCODER_VALUES if available(m))
    metrics = tuple(str(m) for m in ([metrics] if isinstance(metrics, str) else metrics))
    unknown = [m for m in metrics if m not in VOCODER_VALUES]
    if unknown or not metrics:
        raise UserError(f"metrics={list(metrics)}: {', '.join(unknown) or 'an empty list'} cannot be computed for "
                        f"model={model_name} (mel spectrogram -> waveform); choose from {', '.join(VOCODER_VALUES)} "
                        f"(or auto).")
    missing = [m for m in metrics if not available(m)]
    if missing:
        raise UserError(f"metrics={list(metrics)}: {', '.join(missing)} needs the "
                        f"{' and '.join(OPTIONAL[m] for m in missing)} package (pip install "
                        f"{' '.join(OPTIONAL[m] for m in missing)}), which gan-cli does not require; drop it or install it.")
    best = "mel_l1" if request.best_metric == "auto" else request.best_metric
    if best not in metrics:
        raise UserError(f"eval.best_metric={best!r} is not among the metrics computed ({', '.join(metrics)}); pick one "
                        f"of them or auto (mel_l1).")
    count = None if request.num_samples == "auto" else int(request.num_samples)
    return Settings(metrics, best, int(request.batch_size), int(request.seed), count)


def mel_l1(mel: MelFeatures, real: torch.Tensor, vocoded: torch.Tensor) -> float:
    return float((mel.loss(real) - mel.loss(vocoded)).abs().mean())


def multi_resolution_stft(real: torch.Tensor, vocoded: torch.Tensor) -> float:
    total = 0.0
    for n_fft, hop, win in RESOLUTIONS:
        window = torch.hann_window(win)
        spectra = []
        for audio in (real, vocoded):
            spec = torch.stft(audio.reshape(len(audio), -1).float(), n_fft, hop, win, window, return_complex=True)
            spectra.append(spec.abs().clamp(min=1e-7))
        convergence = torch.linalg.norm(spectra[0] - spectra[1]) / torch.linalg.norm(spectra[0])
        total += float(convergence) + float((spectra[0].log() - spectra[1].log()).abs().mean())
    return total / len(RESOLUTIONS)


def perceptual(metric: str, real: torch.Tensor, vocoded: torch.Tensor, sample_rate: int) -> float:
    """Mean PESQ (wide band, 16 kHz) or STOI over the clips (a silent clip's PESQ is left out)."""
    scores = []
    for clean, degraded in zip(real.reshape(len(real), -1).numpy(), vocoded.reshape(len(vocoded), -1).numpy()):
        if metric == "pesq":
            from pesq import pesq

            try:
                scores.append(pesq(16000, resample(clean, sample_rate, 16000), resample(degraded, sample_rate, 16000),
                                   "wb"))
            except Exception:  # noqa: BLE001 - pesq refuses clips without speech in them
                continue
        else:
            from pystoi import stoi

            scores.append(stoi(clean, degraded, sample_rate, extended=False))
    return float(sum(scores) / len(scores)) if scores else math.nan


class VocoderEvaluator:
    """The configured metrics on the held-out clips; build once, call on a Vocoder as often as needed."""

    reference = "griffin_lim"

    def __init__(self, data, request, mel: MelFeatures, model_name: str, device="cpu"):
        self.data_cfg, self.mel, self.device = data.config, mel, device
        self.settings = resolve_settings(request, model_name)
        clips = heldout_clips(data, self.settings.num_clips, self.settings.seed)
        self.clips = clips[..., : clips.shape[-1] // mel.hop * mel.hop]
        if self.clips.shape[-1] < mel.n_fft:
            raise UserError(f"data={data.name}'s held-out clips ({clips.shape[-1]} samples) are shorter than one "
                            f"analysis window ({mel.n_fft}): nothing to judge.")
        self._reference = None
        seconds = self.clips.shape[0] * self.clips.shape[-1] / mel.sample_rate
        self.protocol = {
            "protocol": "copy synthesis of held-out speech (its mel -> the vocoder -> audio)",
            "dataset": str(self.data_cfg.name), "split": str(self.data_cfg.get("eval_split") or "test"),
            "num_inputs": len(self.clips), "seconds": round(seconds, 3), "seed": self.settings.seed,
            "mel": mel.describe(),
            "mel_l1": "mean |ln mel(real) - ln mel(vocoded)|, mel clamped at 1e-5, up to f_max_loss (null: Nyquist)",
            "mrstft": "Parallel WaveGAN's multi-resolution STFT distance: spectral convergence + mean |log-magnitude "
                      "difference|, FFT 512/1024/2048, hop 50/120/240, Hann 240/600/1200, averaged",
            "pesq": "wide-band PESQ (P.862.2) at 16 kHz, mean over clips (pesq package)",
            "stoi": "STOI (pystoi), mean over clips",
            "rtf": f"synthesis seconds per audio second on the CPU, {torch.get_num_threads()} thread(s)",
            "reference": "griffin_lim: the filter bank's pseudo-inverse of the input mel, 32 fast Griffin-Lim iterations",
        }

    def metric_protocol(self, metric: str) -> dict:
        shared = {k: v for k, v in self.protocol.items() if k not in VOCODER_VALUES}
        return {**shared, metric: self.protocol.get(metric)}

    def _values(self, vocoded: torch.Tensor, rtf: float) -> dict[str, float]:
        real = self.clips[..., : vocoded.shape[-1]]
        values = {}
        for metric in self.settings.metrics:
            if metric == "mel_l1":
                values[metric] = mel_l1(self.mel, real, vocoded)
            elif metric == "mrstft":
                values[metric] = multi_resolution_stft(real, vocoded)
            elif metric == "rtf":
                values[metric] = rtf
            else:
                values[metric] = perceptual(metric, real, vocoded, self.mel.sample_rate)
        return values

    def __call__(self, vocoder: Vocoder) -> dict[str, float]:
        on_cpu = vocoder
        if next(vocoder.generator.parameters()).device.type != "cpu":  # the RTF is the CPU's
            on_cpu = Vocoder(copy.deepcopy(vocoder.generator).cpu(), vocoder.mel, vocoder.name)
        rtf, vocoded = on_cpu.timed(self.clips, self.settings.batch_size)
        return self._values(vocoded, rtf)

    def reference_values(self) -> tuple[str, dict[str, float]]:
        """Griffin-Lim from the same input mel, on the same protocol (computed once)."""
        if self._reference is None:
            started = time.perf_counter()
            rebuilt = torch.cat([self.mel.griffin_lim(chunk) for chunk in self.clips.split(self.settings.batch_size)])
            rtf = (time.perf_counter() - started) / (rebuilt.shape[0] * rebuilt.shape[-1] / self.mel.sample_rate)
            self._reference = self._values(rebuilt, rtf)
        return self.reference, self._reference


def evaluate_vocoder(loaded, vocoder: Vocoder, evaluator: VocoderEvaluator, options) -> tuple[dict, Path]:
    """A vocoder checkpoint's report: its metrics on the held-out clips and Griffin-Lim's on the same."""
    from gan_cli.eval.checkpoint_report import evaluate_against_reference

    return evaluate_against_reference(loaded, vocoder, evaluator, options, value_names=VOCODER_VALUES)
