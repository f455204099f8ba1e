"""The pix2pix PatchGAN discriminator (Isola et al. 2017, section 3.2.2 and appendix 6.1.2): one logit per
image patch, so D judges local texture and leaves the low frequencies to the L1 term.

receptive_field picks the patch size, as in the paper's comparison (section 4.4):
- 1: PixelGAN, 1x1 convolutions 64-128-1, one logit per pixel;
- 16, 34, 70, 142, 286: n = 1..5 stride-2 4x4 convolutions, then two stride-1 4x4 convolutions (the
  reference code's NLayerDiscriminator with n_layers = n); 70 (n = 3, C64-C128-C256-C512) is the
  paper's default;
- "full": ImageGAN, stride-2 4x4 convolutions down to 4x4 and a 4x4 convolution to one logit per image.
The width doubles per layer from base_width up to max_width; LeakyReLU 0.2 throughout; no
normalization on the first layer. For pix2pix, D sees the input image (condition_channels channels)
stacked before the real or generated output. With the defaults and a 3-channel condition, the 70x70
D has the reference's 2,768,705 parameters.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.models.dcgan import init_dcgan_weights
from gan_cli.models.layers import spectral
from gan_cli.models.unet import conv_bias, require_square_image, translation_norm

NORM_KEY = "model.discriminator.norm"


def patch_receptive_field(strided_layers: int) -> int:
    """Receptive field of one logit of a PatchGAN with this many stride-2 4x4 convolutions followed
    by two stride-1 4x4 convolutions: 16, 34, 70, 142, 286 for 1..5."""
    field = 1
    strides = [2] * strided_layers + [1, 1]
    for stride in reversed(strides):  # walk back from one logit to the input
        field = (field - 1) * stride + 4
    return field


def patch_output_size(size: int, strided_layers: int) -> int:
    """Logits per side for an image of this size (padding 1 everywhere, as the reference code)."""
    for _ in range(strided_layers):
        size = (size + 2 - 4) // 2 + 1
    return size - 2  # each stride-1 4x4 convolution with padding 1 loses one


STRIDED_LAYERS = {patch_receptive_field(n): n for n in range(1, 6)}  # receptive field -> n
RECEPTIVE_FIELDS = (1, *STRIDED_LAYERS, "full")


def _check_receptive_field(receptive_field) -> int | str:
    valid = isinstance(receptive_field, int) and not isinstance(receptive_field, bool)
    if receptive_field == "full" or (valid and receptive_field in RECEPTIVE_FIELDS):
        return receptive_field
    raise UserError(
        f"model.discriminator.receptive_field={receptive_field!r} is not a patch size the PatchGAN can "
        f"have: use 1 (PixelGAN), one of {', '.join(map(str, STRIDED_LAYERS))} (patches of that many pixels "
        f"per side; 70 is the pix2pix default), or full (ImageGAN: one logit per image)."
    )


def _check_image_fits(receptive_field: int, resolution: int) -> None:
    """Raise if a patch D of this receptive field would output no logit for these images."""
    if receptive_field == 1 or patch_output_size(resolution, STRIDED_LAYERS[receptive_field]) >= 1:
        return
    fitting = [field for field, n in STRIDED_LAYERS.items() if patch_output_size(resolution, n) >= 1]
    raise UserError(
        f"model.discriminator.receptive_field={receptive_field} is too large for {resolution}x{resolution} "
        f"images: its strided convolutions leave no patch to judge. Use a smaller one ("
        f"{', '.join(map(str, [1, *fitting]))}) or full, or larger images."
    )


def _conv(in_channels: int, out_channels: int, kernel: int, stride: int, padding: int, bias: bool,
          spectral_norm: bool) -> nn.Module:
    return spectral(nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=bias), spectral_norm)


def _block(in_channels: int, out_channels: int, kernel: int, stride: int, padding: int, norm: str,
           spectral_norm: bool) -> list[nn.Module]:
    """conv-norm-LeakyReLU, the hidden layer of every PatchGAN."""
    return [
        _conv(in_channels, out_channels, kernel, stride, padding, conv_bias(norm), spectral_norm),
        translation_norm(norm, out_channels, NORM_KEY),
        nn.LeakyReLU(0.2, inplace=True),
    ]


def pixel_layers(in_channels: int, base_width: int, norm: str, spectral_norm: bool) -> list[nn.Module]:
    """PixelGAN: 1x1 convolutions 64-128-1 (for base_width 64)."""
    return [
        _conv(in_channels, base_width, 1, 1, 0, True, spectral_norm),
        nn.LeakyReLU(0.2, inplace=True),
        *_block(base_width, 2 * base_width, 1, 1, 0, norm, spectral_norm),
        _conv(2 * base_width, 1, 1, 1, 0, True, spectral_norm),
    ]


def patch_layers(in_channels: int, strided_layers: int, widths: list[int], norm: str,
                 spectral_norm: bool) -> list[nn.Module]:
    """n stride-2 4x4 convolutions, a stride-1 4x4 convolution and a stride-1 4x4 one to the logits;
    widths[k] is the width of layer k."""
    layers = [_conv(in_channels, widths[0], 4, 2, 1, True, spectral_norm), nn.LeakyReLU(0.2, inplace=True)]
    for index in range(1, strided_layers):
        layers += _block(widths[index - 1], widths[index], 4, 2, 1, norm, spectral_norm)
    layers += _block(widths[strided_layers - 1], widths[strided_layers], 4, 1, 1, norm, spectral_norm)
    layers.append(_conv(widths[strided_layers], 1, 4, 1, 1, True, spectral_norm))
    return layers


def image_layers(in_channels: int, resolution: int, widths: list[int], norm: str,
                 spectral_norm: bool) -> list[nn.Module]:
    """ImageGAN: stride-2 4x4 convolutions down to 4x4, then a 4x4 convolution to one logit."""
    layers = [_conv(in_channels, widths[0], 4, 2, 1, True, spectral_norm), nn.LeakyReLU(0.2, inplace=True)]
    index, size = 0, resolution // 2
    while size > 4:
        layers += _block(widths[index], widths[index + 1], 4, 2, 1, norm, spectral_norm)
        index, size = index + 1, size // 2
    layers.append(_conv(widths[index], 1, 4, 1, 0, True, spectral_norm))
    return layers


class PatchDiscriminator(nn.Module):
    def __init__(
        self,
        data_shape,                  # (channels, size, size) of the images D judges; size a power of two >= 8
        condition_channels: int = 0,  # channels of the condition (pix2pix: the input image); 0: unconditional
        receptive_field=70,          # 1, 16, 34, 70, 142, 286 or "full": the patch each logit judges
        base_width: int = 64,        # feature maps of the first layer (ndf)
        max_width: int = 512,        # cap on feature maps
        norm: str = "batch",         # batch | instance | none on the hidden layers (never the first)
        spectral_norm: bool = False,  # spectral normalization on every convolution
    ):
        super().__init__()
        channels, resolution = require_square_image(data_shape, "The PatchGAN discriminator", 8,
                                                    "model.discriminator.data_shape")
        translation_norm(norm, 1, NORM_KEY)  # reject a bad name before building anything
        self.data_shape = (channels, resolution, resolution)
        self.condition_channels = int(condition_channels)
        self.receptive_field = _check_receptive_field(receptive_field)
        self.norm = norm
        in_channels = self.condition_channels + channels
        widths = [min(base_width * 2**index, max_width) for index in range(resolution.bit_length())]
        if self.receptive_field == "full":
            layers = image_layers(in_channels, resolution, widths, norm, spectral_norm)
        elif self.receptive_field == 1:
            layers = pixel_layers(in_channels, base_width, norm, spectral_norm)
        else:
            _check_image_fits(self.receptive_field, resolution)
            layers = patch_layers(in_channels, STRIDED_LAYERS[self.receptive_field], widths, norm, spectral_norm)
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def _with_condition(self, images: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
        """The condition stacked before the images on the channel axis (pix2pix's D input)."""
        if self.condition_channels == 0:
            if condition is not None:
                raise ValueError("This PatchDiscriminator has condition_channels=0 and takes no condition; "
                                 "build it with condition_channels set to judge (condition, image) pairs.")
            return images
        if condition is None:
            raise ValueError(f"This PatchDiscriminator judges (condition, image) pairs: call it as "
                             f"D(images, condition) with a condition of {self.condition_channels} channels.")
        expected = (images.shape[0], self.condition_channels, *images.shape[2:])
        if tuple(condition.shape) != expected:
            raise ValueError(f"The condition must have shape {list(expected)} (the images' batch and size, "
                             f"condition_channels={self.condition_channels}), but it has {list(condition.shape)}.")
        return torch.cat([condition, images], dim=1)

    def forward(self, images: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, H, W) images (and (B, condition_channels, H, W) condition) -> (B, 1, h, w) logits, one
        per patch; (B, 1, 1, 1) for receptive_field="full"."""
        assert images.ndim == 4 and images.shape[1] == self.data_shape[0], (images.shape, self.data_shape)
        if self.receptive_field == "full":
            assert images.shape[1:] == self.data_shape, (images.shape, self.data_shape)
        return self.net(self._with_condition(images, condition))
