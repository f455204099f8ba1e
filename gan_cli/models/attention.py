"""Self-attention (SAGAN, Zhang et al. 2019) and DCGAN-style SAGAN networks.

Both G and D are spectrally normalized (the paper's main change beside attention), G keeps batch
norm (class-conditional when num_classes is set), D has none and ends in an unbounded logit for the
hinge loss, plus the projection term when conditional. One attention block sits after the layer
whose output has `attention_resolution` pixels per side. The ResNet networks of resnet.py take the
same attention block through their own `attention_resolution` argument.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError
from gan_cli.models.conditional import (
    Projection,
    batch_norm_2d,
    check_num_classes,
    require_labels,
)
from gan_cli.models.dcgan import _width, init_dcgan_weights
from gan_cli.models.layers import require_image_shape, spectral


class SelfAttention(nn.Module):
    """x + gamma * o: every position attends to all positions (keys and values max-pooled by 2).

    Query and key maps have channels/8 features, values channels/2, as in SAGAN; gamma starts at 0,
    so the block starts as the identity and the network learns how much attention to use. The
    attention is written out (not F.scaled_dot_product_attention) because its fused kernels have no
    double backward, which the R1 and gradient penalties need through D.
    """

    def __init__(
        self,
        channels: int,               # feature maps in and out
        spectral_norm: bool = True,  # spectral normalization on the four 1x1 convolutions
        pool: bool = True,           # max-pool keys and values by 2 (4x less memory, as in SAGAN's code)
    ):
        super().__init__()
        inner, value = max(channels // 8, 1), max(channels // 2, 1)
        self.channels = channels
        self.pool = pool
        self.query = spectral(nn.Conv2d(channels, inner, 1, bias=False), spectral_norm)
        self.key = spectral(nn.Conv2d(channels, inner, 1, bias=False), spectral_norm)
        self.value = spectral(nn.Conv2d(channels, value, 1, bias=False), spectral_norm)
        self.out = spectral(nn.Conv2d(value, channels, 1, bias=False), spectral_norm)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4 and x.shape[1] == self.channels, (x.shape, self.channels)
        batch, _, height, width = x.shape
        query = self.query(x).flatten(2)                       # (B, C/8, HW)
        key, value = self.key(x), self.value(x)
        if self.pool and height % 2 == 0 and width % 2 == 0:
            key, value = F.max_pool2d(key, 2), F.max_pool2d(value, 2)
        key, value = key.flatten(2), value.flatten(2)          # (B, C/8, N), (B, C/2, N)
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # (B, HW, N), rows sum to 1
        attended = (value @ attention.transpose(1, 2)).view(batch, -1, height, width)
        return x + self.gamma * self.out(attended)


def check_attention_resolution(value, valid: list[int], network: str) -> int:
    """The feature-map size that gets the attention block: one of the network's map sizes."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in valid:
        raise UserError(
            f"{network} got attention_resolution={value!r}, but its feature maps have "
            f"{', '.join(str(v) for v in valid)} pixels per side for this data; set attention_resolution "
            f"to one of those (SAGAN puts attention on the largest hidden map, half the image size)."
        )
    return value


class _UpBlock(nn.Module):
    """Transposed conv, batch norm (conditional when the net is), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, first: bool, num_classes, spectral_norm: bool):
        super().__init__()
        stride, padding = (1, 0) if first else (2, 1)
        conv = nn.ConvTranspose2d(in_channels, out_channels, 4, stride, padding, bias=False)
        self.conv = spectral(conv, spectral_norm)
        self.norm = batch_norm_2d(out_channels, num_classes)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return F.relu(self.norm(self.conv(x), labels))


class SAGANGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int,                          # size of z
        data_shape,                               # (channels, resolution, resolution) of the images
        base_width: int = 64,                     # feature maps of the last hidden block
        num_classes: int | None = None,           # classes for conditional batch norm; None: unconditional
        attention_resolution: int | None = None,  # map size with attention; None: resolution / 2
        spectral_norm: bool = True,               # spectral normalization on every layer of G (SAGAN)
        max_width: int = 1024,                    # cap on feature maps at low resolution
    ):
        super().__init__()
        channels, resolution = require_image_shape(data_shape, "The SAGAN generator")
        self.latent_dim = latent_dim
        self.data_shape = (channels, resolution, resolution)
        self.num_classes = check_num_classes(num_classes, "The SAGAN generator", required=False)
        width = lambda size: _width(base_width, resolution, size, max_width)  # noqa: E731
        sizes = [4]  # output size of each block: 4, 8, ..., resolution / 2
        while sizes[-1] < resolution // 2:
            sizes.append(2 * sizes[-1])
        if attention_resolution is None:
            attention_resolution = resolution // 2
        self.attention_resolution = check_attention_resolution(attention_resolution, sizes, "The SAGAN generator")
        self.blocks = nn.ModuleList(
            [_UpBlock(latent_dim, width(4), True, self.num_classes, spectral_norm)]
            + [_UpBlock(width(size // 2), width(size), False, self.num_classes, spectral_norm) for size in sizes[1:]]
        )
        self.attention_after = sizes.index(self.attention_resolution)
        self.attention = SelfAttention(width(self.attention_resolution), spectral_norm)
        self.output = spectral(nn.ConvTranspose2d(width(sizes[-1]), channels, 4, 2, 1), spectral_norm)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, z.shape
        if self.num_classes:
            labels = require_labels(labels, z.shape[0], "The conditional SAGAN generator")
        h = z[:, :, None, None]
        for index, block in enumerate(self.blocks):
            h = block(h, labels)
            if index == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.output(h))


class SAGANDiscriminator(nn.Module):
    def __init__(
        self,
        data_shape,                               # (channels, resolution, resolution) of the input images
        base_width: int = 64,                     # feature maps of the first block
        num_classes: int | None = None,           # classes of the projection term; None: unconditional
        attention_resolution: int | None = None,  # map size with attention; None: resolution / 2
        spectral_norm: bool = True,               # spectral normalization on every layer
        max_width: int = 1024,
    ):
        super().__init__()
        channels, resolution = require_image_shape(data_shape, "The SAGAN discriminator")
        self.data_shape = (channels, resolution, resolution)
        self.norm = "none"
        self.num_classes = check_num_classes(num_classes, "The SAGAN discriminator", required=False)
        width = lambda size: _width(base_width, resolution, size, max_width)  # noqa: E731
        sizes = [resolution // 2]  # output size of each block: resolution / 2, ..., 4
        while sizes[-1] > 4:
            sizes.append(sizes[-1] // 2)
        if attention_resolution is None:
            attention_resolution = resolution // 2
        self.attention_resolution = check_attention_resolution(attention_resolution, sizes, "The SAGAN discriminator")
        in_widths = [channels] + [width(size) for size in sizes[:-1]]
        # LeakyReLU(0.1) as in the SNGAN/SAGAN discriminators.
        self.blocks = nn.ModuleList(
            nn.Sequential(spectral(nn.Conv2d(in_width, width(size), 4, 2, 1), spectral_norm),
                          nn.LeakyReLU(0.1, inplace=True))
            for in_width, size in zip(in_widths, sizes)
        )
        self.attention_after = sizes.index(self.attention_resolution)
        self.attention = SelfAttention(width(self.attention_resolution), spectral_norm)
        self.output = spectral(nn.Conv2d(width(4), 1, 4, 1, 0), spectral_norm)
        self.projection = Projection(width(4), self.num_classes, spectral_norm) if self.num_classes else None
        init_dcgan_weights(self)  # convs only: the projection's embedding keeps its own init

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert images.shape[1:] == self.data_shape, (images.shape, self.data_shape)
        h = images
        for index, block in enumerate(self.blocks):
            h = block(h)
            if index == self.attention_after:
                h = self.attention(h)
        logits = self.output(h).flatten()
        if self.projection is not None:
            labels = require_labels(labels, images.shape[0], "The conditional SAGAN discriminator")
            logits = logits + self.projection(h.sum(dim=(2, 3)), labels)
        return logits
