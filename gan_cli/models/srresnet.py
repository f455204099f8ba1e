"""The SRGAN networks (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network", figure 4).

SRResNet (the generator): a 9x9 convolution and PReLU; `blocks` residual blocks (3x3 conv-BN-PReLU-
conv-BN plus the identity); a 3x3 conv-BN and a long skip from the first layer; log2(scale) upsampling
steps (3x3 convolution to 4x the width, PixelShuffle(2), PReLU); a 9x9 convolution to the image. It ends
in tanh, since gan-cli's images are in [-1, 1] (the paper's output is linear). It is fully
convolutional: any low-resolution size goes in, `scale` times that size comes out. PReLUs have one
slope per channel; convolutions before batch norm have no bias; weights keep torch's default init.

The discriminator: eight 3x3 convolutions of 64, 64, 128, 128, 256, 256, 512, 512 feature maps (the
second of each pair with stride 2), LeakyReLU 0.2, batch norm from the second convolution on, then a
dense layer of 1024, LeakyReLU and a dense layer to one logit (no sigmoid: the losses work on logits).
An adaptive average pooling to 6x6 before the dense layers lets it take any crop of at least 16x16;
at the paper's 96x96 crops the features are 6x6 already and the network is the paper's. Weights are
initialized N(0, 0.02) as in pix2pix and DCGAN.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError
from gan_cli.models.dcgan import init_dcgan_weights
from gan_cli.models.layers import spectral
from gan_cli.models.unet import conv_bias, translation_norm

SCALES = (2, 4, 8)
MIN_CROP = 16  # four stride-2 convolutions leave 1x1
SR_NORMS = ("batch", "none")
POOLED_GRID = 6  # the paper's 96x96 crops give 6x6 features


def _check_scale(scale) -> int:
    if isinstance(scale, bool) or scale not in SCALES:
        raise UserError(
            f"model.generator.scale={scale!r} is not an upscaling factor SRResNet supports: use 2, 4 (the "
            f"paper's) or 8; each factor of 2 is one sub-pixel (PixelShuffle) upsampling step."
        )
    return int(scale)


def _check_blocks(blocks) -> int:
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
        raise UserError(
            f"model.generator.blocks={blocks!r} is not a number of residual blocks: use a whole number of at "
            f"least 1 (the paper uses 16)."
        )
    return blocks


def _conv3x3(in_channels: int, out_channels: int, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=bias)


def _check_norm(norm) -> str:
    if norm not in SR_NORMS:
        raise UserError(f"model.generator.norm={norm!r} is not an SRResNet normalization: use batch (the paper's) "
                        f"or none (EDSR's choice: faster, and higher PSNR on small budgets).")
    return norm


class SRResidualBlock(nn.Module):
    """x + (conv3x3-BN-PReLU-conv3x3-BN)(x); without the BNs for norm="none" (EDSR)."""

    def __init__(self, width: int, norm: str = "batch"):
        super().__init__()
        bias, key = conv_bias(norm), "model.generator.norm"
        self.residual = nn.Sequential(
            _conv3x3(width, width, bias), translation_norm(norm, width, key), nn.PReLU(width),
            _conv3x3(width, width, bias), translation_norm(norm, width, key),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual(x)


def _upsampling_step(width: int) -> nn.Sequential:
    """Sub-pixel convolution (Shi et al. 2016): 4x the width, rearranged into 2x the size."""
    return nn.Sequential(_conv3x3(width, 4 * width, bias=True), nn.PixelShuffle(2), nn.PReLU(width))


class SRResNet(nn.Module):
    def __init__(
        self,
        channels: int = 3,      # channels of the images, low- and high-resolution alike
        scale: int = 4,         # upscaling factor: 2, 4 or 8
        base_width: int = 64,   # feature maps of every layer but the upsampling convolutions
        blocks: int = 16,       # residual blocks
        bicubic_skip: bool = False,  # learn the residual over bicubic upscaling (VDSR's global skip); not in SRGAN
        norm: str = "batch",    # batch (the paper) | none (EDSR: no batch norm in the residual blocks)
    ):
        super().__init__()
        self.channels = int(channels)
        self.scale = _check_scale(scale)
        self.bicubic_skip = bool(bicubic_skip)
        self.head = nn.Sequential(nn.Conv2d(self.channels, base_width, 9, 1, 4), nn.PReLU(base_width))
        norm = _check_norm(norm)
        self.body = nn.Sequential(
            *[SRResidualBlock(base_width, norm) for _ in range(_check_blocks(blocks))],
            _conv3x3(base_width, base_width, conv_bias(norm)),
            translation_norm(norm, base_width, "model.generator.norm"),
        )
        steps = self.scale.bit_length() - 1  # log2(scale)
        self.upsampling = nn.Sequential(*[_upsampling_step(base_width) for _ in range(steps)])
        if self.bicubic_skip:
            # The residual starts at zero: an untrained network is exactly bicubic upscaling.
            last = nn.Conv2d(base_width, self.channels, 9, 1, 4)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.output = last
        else:
            self.output = nn.Sequential(nn.Conv2d(base_width, self.channels, 9, 1, 4), nn.Tanh())

    def forward(self, low_resolution: torch.Tensor) -> torch.Tensor:
        """(B, channels, h, w) in [-1, 1] -> (B, channels, scale * h, scale * w) in [-1, 1]."""
        assert low_resolution.ndim == 4 and low_resolution.shape[1] == self.channels, low_resolution.shape
        features = self.head(low_resolution)
        features = features + self.body(features)  # the long skip
        output = self.output(self.upsampling(features))
        if not self.bicubic_skip:
            return output
        upscaled = F.interpolate(low_resolution, scale_factor=self.scale, mode="bicubic", align_corners=False)
        output = upscaled + output
        return output if self.training else output.clamp(-1, 1)


def _require_crop_shape(data_shape) -> tuple[int, int, int]:
    shape = [int(v) for v in data_shape]
    if len(shape) != 3 or shape[0] < 1 or min(shape[1:]) < MIN_CROP:
        raise UserError(
            f"The SRGAN discriminator judges images of shape (channels, height, width) of at least "
            f"{MIN_CROP}x{MIN_CROP}, but model.discriminator.data_shape is {shape}; use e.g. [3, 96, 96] "
            f"(the paper's high-resolution crops)."
        )
    return shape[0], shape[1], shape[2]


def _vgg_layers(in_channels: int, base_width: int, norm: str, spectral_norm: bool) -> list[nn.Module]:
    """The eight 3x3 conv(-norm)-LeakyReLU layers; widths 1, 1, 2, 2, 4, 4, 8, 8 x base_width."""
    layers = []
    for index, multiple in enumerate((1, 1, 2, 2, 4, 4, 8, 8)):
        width, stride, first = multiple * base_width, 1 + index % 2, index == 0
        conv = nn.Conv2d(in_channels, width, 3, stride, 1, bias=first or conv_bias(norm))
        layers.append(spectral(conv, spectral_norm))
        if not first:
            layers.append(translation_norm(norm, width, "model.discriminator.norm"))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        in_channels = width
    return layers


class SRGANDiscriminator(nn.Module):
    def __init__(
        self,
        data_shape,                  # (channels, height, width) of the high-resolution crops; at least 16x16
        base_width: int = 64,        # feature maps of the first two convolutions
        norm: str = "batch",         # batch | instance | none from the second convolution on
        spectral_norm: bool = False,  # spectral normalization on every layer
    ):
        super().__init__()
        self.data_shape = _require_crop_shape(data_shape)
        self.norm = norm
        translation_norm(norm, 1, "model.discriminator.norm")  # reject a bad name before building anything
        features = 8 * base_width * POOLED_GRID**2
        self.features = nn.Sequential(*_vgg_layers(self.data_shape[0], base_width, norm, spectral_norm))
        self.pool = nn.AdaptiveAvgPool2d(POOLED_GRID)
        self.classifier = nn.Sequential(
            spectral(nn.Linear(features, 1024), spectral_norm),
            nn.LeakyReLU(0.2, inplace=True),
            spectral(nn.Linear(1024, 1), spectral_norm),
        )
        init_dcgan_weights(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, channels, H, W) crops with H, W >= 16 -> (B, 1) logits, one per image."""
        assert images.ndim == 4 and images.shape[1] == self.data_shape[0], (images.shape, self.data_shape)
        assert min(images.shape[2:]) >= MIN_CROP, images.shape
        return self.classifier(self.pool(self.features(images)).flatten(1))
