"""The pix2pix U-Net generator (Isola et al. 2017, "Image-to-Image Translation with Conditional
Adversarial Networks", appendix 6.1.1), and the checks the image-to-image networks share.

Encoder C64-C128-C256-C512-C512-...: 4x4 convolutions with stride 2, each halving the image, down to
1x1 for the paper's 256x256 net (8 downsamplings); LeakyReLU 0.2, no normalization on the first layer
nor on the 1x1 bottleneck (batch norm over one value per channel would zero it). The decoder mirrors
it with 4x4 transposed convolutions and ReLU; every decoder layer but the innermost reads the encoder
features of its size concatenated to the layer below (the skip connections). Dropout on the three
innermost decoder layers is the paper's noise (kept at test time there; here it follows the module's
train/eval mode). The output layer ends in tanh: images in [-1, 1].

The layer order matches the reference code (junyanz/pytorch-CycleGAN-and-pix2pix `unet_256`), so the
256x256 RGB net with base_width=64 and batch norm has its 54,413,955 parameters.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.models.dcgan import init_dcgan_weights

TRANSLATION_NORMS = ("batch", "instance", "none")
NOISY_DECODER_LAYERS = 3  # the paper's CD512-CD1024-CD1024 at the innermost side


def translation_norm(kind: str, channels: int, key: str) -> nn.Module:
    """Normalization as pix2pix and CycleGAN use it: instance norm has no affine parameters and no
    running statistics (it normalizes each image by itself, in training and evaluation alike)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "none":
        return nn.Identity()
    raise UserError(
        f"{key}={kind!r} is not a normalization the image-to-image networks know; use one of "
        f"{', '.join(TRANSLATION_NORMS)} (pix2pix uses batch, CycleGAN instance)."
    )


def conv_bias(norm: str) -> bool:
    """A bias before batch norm is cancelled by its mean; the reference code keeps it otherwise."""
    return norm != "batch"


def require_square_image(data_shape, network: str, minimum: int, key: str) -> tuple[int, int]:
    """Check that data_shape is (C, R, R) with R a power of two >= minimum; return (C, R)."""
    shape = [int(v) for v in data_shape]
    if len(shape) != 3:
        raise UserError(
            f"{network} is a convolutional network for images of shape (channels, size, size), but {key} is "
            f"{shape}. Give it as [channels, size, size], e.g. [3, 256, 256]."
        )
    channels, height, width = shape
    if channels < 1 or height != width or height < minimum or height & (height - 1):
        raise UserError(
            f"{network} needs square images whose size is a power of two of at least {minimum}, with at "
            f"least one channel, but {key} is {shape}; use e.g. [3, {max(minimum, 256)}, {max(minimum, 256)}]."
        )
    return channels, height


def _check_depth(depth, resolution: int) -> int:
    """depth None: down to 1x1 (log2 of the resolution); else a whole number in 1..log2(resolution)."""
    deepest = int(math.log2(resolution))
    if depth is None:
        return deepest
    if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= deepest:
        raise UserError(
            f"model.generator.depth={depth!r} is not a number of downsamplings the U-Net can make on "
            f"{resolution}x{resolution} images: use a whole number from 1 to {deepest} (each halves the "
            f"image; {deepest} reaches 1x1, as the paper's unet_256 does with 8), or null for {deepest}."
        )
    return depth


def _encoder_layer(index: int, depth: int, in_channels: int, out_channels: int, norm: str) -> nn.Sequential:
    """LeakyReLU-conv4x4/2-norm; the first layer reads the image itself and has no norm nor activation
    before it, the innermost (bottleneck) has no norm."""
    outermost, innermost = index == 0, index == depth - 1
    normalized = not (outermost or innermost)
    layers = [] if outermost else [nn.LeakyReLU(0.2)]
    # As in the reference code, even the unnormalized encoder layers have a bias only when norm isn't batch.
    layers.append(nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=conv_bias(norm)))
    if normalized:
        layers.append(translation_norm(norm, out_channels, "model.generator.norm"))
    return nn.Sequential(*layers)


def _decoder_layer(
    in_channels: int, out_channels: int, norm: str, dropout: float, outermost: bool
) -> nn.Sequential:
    """ReLU-convT4x4/2-norm(-dropout); the outermost layer makes the image: ReLU-convT4x4/2-tanh."""
    if outermost:
        return nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1), nn.Tanh())
    layers = [
        nn.ReLU(),
        nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=conv_bias(norm)),
        translation_norm(norm, out_channels, "model.generator.norm"),
    ]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class UNetGenerator(nn.Module):
    def __init__(
        self,
        input_shape,              # (channels, size, size) of the input images; size a power of two >= 8
        output_channels: int,     # channels of the images to make
        base_width: int = 64,     # feature maps of the outermost encoder layer (ngf)
        max_width: int = 512,     # cap on feature maps (the width doubles per layer up to it)
        depth: int | None = None,  # number of downsamplings; None: down to 1x1
        norm: str = "batch",      # batch | instance | none, on every layer but the outer ones and the bottleneck
        dropout: float = 0.5,     # dropout of the three innermost decoder layers (the paper's noise); 0: none
    ):
        super().__init__()
        channels, resolution = require_square_image(input_shape, "The U-Net generator", 8,
                                                    "model.generator.input_shape")
        translation_norm(norm, 1, "model.generator.norm")  # reject a bad name before building anything
        self.input_shape = (channels, resolution, resolution)
        self.output_channels = int(output_channels)
        self.depth = _check_depth(depth, resolution)
        widths = [min(base_width * 2**index, max_width) for index in range(self.depth)]
        self.encoder = nn.ModuleList(
            _encoder_layer(index, self.depth, ([channels] + widths)[index], widths[index], norm)
            for index in range(self.depth))
        self.decoder = nn.ModuleList(
            self._decoder(index, widths, norm, float(dropout)) for index in range(self.depth))
        init_dcgan_weights(self)

    def _decoder(self, index: int, widths: list[int], norm: str, dropout: float) -> nn.Sequential:
        """Decoder layer `index` undoes encoder layer `index`: it reads that layer's output (and, but at
        the innermost layer, the decoder layer below it) and makes that layer's input size."""
        in_channels = widths[index] if index == self.depth - 1 else 2 * widths[index]
        out_channels = self.output_channels if index == 0 else widths[index - 1]
        noisy = index >= max(self.depth - NOISY_DECODER_LAYERS, 1)
        return _decoder_layer(in_channels, out_channels, norm, dropout if noisy else 0.0, index == 0)

    def encode(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's features, outermost (largest) first; the last is the bottleneck."""
        features = []
        h = images
        for layer in self.encoder:
            h = layer(h)
            features.append(h)
        return features

    def decode(self, features: list[torch.Tensor]) -> torch.Tensor:
        """From the encoder's features (as `encode` returns them) to the output image.

        The skips carry the features before the next encoder layer's LeakyReLU; the decoder's ReLU on the
        concatenation then sees ReLU(features), as in the reference code."""
        h = self.decoder[-1](features[-1])
        for index in range(self.depth - 2, -1, -1):
            h = self.decoder[index](torch.cat([features[index], h], dim=1))
        return h

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert images.ndim == 4 and images.shape[1] == self.input_shape[0], (images.shape, self.input_shape)
        assert images.shape[2] % 2**self.depth == 0 and images.shape[3] % 2**self.depth == 0, images.shape
        return self.decode(self.encode(images))
