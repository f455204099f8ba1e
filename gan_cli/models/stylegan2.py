"""StyleGAN2 networks (Karras et al. 2020, config F): the style-based generator with the skip
architecture and the residual discriminator.

G = mapping (z -> W, an 8-layer MLP at 0.01 learning rate that tracks the average w) then synthesis
(a learned 4x4 constant, two modulated 3x3 convolutions per resolution with per-pixel noise, and a
toRGB at every resolution whose outputs are upsampled and summed). Synthesis takes one w per layer,
ws of shape (B, num_ws, w_dim) with num_ws = 2 * log2(R) - 2, so styles can be mixed and truncated
per layer. D = fromRGB at the full resolution, one residual block per resolution down to 4x4, then
the minibatch standard deviation, a conv and two fully connected layers; with classes, the output
is projected onto a learned class embedding (the reference's cmap). Outputs are unbounded: G's
images are not squashed by tanh (the reference's choice), D returns logits of shape (B, 1).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError
from gan_cli.models.capabilities import StyleBased, Truncating
from gan_cli.models.conditional import check_num_classes, require_labels
from gan_cli.models.stylegan2_layers import (
    EqualizedConv2d,
    EqualizedLinear,
    MinibatchStd,
    SynthesisLayer,
    ToRGB,
    check_noise_mode,
    normalize_2nd_moment,
    upsample2d,
)


def stylegan2_image_shape(data_shape, network: str) -> tuple[int, int]:
    """(C, R) from a (C, R, R) data_shape (a list, tuple or ListConfig) with R a power of two >= 8."""
    shape = tuple(int(s) for s in data_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] < 8 or shape[1] & (shape[1] - 1):
        raise UserError(
            f"{network} makes square images whose size is a power of two of at least 8, but got "
            f"model.generator.data_shape={list(shape)}; set data.resolution to 8, 16, 32, 64, ... (and use "
            f"image data: the 2-D point sets ring|grid need model=gan)."
        )
    return shape[0], shape[1]


def stylegan2_channels(resolution: int, channel_base: int, channel_max: int) -> int:
    """Feature maps at a given resolution: channel_base / resolution, at most channel_max."""
    return max(min(channel_base // resolution, channel_max), 1)


def _resolutions(resolution: int) -> list[int]:
    """4, 8, ..., resolution."""
    return [2**k for k in range(2, int(math.log2(resolution)) + 1)]


class SynthesisBlock(nn.Module):
    """One resolution of the skip generator: (up-)conv, conv, toRGB added to the upsampled image.

    The 4x4 block starts from the learned constant and has one conv. A block reads num_conv + 1
    ws; its toRGB shares its w with the next block's first conv, as in the reference.
    """

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, image_channels: int,
                 noise_seed: int):
        super().__init__()
        self.resolution = resolution
        if resolution == 4:
            self.const = nn.Parameter(torch.randn(out_channels, 4, 4))
            self.convs = nn.ModuleList([SynthesisLayer(out_channels, out_channels, w_dim, 4, noise_seed)])
        else:
            self.const = None
            self.convs = nn.ModuleList([
                SynthesisLayer(in_channels, out_channels, w_dim, resolution, noise_seed, up=True),
                SynthesisLayer(out_channels, out_channels, w_dim, resolution, noise_seed + 1),
            ])
        self.num_conv = len(self.convs)
        self.to_rgb = ToRGB(out_channels, image_channels, w_dim)

    def forward(self, x: torch.Tensor | None, image: torch.Tensor | None, ws: torch.Tensor,
                noise_mode: str) -> tuple[torch.Tensor, torch.Tensor]:
        assert ws.shape[1] == self.num_conv + 1, ws.shape
        if self.const is not None:
            x = self.const[None].expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
        for index, conv in enumerate(self.convs):
            x = conv(x, ws[:, index], noise_mode)
        rgb = self.to_rgb(x, ws[:, self.num_conv])
        image = rgb if image is None else upsample2d(image).to(rgb.dtype) + rgb
        return x, image


class StyleGAN2Generator(nn.Module, StyleBased, Truncating):
    """StyleGAN2 G (config F): mapping network z -> ws, skip synthesis network ws -> images."""

    truncation = "w_average"  # gan-sample truncates towards the tracked average w (self.w_avg)

    def __init__(
        self,
        latent_dim: int = 512,                # size of z
        data_shape=(3, 64, 64),               # (channels, resolution, resolution) of the images
        w_dim: int = 512,                     # size of w (intermediate latent and style input)
        mapping_layers: int = 8,              # fully connected layers of the mapping network
        mapping_lr_multiplier: float = 0.01,  # learning-rate multiplier of the mapping network
        channel_base: int = 16384,            # feature maps at resolution r: channel_base / r ...
        channel_max: int = 512,               # ... at most channel_max
        num_classes: int | None = None,       # classes whose embedding joins z; None: unconditional
        w_avg_beta: float = 0.995,            # decay of the running average of w
    ):
        super().__init__()
        channels, resolution = stylegan2_image_shape(data_shape, "The StyleGAN2 generator")
        self.latent_dim, self.w_dim = int(latent_dim), int(w_dim)
        self.data_shape = (channels, resolution, resolution)
        self.num_classes = check_num_classes(num_classes, "The StyleGAN2 generator", required=False)
        self.w_avg_beta = float(w_avg_beta)
        self.num_ws = 2 * int(math.log2(resolution)) - 2
        # Mapping network.
        self.label_embedding = EqualizedLinear(self.num_classes, self.w_dim) if self.num_classes else None
        in_features = self.latent_dim + (self.w_dim if self.num_classes else 0)
        self.mapping_network = nn.Sequential(*(
            EqualizedLinear(in_features if index == 0 else self.w_dim, self.w_dim, activation="lrelu",
                            lr_multiplier=mapping_lr_multiplier)
            for index in range(int(mapping_layers))
        ))
        self.register_buffer("w_avg", torch.zeros(self.w_dim))
        # Synthesis network.
        width = lambda size: stylegan2_channels(size, channel_base, channel_max)  # noqa: E731
        self.blocks = nn.ModuleList(
            SynthesisBlock(width(size // 2) if size > 4 else 0, width(size), self.w_dim, size, channels,
                           noise_seed=2 * index)
            for index, size in enumerate(_resolutions(resolution))
        )
        assert sum(block.num_conv for block in self.blocks) + 1 == self.num_ws

    def mapping(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, update_w_avg: bool = False) -> torch.Tensor:
        """z (B, latent_dim) -> ws (B, num_ws, w_dim), truncated towards w_avg for the first
        `truncation_cutoff` ws (None: all); update_w_avg moves w_avg towards this batch's mean w."""
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, (z.shape, self.latent_dim)
        x = normalize_2nd_moment(z.float())
        if self.label_embedding is not None:
            labels = require_labels(labels, z.shape[0], "The conditional StyleGAN2 generator")
            one_hot = F.one_hot(labels, self.num_classes).to(x.dtype)
            x = torch.cat([x, normalize_2nd_moment(self.label_embedding(one_hot).float())], dim=1)
        w = self.mapping_network(x).float()  # float32 even under autocast: w_avg and truncation mix with it
        if update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))
        ws = w[:, None].repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            cutoff = self.num_ws if truncation_cutoff is None else int(truncation_cutoff)
            ws[:, :cutoff] = self.w_avg.lerp(ws[:, :cutoff], truncation_psi)
        return ws

    def synthesis(self, ws: torch.Tensor, noise_mode: str = "auto") -> torch.Tensor:
        """ws (B, num_ws, w_dim) -> images (B, C, R, R). noise_mode: random, const, none, or auto
        (random in training mode, const in eval mode)."""
        assert ws.ndim == 3 and ws.shape[1:] == (self.num_ws, self.w_dim), (ws.shape, self.num_ws, self.w_dim)
        noise_mode = check_noise_mode(noise_mode)
        if noise_mode == "auto":
            noise_mode = "random" if self.training else "const"
        x = image = None
        first = 0
        for block in self.blocks:
            x, image = block(x, image, ws[:, first:first + block.num_conv + 1], noise_mode)
            first += block.num_conv
        assert image.shape[1:] == self.data_shape, (image.shape, self.data_shape)
        return image

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None, truncation_psi: float = 1.0,
                noise_mode: str = "auto") -> torch.Tensor:
        ws = self.mapping(z, labels, truncation_psi=truncation_psi, update_w_avg=self.training)
        return self.synthesis(ws, noise_mode=noise_mode)


class DiscriminatorBlock(nn.Module):
    """Residual block: conv3x3 -> conv3x3 (down x2) plus a 1x1 down skip, summed and scaled by 1/sqrt(2)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(in_channels, in_channels, 3, activation="lrelu")
        self.conv1 = EqualizedConv2d(in_channels, out_channels, 3, activation="lrelu", down=True)
        self.skip = EqualizedConv2d(in_channels, out_channels, 1, bias=False, down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(x, gain=math.sqrt(0.5))
        return skip + self.conv1(self.conv0(x), gain=math.sqrt(0.5))


class StyleGAN2Discriminator(nn.Module):
    """StyleGAN2 D (config F): residual blocks, minibatch std epilogue, projection when conditional."""

    def __init__(
        self,
        data_shape=(3, 64, 64),          # (channels, resolution, resolution) of the input images
        channel_base: int = 16384,       # feature maps at resolution r: channel_base / r ...
        channel_max: int = 512,          # ... at most channel_max
        num_classes: int | None = None,  # classes of the projection term; None: unconditional
        mbstd_group_size: int = 4,       # samples per minibatch-std group (fewer when the batch needs it)
        mbstd_channels: int = 1,         # feature groups of the minibatch std (appended feature maps)
    ):
        super().__init__()
        channels, resolution = stylegan2_image_shape(data_shape, "The StyleGAN2 discriminator")
        self.data_shape = (channels, resolution, resolution)
        self.num_classes = check_num_classes(num_classes, "The StyleGAN2 discriminator", required=False)
        width = lambda size: stylegan2_channels(size, channel_base, channel_max)  # noqa: E731
        if width(4) % int(mbstd_channels):
            raise UserError(
                f"model.discriminator.mbstd_channels={mbstd_channels} must divide the {width(4)} feature maps of "
                f"D's 4x4 layer (channel_base / 4, at most channel_max); 1 is the StyleGAN2 default."
            )
        self.from_rgb = EqualizedConv2d(channels, width(resolution), 1, activation="lrelu")
        self.blocks = nn.Sequential(*(
            DiscriminatorBlock(width(size), width(size // 2)) for size in reversed(_resolutions(resolution)[1:])
        ))
        self.mbstd = MinibatchStd(int(mbstd_group_size), int(mbstd_channels))
        self.conv = EqualizedConv2d(width(4) + int(mbstd_channels), width(4), 3, activation="lrelu")
        self.fc = EqualizedLinear(width(4) * 16, width(4), activation="lrelu")
        self.cmap_dim = width(4) if self.num_classes else 0
        self.out = EqualizedLinear(width(4), self.cmap_dim or 1)
        self.label_embedding = EqualizedLinear(self.num_classes, self.cmap_dim) if self.num_classes else None

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert images.shape[1:] == self.data_shape, (images.shape, self.data_shape)
        x = self.blocks(self.from_rgb(images))
        assert x.shape[2:] == (4, 4), x.shape
        x = self.conv(self.mbstd(x))
        x = self.out(self.fc(x.flatten(1)))
        if self.label_embedding is not None:
            labels = require_labels(labels, images.shape[0], "The conditional StyleGAN2 discriminator")
            one_hot = F.one_hot(labels, self.num_classes).to(x.dtype)
            cmap = normalize_2nd_moment(self.label_embedding(one_hot))
            x = (x * cmap.to(x.dtype)).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x
