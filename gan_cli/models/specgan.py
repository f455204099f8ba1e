"""SpecGAN (Donahue et al. 2019): the DCGAN nets on normalised log-magnitude spectrograms, turned back
into audio with Griffin-Lim.

    representation = SpecGANSpectrogram((1, 16384))   # STFT 256 / hop 128: (1, 128 bins, 128 frames)
    representation.fit(real_clips)                       # per-bin moments of the training clips
    spectrograms = representation(clips)                 # log|STFT|, per bin to zero mean and unit
                                                         # variance, clipped at 3 std, / 3: [-1, 1]
    clips = representation.invert(spectrograms)          # undo it; Griffin-Lim (16 iterations)

The generator holds the representation (its moments are buffers, so a checkpoint alone re-synthesises)
and makes spectrograms; `to_audio` turns them into clips. The data stay waveforms: the audio task
turns each real batch into spectrograms with the generator's representation (gan_cli/tasks/
audio_generation.py SpectrogramBatches), so every audio data config trains SpecGAN, and the metrics,
previews and gan-sample hear clips.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.mel import griffin_lim
from gan_cli.models.capabilities import SpectrogramBased
from gan_cli.models.dcgan import DCGANDiscriminator, DCGANGenerator

LOG_OFFSET = 1e-6     # log(|X| + 1e-6), as the paper
CLIP_STDS = 3.0       # normalised values clipped at 3 standard deviations, then / 3


def spectrogram_shape(data_shape, n_fft: int, hop: int) -> tuple[int, int]:
    """(frequency bins, frames) of clips of data_shape (1, samples): n_fft / 2 bins (the Nyquist bin
    dropped) by samples / hop frames, which must be equal (the DCGAN nets make square images)."""
    shape = tuple(int(s) for s in data_shape)
    if len(shape) != 2 or shape[0] != 1:
        raise UserError(f"data.shape={list(shape)}: SpecGAN makes mono clips, shape [1, samples] (data=spoken_digits).")
    bins, frames = n_fft // 2, shape[1] // hop
    if n_fft < 16 or n_fft & (n_fft - 1) or shape[1] % hop or bins != frames:
        raise UserError(f"SpecGAN's spectrograms must be square: n_fft={n_fft} gives {bins} frequency bins but "
                        f"{shape[1]} samples / hop {hop} give {shape[1] / hop:g} frames; use n_fft=256 hop=128 for "
                        f"16,384-sample clips (the paper), or n_fft = 2 * samples / hop with n_fft a power of two.")
    return bins, frames


class SpecGANSpectrogram(nn.Module):
    """Clips (N, 1, T) <-> normalised log-magnitude spectrograms (N, 1, n_fft / 2, T / hop) in [-1, 1]."""

    def __init__(self, data_shape, n_fft: int = 256, hop: int = 128, griffin_lim_iterations: int = 16):
        super().__init__()
        self.bins, self.frames = spectrogram_shape(data_shape, n_fft, hop)
        self.length = int(data_shape[-1])
        self.n_fft, self.hop, self.iterations = int(n_fft), int(hop), int(griffin_lim_iterations)
        if self.iterations < 1:
            raise UserError(f"griffin_lim_iterations={griffin_lim_iterations!r} must be at least 1 (the paper: 16).")
        self.register_buffer("mean", torch.zeros(self.bins))
        self.register_buffer("std", torch.ones(self.bins))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def log_magnitude(self, clips: torch.Tensor) -> torch.Tensor:
        """log(|STFT| + 1e-6) of (N, 1, T) clips: (N, bins, frames), centred Hann frames, Nyquist bin dropped."""
        audio = clips.float().reshape(len(clips), -1)
        window = torch.hann_window(self.n_fft, device=audio.device)
        spec = torch.stft(audio, self.n_fft, self.hop, self.n_fft, window, center=True, pad_mode="reflect",
                          return_complex=True)
        return torch.log(spec.abs()[:, :self.bins, :self.frames] + LOG_OFFSET)

    @torch.no_grad()
    def fit(self, clips: torch.Tensor, batch_size: int = 256) -> None:
        """The per-bin mean and standard deviation of the clips' log magnitudes (over clips and frames)."""
        total = torch.zeros(self.bins, dtype=torch.float64)
        squares = torch.zeros(self.bins, dtype=torch.float64)
        count = 0
        for batch in clips.split(batch_size):
            values = self.log_magnitude(batch).double()
            total += values.sum(dim=(0, 2)).cpu()
            squares += values.pow(2).sum(dim=(0, 2)).cpu()
            count += values.shape[0] * values.shape[2]
        mean = total / count
        std = (squares / count - mean.pow(2)).clamp(min=1e-8).sqrt()
        self.mean.copy_(mean.float())
        self.std.copy_(std.float())
        self.fitted.fill_(True)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        values = (self.log_magnitude(clips) - self.mean[:, None]) / self.std[:, None]
        return (values.clamp(-CLIP_STDS, CLIP_STDS) / CLIP_STDS).unsqueeze(1)

    def invert(self, spectrograms: torch.Tensor) -> torch.Tensor:
        """(N, 1, bins, frames) in [-1, 1] -> clips (N, 1, T): the moments undone, then Griffin-Lim."""
        values = spectrograms.float().squeeze(1) * CLIP_STDS * self.std[:, None] + self.mean[:, None]
        magnitude = (torch.exp(values) - LOG_OFFSET).clamp(min=0)
        # The dropped Nyquist bin and the last centred frame back (silent), so the frames tile T samples.
        magnitude = nn.functional.pad(magnitude, (0, self.length // self.hop + 1 - self.frames, 0, 1))
        return griffin_lim(magnitude, self.n_fft, self.hop, self.n_fft, self.iterations, length=self.length,
                           momentum=0.0).unsqueeze(1).clamp(-1, 1)


class SpecGANGenerator(SpectrogramBased, nn.Module):
    """noise -> a normalised spectrogram (the DCGAN generator at bins x frames); `to_audio` -> clips."""

    def __init__(self, latent_dim: int, data_shape, base_width: int = 64, norm: str = "none",
                 n_fft: int = 256, hop: int = 128, griffin_lim_iterations: int = 16):
        super().__init__()
        self.representation = SpecGANSpectrogram(data_shape, n_fft, hop, griffin_lim_iterations)
        self.spectrogram_shape = (1, self.representation.bins, self.representation.frames)
        self.net = DCGANGenerator(latent_dim, self.spectrogram_shape, base_width, norm=norm)
        self.latent_dim = latent_dim

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(z)

    def to_audio(self, spectrograms: torch.Tensor) -> torch.Tensor:
        return self.representation.invert(spectrograms)


class SpecGANDiscriminator(nn.Module):
    """A normalised spectrogram -> a score: the DCGAN discriminator at bins x frames (no batch norm: WGAN-GP)."""

    def __init__(self, data_shape, base_width: int = 64, norm: str = "none", n_fft: int = 256, hop: int = 128,
                 spectral_norm: bool = False):
        super().__init__()
        bins, frames = spectrogram_shape(data_shape, n_fft, hop)
        self.net = DCGANDiscriminator((1, bins, frames), base_width, norm=norm, spectral_norm=spectral_norm)

    def forward(self, spectrograms: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(spectrograms)
