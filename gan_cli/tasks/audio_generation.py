"""Audio generation: noise (and a class) -> a waveform (WaveGAN).

Its preview is the fixed latents through the sampling generator as clips: TensorBoard's audio tab,
their spectrograms as a grid, and each sample step's WAV (the clips one after another) with its
spectrogram PNG; gan-sample writes the same for n seeded clips. Its metrics (a spoken-digit
classifier's Inception score and Fréchet distance, WaveGAN's SC09 protocol) are not built yet:
eval.every and gan-eval say so instead of reporting image metrics of sound.
"""

from __future__ import annotations

from gan_cli.errors import UserError
from gan_cli.tasks.base import Loaded, Task
from gan_cli.tasks.generation import FixedLatentPreview


class AudioPreview(FixedLatentPreview):
    """The fixed latents' clips: TensorBoard audio, their spectrograms, and a WAV + PNG per sample step."""

    def __init__(self, state, run_log, run, device):
        super().__init__(state, run_log, run, device)
        self.sample_rate = int(run.data.config.sample_rate)

    def show(self, fake, step: int) -> None:
        self.run_log.audio(fake, step, self.sample_rate)


class AudioGenerationTask(Task):
    name = "audio"
    summary = "noise -> waveform"
    models = "wavegan"
    data = "spoken_digits, audio_folder"
    latent_space = True

    def check_config(self, cfg) -> None:
        rate = cfg.data.get("sample_rate")
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 4000:
            raise UserError(f"data.sample_rate={rate!r} must be a whole number of samples per second, at least 4000 "
                            f"(16000 for the spoken digits, 22050 for speech).")

    def preview(self, state, run_log, run, device):
        return AudioPreview(state, run_log, run, device)

    def evaluator(self, run, device):
        raise UserError(f"eval.every={run.eval.every} asks for sample-quality metrics, which gan-cli does not have for "
                        f"audio yet (the spoken-digit classifier of WaveGAN's protocol is still to come): set "
                        f"eval.every=0 and listen to the clips in TensorBoard's audio tab.")

    def evaluated(self, state, run):
        return state.sampler

    def evaluate_checkpoint(self, loaded: Loaded, options, device):
        raise UserError(f"gan-eval has no metrics for audio yet ({loaded.path} holds model={loaded.model_name}); "
                        f"gan-sample ckpt={loaded.path} writes clips to listen to.")

    def interpolate(self, loaded: Loaded, cfg, device) -> str:
        from gan_cli.inference.audio_samples import walk_clips_to_files

        if cfg.mode not in ("auto", "walk") or cfg.space != "z":
            raise UserError(f"mode={cfg.mode} space={cfg.space} is not a walk gan-interp draws for audio: "
                            f"{loaded.path} holds model={loaded.model_name}, whose walk is mode=walk in z.")
        seeds = list(cfg.seeds) if not isinstance(cfg.seeds, int) else [cfg.seeds]
        wav, png = walk_clips_to_files(loaded.read, cfg.method, cfg.steps, seeds, cfg.out, cfg.ema, device,
                                       label=cfg.label)
        return f"wrote {wav} (the walk's clips one after another) and {png} (their spectrograms, a row per leg)"

    def sample(self, loaded: Loaded, cfg, out, device) -> str:
        from gan_cli.inference.audio_samples import sample_clips_to_files

        if cfg.input is not None:
            raise UserError(f"input={cfg.input} translates images, but {loaded.path} holds model={loaded.model_name}, "
                            f"which generates audio from noise: drop input=.")
        wav, png = sample_clips_to_files(loaded.read, cfg.n or 16, cfg.seed, out, cfg.ema, device, label=cfg.label)
        return f"wrote {wav} ({cfg.n or 16} clips one after another) and {png} (their spectrograms)"
