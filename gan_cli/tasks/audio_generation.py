"""Audio generation: noise (and a class) -> a waveform (WaveGAN).

Its preview is the fixed latents through the sampling generator as clips: TensorBoard's audio tab,
their spectrograms as a grid, and each sample step's WAV (the clips one after another) with its
spectrogram PNG; gan-sample writes the same for n seeded clips. Its metrics follow WaveGAN's SC09
protocol with the shipped spoken-digits classifier (gan_cli/eval/spoken_digits_classifier.py): the
Inception score and Fréchet distance of its log-mel features, KID, precision/recall, class coverage
and the share of clips read confidently as one digit, the real data's values beside them in gan-eval.
"""

from __future__ import annotations

from gan_cli.errors import UserError
from gan_cli.tasks.base import Loaded, Task
from gan_cli.tasks.generation import FixedLatentPreview

MOMENT_CLIPS = 4096  # real clips behind a spectrogram model's per-bin moments (all of a smaller set)


class SpectrogramBatches:
    """The data's batches of real clips as a spectrogram generator's representation sees them (SpecGAN's
    D judges spectrograms): each batch turned on the training device; the order, its state and its
    resume are the clips' own."""

    def __init__(self, batches, representation):
        self.batches, self.representation = batches, representation
        self.batch_size = batches.batch_size
        self.sample_shape = (1, representation.bins, representation.frames)
        self.seen_as = (f"{representation.bins}x{representation.frames} log-magnitude spectrograms, STFT "
                        f"{representation.n_fft} / hop {representation.hop}")

    def next(self):
        import torch

        clips, labels = self.batches.next()
        with torch.no_grad():
            return self.representation(clips), labels

    def state_dict(self) -> dict:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.batches.load_state_dict(state)

    def describe(self) -> str:
        r = self.representation
        return f"{self.batches.describe()}, as {r.bins}x{r.frames} log-magnitude spectrograms (STFT {r.n_fft}/{r.hop})"


class AudioPreview(FixedLatentPreview):
    """The fixed latents' clips: TensorBoard audio, their spectrograms, and a WAV + PNG per sample step."""

    def __init__(self, state, run_log, run, device):
        super().__init__(state, run_log, run, device)
        self.sample_rate = int(run.data.config.sample_rate)

    def show(self, fake, step: int) -> None:
        from gan_cli.models.capabilities import SpectrogramBased

        if isinstance(self.state.sampler, SpectrogramBased):
            fake = self.state.sampler.to_audio(fake)
        self.run_log.audio(fake, step, self.sample_rate)


class AudioGenerationTask(Task):
    name = "audio"
    summary = "noise -> waveform"
    latent_space = True

    def check_config(self, cfg) -> None:
        rate = cfg.data.get("sample_rate")
        if isinstance(rate, bool) or not isinstance(rate, int) or rate < 4000:
            raise UserError(f"data.sample_rate={rate!r} must be a whole number of samples per second, at least 4000 "
                            f"(16000 for the spoken digits, 22050 for speech).")

    def model_batches(self, batches, networks, run):
        """A spectrogram generator's batches: its representation fit to the real clips (per-bin moments,
        kept in the generator's buffers and so in its checkpoints), then every real batch turned into it."""
        from gan_cli.models.capabilities import SpectrogramBased

        generator = networks["generator"]
        if not isinstance(generator, SpectrogramBased):
            return batches
        from gan_cli.data import real_samples

        representation = generator.representation
        representation.fit(real_samples(run.data, min(MOMENT_CLIPS, len(run.data)), seed=0).to(representation.mean.device))
        return SpectrogramBatches(batches, representation)

    def preview(self, state, run_log, run, device):
        return AudioPreview(state, run_log, run, device)

    def evaluator(self, run, device):
        from gan_cli.eval.evaluator import Evaluator

        return Evaluator(run.data, run.latent_layout, run.eval, device)

    def evaluated(self, state, run):
        from gan_cli.inference.audio_output import waveform_sampler

        return waveform_sampler(state.sampler)

    def evaluate_checkpoint(self, loaded: Loaded, options, device):
        from gan_cli.eval.checkpoint_report import evaluate_generator
        from gan_cli.inference.audio_output import waveform_sampler

        return evaluate_generator(loaded, options, device, wrap=waveform_sampler)

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
