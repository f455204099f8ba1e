"""Using a trained mel -> waveform model: its generator with the mel settings it was trained on, copy
synthesis (audio -> its mel -> audio again), its real-time factor, held-out clips, and what a user
listens to and looks at (a WAV of real and re-synthesised clips in turn, spectrograms real | vocoded).

    vocoder = Vocoder.load(read)                  # or Vocoder.from_state(state, run.model)
    vocoded = vocoder(audio)                      # (B, 1, T) -> (B, 1, T // hop x hop), on the CPU
    rtf, vocoded = vocoder.timed(audio)           # seconds of synthesis per second of audio
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn

from gan_cli.data import as_source
from gan_cli.data.audio_clips import write_wav
from gan_cli.errors import UserError
from gan_cli.inference import images
from gan_cli.inference.audio_output import GAP_SECONDS, spectrogram_images
from gan_cli.inference.loading import build_generator
from gan_cli.mel import MelFeatures
from gan_cli.runs.checkpoints import load_weights, require_keys

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3")


@dataclass
class Vocoder:
    generator: nn.Module
    mel: MelFeatures
    name: str = ""

    @classmethod
    def from_state(cls, state, model_cfg) -> Vocoder:
        return cls(state.sampler, MelFeatures.from_config(model_cfg.mel), str(model_cfg.name))

    @classmethod
    def load(cls, read, device="cpu", use_ema: bool = True) -> Vocoder:
        """The vocoder of a checkpoint read once (gan_cli.runs.config.ReadCheckpoint), in eval mode."""
        require_keys(read.checkpoint, ("generator",), read.path)
        generator = build_generator(read.config.model, "generator")
        key = "ema" if use_ema and read.checkpoint.get("ema") is not None else "generator"
        load_weights(generator, read.checkpoint[key], key, read.path)
        return cls(generator.to(device).eval().requires_grad_(False), MelFeatures.from_config(read.config.model.mel),
                   str(read.config.model.name))

    @property
    def sample_rate(self) -> int:
        return int(self.mel.sample_rate)

    def aligned(self, audio: torch.Tensor) -> torch.Tensor:
        """The audio cut to whole hops: what a vocoded clip lines up with, sample for sample."""
        return audio[..., : audio.shape[-1] // self.mel.hop * self.mel.hop]

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor, batch_size: int = 8) -> torch.Tensor:
        """(B, 1, T) audio in [-1, 1] -> the generator's waveform of its mel, (B, 1, T // hop x hop), on the CPU."""
        if audio.shape[-1] < self.mel.n_fft:
            raise UserError(f"a clip of {audio.shape[-1]} samples is shorter than one analysis window "
                            f"({self.mel.n_fft} samples at {self.sample_rate} Hz): give longer audio.")
        device = next(self.generator.parameters()).device
        was_training = self.generator.training
        self.generator.eval()
        try:
            return torch.cat([self.generator(self.mel.input(chunk.to(device).float())).float().cpu()
                              for chunk in audio.split(batch_size)])
        finally:
            self.generator.train(was_training)

    def timed(self, audio: torch.Tensor, batch_size: int = 8) -> tuple[float, torch.Tensor]:
        """(real-time factor: synthesis seconds per second of audio, the vocoded audio)."""
        started = time.perf_counter()
        vocoded = self(audio, batch_size)
        if vocoded.numel() and next(self.generator.parameters()).is_cuda:
            torch.cuda.synchronize()
        return (time.perf_counter() - started) / (vocoded.shape[0] * vocoded.shape[-1] / self.sample_rate), vocoded


def heldout_clips(data, n: int | None = None, seed: int = 0) -> torch.Tensor:
    """(N, 1, T) held-out clips of a data config (or a run's DataSource): its test split, n chosen by seed
    (all of them, in order, when n is None or there are at most n)."""
    split = as_source(data).heldout
    count = len(split[0]) if isinstance(split, (tuple, list)) else len(split)
    if count == 0:
        raise UserError(f"data={as_source(data).name} has no held-out clips to re-synthesise.")
    if n is None or count <= n:
        indices = list(range(count))
    else:
        indices = sorted(torch.randperm(count, generator=torch.Generator().manual_seed(int(seed)))[:n].tolist())
    if isinstance(split, (tuple, list)):
        return split[0][indices].float()
    return torch.stack([split[i][0] for i in indices]).float()


def interleaved(real: torch.Tensor, vocoded: torch.Tensor) -> torch.Tensor:
    """real 0, vocoded 0, real 1, vocoded 1, ...: rows of two in a grid, pairs in a WAV."""
    return torch.stack([real[..., : vocoded.shape[-1]], vocoded], dim=1).flatten(0, 1)


def comparison_files(real: torch.Tensor, vocoded: torch.Tensor, sample_rate: int, png: Path) -> list[Path]:
    """The WAV (each real clip, then its vocoded version, a short silence between) and the PNG of their
    spectrograms (a row per clip: real | vocoded), beside each other."""
    png = Path(png)
    pairs = interleaved(real.float().cpu(), vocoded.float().cpu())
    gap = torch.zeros(int(GAP_SECONDS * sample_rate))
    track = torch.cat([part for clip in pairs.reshape(len(pairs), -1) for part in (clip, gap)][:-1])
    wav = write_wav(png.with_suffix(".wav"), track, sample_rate)
    return [wav, images.save_grid(spectrogram_images(pairs), png, nrow=2)]


def audio_files(value) -> list[Path]:
    """The audio files `input=` names: one file, or every audio file under a folder (sorted, any depth)."""
    path = Path(str(value)).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise UserError(f"input={value} is a folder without audio (nothing under it ends in "
                            f"{', '.join(AUDIO_SUFFIXES)}); point input= at a WAV file or a folder of them.")
        return files
    if not path.is_file():
        raise UserError(f"input={value} does not exist: point input= at an audio file (WAV, FLAC, ...) or a folder "
                        f"of them.")
    return [path]


def read_audio(path: Path, sample_rate: int) -> torch.Tensor:
    """One file as (1, 1, T) mono float32 at `sample_rate` (channels averaged, resampled band-limited)."""
    import soundfile

    from gan_cli.data.audio_clips import resample

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, TypeError, ValueError) as error:  # soundfile's LibsndfileError is a RuntimeError
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"input={path} is not audio gan-sample can read ({first}); give a WAV, FLAC or OGG file, "
                        f"or a folder of them.") from None
    mono = resample(samples.mean(axis=1), int(rate), sample_rate)
    return torch.from_numpy(mono.copy()).clamp(-1, 1).reshape(1, 1, -1)


def vocode_files(vocoder: Vocoder, input, out) -> list[tuple[Path, Path, float]]:
    """Copy synthesis of every file `input` names: <out>/<name>.wav (vocoded) and <name>.png (spectrograms
    real | vocoded); (wav, png, real-time factor) per file."""
    written = []
    out = Path(out)
    for path in audio_files(input):
        audio = read_audio(path, vocoder.sample_rate)
        rtf, vocoded = vocoder.timed(audio, batch_size=1)
        wav = write_wav(out / f"{path.stem}.wav", vocoded, vocoder.sample_rate)
        png = images.save_grid(spectrogram_images(interleaved(vocoder.aligned(audio), vocoded)),
                               out / f"{path.stem}.png", nrow=2)
        written.append((wav, png, rtf))
    return written
