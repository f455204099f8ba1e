"""Vocoding: a mel spectrogram -> its waveform (HiFi-GAN, MelGAN), learnt by copy synthesis of speech.

The data are waveform segments (items (audio (1, T) in [-1, 1], label)); the mel is computed from each
segment with the model's own settings (model.mel), so a checkpoint alone re-synthesises any audio.
Its preview is held-out clips next to their re-synthesis: TensorBoard's audio tab, spectrograms real |
vocoded, and a WAV + PNG per sample step. Its evaluator judges copy synthesis of the held-out clips
(mel L1, multi-resolution STFT, PESQ and STOI when installed, the real-time factor), with Griffin-Lim
from the same mel as the reference row. gan-sample re-synthesises input= files (or held-out clips);
there is no latent space to walk.
"""

from __future__ import annotations

from gan_cli.errors import UserError
from gan_cli.tasks.base import Loaded, Task

PREVIEW_CLIPS = 4  # held-out clips in the preview (at most trainer.num_fixed_samples)


class VocoderPreview:
    def __init__(self, state, run_log, run, device):
        from gan_cli import distributed
        from gan_cli.inference.copy_synthesis import heldout_clips

        self.state, self.run_log, self.model = state, run_log, run.model
        count = min(run.trainer.num_fixed_samples, PREVIEW_CLIPS)
        self.clips = heldout_clips(run.data, count, run.trainer.seed) if distributed.is_main() else None

    def __call__(self, step: int) -> None:
        from gan_cli import distributed
        from gan_cli.inference.copy_synthesis import Vocoder

        if not distributed.is_main():
            return
        vocoder = Vocoder.from_state(self.state, self.model)
        self.run_log.vocoded(vocoder.aligned(self.clips), vocoder(self.clips), step, vocoder.sample_rate)


class VocoderTask(Task):
    name = "vocoder"
    summary = "mel spectrogram -> waveform"
    extra_data = ("audio_folder",)  # recordings read as vocoder data (data.task=vocoder)
    # HiFi-GAN: discriminator = the multi-scale D, discriminator_periods = the multi-period D; MelGAN: the first.
    networks = ("generator", "discriminator", "discriminator_periods")
    fake_label = "D(G(mel))"

    def check_config(self, cfg) -> None:
        mel, data = cfg.model.get("mel"), cfg.data
        if mel is None:
            raise UserError(f"model={cfg.model.name} has no model.mel settings (sample_rate, n_fft, hop, win, n_mels, "
                            f"f_min, f_max, f_max_loss): a vocoder needs them to compute its input.")
        shape = list(data.get("shape") or [])
        if len(shape) != 2 or shape[0] != 1:
            raise UserError(f"data.shape={shape} must be [1, segment length]: a vocoder learns from mono waveform "
                            f"segments.")
        if data.get("sample_rate") != mel.sample_rate:
            raise UserError(f"data.sample_rate={data.get('sample_rate')} differs from model.mel.sample_rate="
                            f"{mel.sample_rate}: the mel settings are the model's, so set both to the same rate.")
        if not isinstance(mel.hop, int) or mel.hop < 1 or shape[1] % mel.hop or shape[1] < 4 * mel.n_fft:
            raise UserError(f"The segments' length {shape[1]} must be a whole number of hops (model.mel.hop="
                            f"{mel.hop}) and at least 4 x n_fft ({4 * mel.n_fft}); HiFi-GAN uses 8192 samples.")

    def preview(self, state, run_log, run, device):
        return VocoderPreview(state, run_log, run, device)

    def evaluator(self, run, device):
        from gan_cli.eval.vocoder_metrics import VocoderEvaluator
        from gan_cli.mel import MelFeatures

        return VocoderEvaluator(run.data, run.eval, MelFeatures.from_config(run.model.mel), str(run.model.name), device)

    def evaluated(self, state, run):
        from gan_cli.inference.copy_synthesis import Vocoder

        return Vocoder.from_state(state, run.model)

    def evaluate_checkpoint(self, loaded: Loaded, options, device):
        from gan_cli.eval.checkpoint_report import evaluation_config
        from gan_cli.eval.vocoder_metrics import evaluate_vocoder
        from gan_cli.inference.copy_synthesis import Vocoder
        from gan_cli.tasks.run_description import RunDescription

        vocoder = Vocoder.load(loaded.read, device, bool(options.get("ema", True)))
        run = RunDescription.of(evaluation_config(loaded.checkpoint, options, loaded.path), self)
        return evaluate_vocoder(loaded, vocoder, self.evaluator(run, device), options)

    def sample(self, loaded: Loaded, cfg, out, device) -> str:
        from pathlib import Path

        from gan_cli.inference.copy_synthesis import Vocoder, comparison_files, heldout_clips, vocode_files
        from gan_cli.runs.paths import RunPaths

        vocoder = Vocoder.load(loaded.read, device, cfg.ema)
        samples = RunPaths.of_checkpoint(loaded.path).samples
        if cfg.input is not None:
            written = vocode_files(vocoder, cfg.input, Path(out) if out else samples / "vocoded")
            lines = [f"wrote {wav} (real-time factor {rtf:.3g} on {device}) and {png} (spectrograms real | vocoded)"
                     for wav, png, rtf in written]
            return "\n".join(lines)
        n = cfg.n or PREVIEW_CLIPS
        try:
            clips = heldout_clips(loaded.config.data, n, cfg.seed)
        except UserError as error:
            raise UserError(f"{loaded.path} holds model={loaded.model_name}, a vocoder: give it audio to re-synthesise "
                            f"with gan-sample ckpt={loaded.path} input=<WAV file or folder>. (Without input= it "
                            f"re-synthesises held-out clips of its data, which failed: {error})") from None
        rtf, vocoded = vocoder.timed(clips)
        png = Path(out) if out else samples / f"heldout_vocoded_seed{cfg.seed}_n{len(clips)}.png"
        if png.suffix.lower() not in (".png", ".wav"):
            raise UserError(f"out={png} must end in .png or .wav: gan-sample writes the clips as NAME.wav and their "
                            f"spectrograms as NAME.png.")
        wav, png = comparison_files(vocoder.aligned(clips), vocoded, vocoder.sample_rate, png.with_suffix(".png"))
        return (f"wrote {wav} ({len(clips)} held-out clips, each then its re-synthesis) and {png} (spectrograms real | "
                f"vocoded); real-time factor {rtf:.3g} on {device}")

    def require_latent_space(self, loaded: Loaded) -> None:
        raise UserError(f"ckpt={loaded.path} holds model={loaded.model_name}, a vocoder ({self.summary}) without a "
                        f"latent space, so there is nothing to interpolate; re-synthesise audio with gan-sample "
                        f"ckpt={loaded.path} input=<WAV file or folder>.")
