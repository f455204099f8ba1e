"""gan-sample for an audio checkpoint: n clips from seeded latents, as one WAV and a spectrogram grid."""

from __future__ import annotations

from pathlib import Path

from gan_cli.errors import UserError
from gan_cli.inference.audio_output import save_clips, waveform_sampler
from gan_cli.inference.loading import generator_of
from gan_cli.inference.sampling import default_output, generate
from gan_cli.latent_layout import LatentLayout
from gan_cli.runs.config import read_checkpoint


def sample_clips_to_files(ckpt, n: int = 16, seed: int = 0, out=None, ema: bool = True, device="cpu",
                          label: int | None = None) -> list[Path]:
    """[the WAV, the spectrogram PNG] of n clips (of class `label` for a conditional model)."""
    read = read_checkpoint(ckpt)
    generator = waveform_sampler(generator_of(read.checkpoint, read.config, read.path, ema, device))
    z, labels, _ = LatentLayout.from_config(read.config).grid(n, seed, label)
    clips = generate(generator, z, labels)
    name = f"sample_seed{seed}_n{n}" + (f"_label{label}" if label is not None else "")
    out = Path(out) if out else default_output(read.path, f"{name}.png")
    if out.suffix.lower() not in (".png", ".wav"):
        raise UserError(f"out={out} must end in .png or .wav: gan-sample writes the clips as NAME.wav and their "
                        f"spectrograms as NAME.png.")
    return save_clips(clips, int(read.config.data.sample_rate), out.with_suffix(".png"))


def walk_clips_to_files(ckpt, method: str = "slerp", steps: int = 8, seeds=(0, 1), out=None, ema: bool = True,
                        device="cpu", label: int | None = None) -> list[Path]:
    """gan-interp for an audio checkpoint: the clips of a latent walk through `seeds` (steps per leg), as
    one WAV of consecutive clips and their spectrogram strip (a row per leg)."""
    from gan_cli.inference.interpolation import interpolation_path

    read = read_checkpoint(ckpt)
    generator = waveform_sampler(generator_of(read.checkpoint, read.config, read.path, ema, device))
    layout = LatentLayout.from_config(read.config)
    path = interpolation_path(seeds, layout.noise_dim, steps, method).reshape(-1, layout.noise_dim)
    clips = generate(generator, layout.with_codes(path), layout.labels_for(len(path), label))
    out = Path(out) if out else default_output(read.path, f"interp_{method}.png")
    if out.suffix.lower() not in (".png", ".wav"):
        raise UserError(f"out={out} must end in .png or .wav: gan-interp writes the walk as NAME.wav and its "
                        f"spectrograms as NAME.png.")
    return save_clips(clips, int(read.config.data.sample_rate), out.with_suffix(".png"), nrow=steps)
