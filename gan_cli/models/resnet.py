"""The SNGAN ResNet generator and discriminator (Miyato et al. 2018, the CIFAR-10 setup).

G: z -> linear -> 4x4 map -> up-blocks to the data's resolution -> BN-ReLU-conv3x3-tanh, the same
width everywhere (256 in the paper). D: an "optimized" first block and down-blocks to 8x8, then two
blocks at 8x8 (four blocks in all for 32x32 images), ReLU, global sum pooling, a linear layer; the
same width everywhere (128). With num_classes set, G uses conditional batch norm and D adds the
projection term <embed(y), h> (Miyato & Koyama 2018): the projection discriminator. An optional
self-attention block turns these into the SAGAN networks (Zhang et al. 2019).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.models.attention import SelfAttention, check_attention_resolution
from gan_cli.models.conditional import (
    Projection,
    batch_norm_2d,
    check_num_classes,
    require_labels,
)
from gan_cli.models.layers import require_image_shape, spectral


def _layer(layer: nn.Module, gain: float, spectral_norm: bool) -> nn.Module:
    """Xavier-uniform init as in the SNGAN code (gain sqrt(2) inside residual branches), then SN."""
    nn.init.xavier_uniform_(layer.weight, gain)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return spectral(layer, spectral_norm)


def _conv3x3(in_channels: int, out_channels: int, spectral_norm: bool, gain: float = math.sqrt(2)) -> nn.Module:
    return _layer(nn.Conv2d(in_channels, out_channels, 3, 1, 1), gain, spectral_norm)


def _conv1x1(in_channels: int, out_channels: int, spectral_norm: bool) -> nn.Module:
    return _layer(nn.Conv2d(in_channels, out_channels, 1, 1, 0), 1.0, spectral_norm)


def _upsample(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


class GeneratorBlock(nn.Module):
    """BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, plus an upsampled 1x1-conv shortcut."""

    def __init__(self, in_channels: int, out_channels: int, num_classes: int | None, spectral_norm: bool):
        super().__init__()
        self.norm1 = batch_norm_2d(in_channels, num_classes)
        self.conv1 = _conv3x3(in_channels, out_channels, spectral_norm)
        self.norm2 = batch_norm_2d(out_channels, num_classes)
        self.conv2 = _conv3x3(out_channels, out_channels, spectral_norm)
        self.shortcut = _conv1x1(in_channels, out_channels, spectral_norm)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        h = self.conv1(_upsample(F.relu(self.norm1(x, labels))))
        h = self.conv2(F.relu(self.norm2(h, labels)))
        # A 1x1 conv commutes with nearest upsampling: convolve first, on 4x fewer pixels.
        return h + _upsample(self.shortcut(x))


class OptimizedDiscriminatorBlock(nn.Module):
    """D's first block: conv3x3-ReLU-conv3x3-avgpool (no ReLU on the input image), avgpool-1x1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int, spectral_norm: bool):
        super().__init__()
        self.conv1 = _conv3x3(in_channels, out_channels, spectral_norm)
        self.conv2 = _conv3x3(out_channels, out_channels, spectral_norm)
        self.shortcut = _conv1x1(in_channels, out_channels, spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(x))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


class DiscriminatorBlock(nn.Module):
    """ReLU-conv3x3-ReLU-conv3x3(-avgpool), with a 1x1-conv(-avgpool) shortcut when the shape changes."""

    def __init__(self, in_channels: int, out_channels: int, downsample: bool, spectral_norm: bool):
        super().__init__()
        self.downsample = downsample
        self.conv1 = _conv3x3(in_channels, out_channels, spectral_norm)
        self.conv2 = _conv3x3(out_channels, out_channels, spectral_norm)
        changes_shape = downsample or in_channels != out_channels
        self.shortcut = _conv1x1(in_channels, out_channels, spectral_norm) if changes_shape else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        shortcut = self.shortcut(x)
        if self.downsample:
            h, shortcut = F.avg_pool2d(h, 2), F.avg_pool2d(shortcut, 2)
        return h + shortcut


class ResNetGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int,                          # size of z
        data_shape,                               # (channels, resolution, resolution) of the images
        base_width: int = 256,                    # feature maps of every block (ch)
        num_classes: int | None = None,           # classes for conditional batch norm; None: unconditional
        spectral_norm: bool = False,              # spectral normalization on every layer (SAGAN; not SNGAN)
        attention_resolution: int | None = None,  # add self-attention after the block of this size; None: none
    ):
        super().__init__()
        channels, resolution = require_image_shape(data_shape, "The ResNet generator")
        self.latent_dim = latent_dim
        self.data_shape = (channels, resolution, resolution)
        self.num_classes = check_num_classes(num_classes, "The ResNet generator", required=False)
        self.base_width = base_width
        sizes = [8]  # output size of each block: 8, 16, ..., resolution
        while sizes[-1] < resolution:
            sizes.append(2 * sizes[-1])
        self.linear = _layer(nn.Linear(latent_dim, 4 * 4 * base_width), 1.0, spectral_norm)
        self.blocks = nn.ModuleList(
            GeneratorBlock(base_width, base_width, self.num_classes, spectral_norm) for _ in sizes)
        self.attention, self.attention_after = None, None
        if attention_resolution is not None:
            size = check_attention_resolution(attention_resolution, sizes, "The ResNet generator")
            self.attention, self.attention_after = SelfAttention(base_width, spectral_norm), sizes.index(size)
        self.output_norm = nn.BatchNorm2d(base_width)  # unconditional, as in the SNGAN code
        self.output = _conv3x3(base_width, channels, spectral_norm, gain=1.0)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, z.shape
        if self.num_classes:
            labels = require_labels(labels, z.shape[0], "The conditional ResNet generator")
        h = self.linear(z).view(z.shape[0], self.base_width, 4, 4)
        for index, block in enumerate(self.blocks):
            h = block(h, labels)
            if index == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.output(F.relu(self.output_norm(h))))


class ResNetDiscriminator(nn.Module):
    def __init__(
        self,
        data_shape,                               # (channels, resolution, resolution) of the input images
        base_width: int = 128,                    # feature maps of every block (ch)
        num_classes: int | None = None,           # classes of the projection term; None: unconditional
        spectral_norm: bool = True,               # spectral normalization on every layer, embedding included
        attention_resolution: int | None = None,  # add self-attention after the first block of this size
    ):
        super().__init__()
        channels, resolution = require_image_shape(data_shape, "The ResNet discriminator")
        self.data_shape = (channels, resolution, resolution)
        self.norm = "none"
        self.num_classes = check_num_classes(num_classes, "The ResNet discriminator", required=False)
        blocks, sizes = [OptimizedDiscriminatorBlock(channels, base_width, spectral_norm)], [resolution // 2]
        while sizes[-1] > 8:
            blocks.append(DiscriminatorBlock(base_width, base_width, True, spectral_norm))
            sizes.append(sizes[-1] // 2)
        for _ in range(2):
            blocks.append(DiscriminatorBlock(base_width, base_width, False, spectral_norm))
            sizes.append(8)
        self.blocks = nn.ModuleList(blocks)
        self.attention, self.attention_after = None, None
        if attention_resolution is not None:
            valid = sorted(set(sizes), reverse=True)
            size = check_attention_resolution(attention_resolution, valid, "The ResNet discriminator")
            self.attention, self.attention_after = SelfAttention(base_width, spectral_norm), sizes.index(size)
        self.linear = _layer(nn.Linear(base_width, 1), 1.0, spectral_norm)
        self.projection = Projection(base_width, self.num_classes, spectral_norm) if self.num_classes else None

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert images.shape[1:] == self.data_shape, (images.shape, self.data_shape)
        h = images
        for index, block in enumerate(self.blocks):
            h = block(h)
            if index == self.attention_after:
                h = self.attention(h)
        features = F.relu(h).sum(dim=(2, 3))  # global sum pooling
        logits = self.linear(features).flatten()
        if self.projection is not None:
            labels = require_labels(labels, images.shape[0], "The conditional ResNet discriminator")
            logits = logits + self.projection(features, labels)
        return logits
