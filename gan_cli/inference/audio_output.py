"""What an audio model's user listens to and looks at: WAV files of clips (one after another, with a
short silence between), and log-magnitude spectrograms drawn as a grid image (low frequencies at the
bottom), for training previews and gan-sample alike."""

from __future__ import annotations

from pathlib import Path

import torch

from gan_cli.data.audio_clips import write_wav
from gan_cli.inference import images
from gan_cli.mel import magnitude_spectrogram

GAP_SECONDS = 0.25


def spectrogram_images(clips: torch.Tensor, n_fft: int = 512, hop: int = 128, floor_db: float = -80.0) -> torch.Tensor:
    """(N, 1, F, frames) images in [-1, 1] of clips (N, 1, T): dB of |STFT| from floor_db to 0 dB of
    full scale, flipped so that low frequencies are at the bottom."""
    magnitude = magnitude_spectrogram(clips.float().cpu().reshape(len(clips), -1), n_fft, hop, n_fft, center=True)
    decibels = 20 * torch.log10(magnitude / (n_fft / 4) + 1e-8)
    scaled = (decibels.clamp(floor_db, 0) - floor_db) / -floor_db * 2 - 1
    return scaled.flip(1).unsqueeze(1)


def consecutive(clips: torch.Tensor, sample_rate: int, gap_seconds: float = GAP_SECONDS) -> torch.Tensor:
    """The clips one after another with `gap_seconds` of silence between: one listenable track."""
    gap = torch.zeros(int(gap_seconds * sample_rate))
    parts = []
    for clip in clips.float().cpu().reshape(len(clips), -1):
        parts += [clip, gap]
    return torch.cat(parts[:-1]) if parts else torch.zeros(0)


def save_clips(clips: torch.Tensor, sample_rate: int, png: Path, nrow: int | None = None) -> list[Path]:
    """The clips as one WAV (consecutive, beside the PNG) and their spectrogram grid (the PNG)."""
    png = Path(png)
    wav = write_wav(png.with_suffix(".wav"), consecutive(clips, sample_rate), sample_rate)
    grid = images.save_grid(spectrogram_images(clips), png, nrow or min(4, len(clips)))
    return [wav, grid]


def waveform_sampler(generator):
    """`generator` itself, or (a spectrogram model: SpecGAN) a module whose forward makes its clips, for
    the code that hears what a generator makes (previews, gan-sample, gan-interp, the metrics)."""
    from gan_cli.models.capabilities import SpectrogramBased

    if not isinstance(generator, SpectrogramBased):
        return generator
    return _Clips(generator)


class _Clips(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, z, labels=None, **options):
        return self.inner.to_audio(self.inner(z, labels, **options))
