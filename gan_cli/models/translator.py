"""The CycleGAN ResNet generator (Zhu et al. 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", appendix 7.2; after Johnson et al. 2016).

c7s1-64, d128, d256, R256 x blocks, u128, u64, c7s1-C: a reflection-padded 7x7 convolution, two
stride-2 3x3 convolutions, residual blocks of two reflection-padded 3x3 convolutions, two fractionally
strided (transposed) 3x3 convolutions and a reflection-padded 7x7 convolution with tanh. Every layer
but the last is conv-norm-ReLU (instance norm by default). The paper uses 6 blocks for 128x128
images and 9 for 256x256 and larger. With the defaults at 256x256 RGB -> RGB the generator has the
reference resnet_9blocks' 11,378,179 parameters (junyanz/pytorch-CycleGAN-and-pix2pix).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.models.dcgan import init_dcgan_weights
from gan_cli.models.unet import conv_bias, require_square_image, translation_norm

NORM_KEY = "model.generator.norm"


def _check_blocks(blocks, resolution: int) -> int:
    """blocks "auto": the paper's 6 up to 128x128, 9 above; else a whole number >= 1."""
    if blocks == "auto":
        return 6 if resolution <= 128 else 9
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
        raise UserError(
            f"model.generator.blocks={blocks!r} is not a number of residual blocks: use a whole number of at "
            f"least 1, or auto (the paper's 6 for images up to 128x128, 9 above)."
        )
    return blocks


def _conv_norm_relu(in_channels: int, out_channels: int, norm: str, **conv_options) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, bias=conv_bias(norm), **conv_options),
        translation_norm(norm, out_channels, NORM_KEY),
        nn.ReLU(inplace=True),
    ]


class ResidualBlock(nn.Module):
    """x + (pad-conv3x3-norm-ReLU(-dropout)-pad-conv3x3-norm)(x), reflection padding."""

    def __init__(self, width: int, norm: str, dropout: float):
        super().__init__()
        layers = [nn.ReflectionPad2d(1), *_conv_norm_relu(width, width, norm, kernel_size=3)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(width, width, 3, bias=conv_bias(norm)),
            translation_norm(norm, width, NORM_KEY),
        ]
        self.residual = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual(x)


def _upsampling(in_channels: int, out_channels: int, norm: str) -> list[nn.Module]:
    """A fractionally strided 3x3 convolution that doubles the size, then norm-ReLU."""
    return [
        nn.ConvTranspose2d(in_channels, out_channels, 3, 2, 1, output_padding=1, bias=conv_bias(norm)),
        translation_norm(norm, out_channels, NORM_KEY),
        nn.ReLU(inplace=True),
    ]


class ResnetGenerator(nn.Module):
    def __init__(
        self,
        data_shape,                  # (channels, size, size) of the input images; size a power of two >= 8
        output_channels: int | None = None,  # channels of the images to make; None: as many as the input
        base_width: int = 64,        # feature maps of the first layer (ngf); 4x that in the residual blocks
        blocks="auto",               # residual blocks; "auto": 6 up to 128x128, 9 above (the paper)
        norm: str = "instance",      # instance | batch | none after every convolution but the last
        dropout: float = 0.0,        # dropout inside the residual blocks (the reference's --no_dropout off)
    ):
        super().__init__()
        channels, resolution = require_square_image(data_shape, "The ResNet translation generator", 8,
                                                    "model.generator.data_shape")
        translation_norm(norm, 1, NORM_KEY)  # reject a bad name before building anything
        self.data_shape = (channels, resolution, resolution)
        self.output_channels = channels if output_channels is None else int(output_channels)
        self.blocks = _check_blocks(blocks, resolution)
        width = base_width
        layers = [nn.ReflectionPad2d(3), *_conv_norm_relu(channels, width, norm, kernel_size=7)]
        for _ in range(2):  # d128, d256
            layers += _conv_norm_relu(width, 2 * width, norm, kernel_size=3, stride=2, padding=1)
            width *= 2
        layers += [ResidualBlock(width, norm, float(dropout)) for _ in range(self.blocks)]
        for _ in range(2):  # u128, u64
            layers += _upsampling(width, width // 2, norm)
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, self.output_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images in [-1, 1], H and W multiples of 4 -> (B, output_channels, H, W) in [-1, 1]."""
        assert images.ndim == 4 and images.shape[1] == self.data_shape[0], (images.shape, self.data_shape)
        assert images.shape[2] % 4 == 0 and images.shape[3] % 4 == 0, images.shape
        return self.net(images)
