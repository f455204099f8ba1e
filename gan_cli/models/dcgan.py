"""DCGAN networks (Radford et al. 2016) that follow the data's resolution and channels.

Strided (transposed) convolutions and no pooling; G upsamples a 4x4 map by 2 per block and ends in
tanh, D halves the resolution per block down to 4x4 and ends in one logit (no sigmoid: the losses
work on logits). The width doubles each time the resolution halves, as in the paper's 64x64 nets
(G: 512-256-128-64, D: 64-128-256-512 for base_width=64).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from gan_cli.models.layers import (
    check_packing,
    norm_2d,
    pack,
    require_image_shape,
    spectral,
)


def _width(base_width: int, resolution: int, size: int, max_width: int) -> int:
    """Feature maps at a given spatial size: base_width at size resolution/2, doubling as size halves."""
    return min(base_width * resolution // (2 * size), max_width)


class DCGANGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int,          # size of z
        data_shape,               # (channels, resolution, resolution) of the images to make
        base_width: int = 64,     # feature maps of the last hidden block
        norm: str = "batch",      # normalization after every layer but the output
        max_width: int = 1024,    # cap on feature maps at low resolution
    ):
        super().__init__()
        channels, resolution = require_image_shape(data_shape, "The DCGAN generator")
        self.latent_dim = latent_dim
        self.data_shape = (channels, resolution, resolution)
        width = lambda size: _width(base_width, resolution, size, max_width)  # noqa: E731
        layers = [
            nn.ConvTranspose2d(latent_dim, width(4), 4, 1, 0, bias=norm == "none"),
            norm_2d(norm, width(4)),
            nn.ReLU(inplace=True),
        ]
        size = 4
        while size < resolution // 2:
            layers += [
                nn.ConvTranspose2d(width(size), width(2 * size), 4, 2, 1, bias=norm == "none"),
                norm_2d(norm, width(2 * size)),
                nn.ReLU(inplace=True),
            ]
            size *= 2
        layers += [nn.ConvTranspose2d(width(size), channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, z.shape
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    def __init__(
        self,
        data_shape,                   # (channels, resolution, resolution) of the input images
        base_width: int = 64,         # feature maps of the first block
        norm: str = "batch",          # normalization of the hidden blocks (never on the input block)
        spectral_norm: bool = False,  # spectral normalization on every layer (SNGAN)
        max_width: int = 1024,
        packing: int = 1,             # PacGAN: D judges this many images at once, stacked as channels
    ):
        super().__init__()
        channels, resolution = require_image_shape(data_shape, "The DCGAN discriminator")
        self.data_shape = (channels, resolution, resolution)
        self.norm = norm
        self.packing = check_packing(packing)
        body, width = dcgan_features(channels * self.packing, resolution, base_width, norm, spectral_norm, max_width)
        layers = [*body, spectral(nn.Conv2d(width, 1, 4, 1, 0), spectral_norm)]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert images.shape[1:] == self.data_shape, (images.shape, self.data_shape)
        return self.net(pack(images, self.packing)).flatten()


def dcgan_features(
    in_channels: int, resolution: int, base_width: int, norm: str, spectral_norm: bool, max_width: int
) -> tuple[nn.Sequential, int]:
    """The DCGAN discriminator without its output layer: images -> (B, width, 4, 4); returns (body, width).

    Strided 4x4 convolutions halve the size down to 4x4; no normalization on the input block."""
    width = lambda size: _width(base_width, resolution, size, max_width)  # noqa: E731
    size = resolution // 2
    layers = [spectral(nn.Conv2d(in_channels, width(size), 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2, inplace=True)]
    while size > 4:
        layers += [
            spectral(nn.Conv2d(width(size), width(size // 2), 4, 2, 1, bias=norm == "none"), spectral_norm),
            norm_2d(norm, width(size // 2)),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        size //= 2
    return nn.Sequential(*layers), width(4)


def init_dcgan_weights(module: nn.Module) -> None:
    """The DCGAN paper's init: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
