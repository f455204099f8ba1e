"""WaveGAN (Donahue, McAuley & Puckette 2019): raw waveforms from noise with 1-D convolutions.

    G: z (latent_dim) -> dense -> (16 d, 16) -> five transposed convolutions (kernel 25, stride 4):
       16 -> 64 -> 256 -> 1,024 -> 4,096 -> 16,384 samples; ReLU between, tanh at the end
    D: five strided 1-D convolutions (kernel 25, stride 4, leaky ReLU 0.2), each but the last followed
       by phase shuffle (a random shift of up to +-n samples, reflected at the edges), then a linear score

`model_size` is the paper's d (64); the CPU presets use a smaller one. The clip length (data.shape[-1])
is 16,384, 32,768 or 65,536 samples: for the longer clips the last upsampling layer strides 8 or 16 (and
D's first layer alike; kernel 25 + the extra stride). A conditional variant (data.num_classes) scales z
by a class embedding in G and adds a projection term to D's score.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError
from gan_cli.models.conditional import check_num_classes, require_labels
from gan_cli.models.layers import spectral

KERNEL = 25
BASE_LENGTH = 16
LAYERS = 5


def strides_for(length: int) -> list[int]:
    """The five strides that take 16 samples to `length`: 4 each for 16,384, the last ones 8 or 16 for longer clips."""
    if not isinstance(length, int) or length < BASE_LENGTH * 4 ** LAYERS or length % (BASE_LENGTH * 4 ** LAYERS):
        raise UserError(f"data.length={length!r} is not a WaveGAN clip length: use 16384 (1.024 s at 16 kHz, the "
                        f"paper's), 32768 or 65536.")
    extra = length // (BASE_LENGTH * 4 ** LAYERS)
    if extra & (extra - 1) or extra > 4:
        raise UserError(f"data.length={length} is not a WaveGAN clip length: use 16384, 32768 or 65536.")
    strides = [4] * LAYERS
    strides[-1] *= extra  # 32,768: the last layer strides 8; 65,536: 16
    return strides


def _check(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UserError(f"{name}={value!r} must be a whole number of at least {low}.")
    return value


class WaveGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, data_shape=(1, 16384), model_size: int = 64,
                 num_classes: int | None = None):
        super().__init__()
        self.latent_dim = _check(latent_dim, "model.latent_dim")
        d = _check(model_size, "model.generator.model_size")
        channels, length = int(data_shape[0]), int(data_shape[-1])
        self.strides = strides_for(length)
        self.num_classes = check_num_classes(num_classes, "The WaveGAN generator", required=False)
        self.embed = nn.Embedding(self.num_classes, latent_dim) if self.num_classes else None
        self.width = 16 * d
        self.dense = nn.Linear(latent_dim, BASE_LENGTH * self.width)
        widths = [16 * d, 8 * d, 4 * d, 2 * d, d, channels]
        self.layers = nn.ModuleList(
            nn.ConvTranspose1d(widths[i], widths[i + 1], KERNEL + (stride - 4), stride=stride,
                               padding=(KERNEL + (stride - 4) - stride + 1) // 2, output_padding=1)
            for i, stride in enumerate(self.strides))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            z = z * self.embed(require_labels(labels, len(z), "The WaveGAN generator"))  # the conditional machinery's labels
        x = F.relu(self.dense(z).view(len(z), self.width, BASE_LENGTH))
        for index, layer in enumerate(self.layers):
            x = layer(x)
            x = torch.tanh(x) if index == len(self.layers) - 1 else F.relu(x)
        return x


def phase_shuffle(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Each sample shifted by its own random k in [-radius, radius], reflected at the edges (the paper's
    phase shuffle: D cannot tell real from fake by the phase of periodic artefacts)."""
    if radius <= 0:
        return x
    shifts = torch.randint(-radius, radius + 1, (x.shape[0],), device=x.device)
    padded = F.pad(x, (radius, radius), mode="reflect")
    index = torch.arange(x.shape[-1], device=x.device)[None, :] + (radius - shifts)[:, None]
    return padded.gather(2, index[:, None, :].expand(-1, x.shape[1], -1))


class WaveGANDiscriminator(nn.Module):
    def __init__(self, data_shape=(1, 16384), model_size: int = 64, phase_shuffle: int = 2,
                 num_classes: int | None = None, spectral_norm: bool = False):
        super().__init__()
        d = _check(model_size, "model.discriminator.model_size")
        self.shuffle = _check(phase_shuffle, "model.discriminator.phase_shuffle", low=0)
        channels, length = int(data_shape[0]), int(data_shape[-1])
        strides = list(reversed(strides_for(length)))
        widths = [channels, d, 2 * d, 4 * d, 8 * d, 16 * d]
        self.layers = nn.ModuleList(
            spectral(nn.Conv1d(widths[i], widths[i + 1], KERNEL + (stride - 4), stride=stride,
                               padding=(KERNEL + (stride - 4) - stride + 1) // 2), spectral_norm)
            for i, stride in enumerate(strides))
        self.num_classes = check_num_classes(num_classes, "The WaveGAN discriminator", required=False)
        features = 16 * d * BASE_LENGTH
        self.score = spectral(nn.Linear(features, 1), spectral_norm)
        self.embed = (spectral(nn.Embedding(self.num_classes, features), spectral_norm)
                      if self.num_classes else None)  # projection

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        for index, layer in enumerate(self.layers):
            x = F.leaky_relu(layer(x), 0.2)
            if index < len(self.layers) - 1:
                x = phase_shuffle(x, self.shuffle)
        features = x.flatten(1)
        score = self.score(features).squeeze(1)
        if self.embed is not None:
            score = score + (self.embed(require_labels(labels, len(x), "The WaveGAN discriminator")) * features).sum(dim=1)
        return score
