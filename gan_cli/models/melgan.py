"""MelGAN (Kumar et al. 2019): a mel spectrogram -> waveform generator of transposed convolutions
(upsampling 8, 8, 2, 2 from 16 x ngf channels, halved per stage), each followed by a residual stack of
dilations 1, 3, 9; weight norm, reflection padding, leaky ReLU 0.2, tanh out. Its D is three copies of
one D of grouped strided 1-D convs (downsampling 4 per layer), on the raw waveform and on it average-
pooled x2 and x4; the objective matches every feature map but the logits' (weighted as the paper's code).

    generator = MelGANGenerator()                       # (B, 80, frames) -> (B, 1, frames x 256)
    outputs = MelGANDiscriminator()(audio)              # per scale: (logits (B, N), feature maps)
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import weight_norm

from gan_cli.errors import UserError
from gan_cli.models.layers import judged_at_scales

LEAKY_SLOPE = 0.2


def _init(module: nn.Module) -> None:
    """N(0, 0.02) convolution weights, before weight norm takes them apart (the paper's code)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv1d, nn.ConvTranspose1d)):
            layer.weight.data.normal_(0.0, 0.02)


class ResidualUnit(nn.Module):
    """leaky ReLU, a dilated conv of kernel 3 (reflection-padded), leaky ReLU, a 1x1 conv; plus a 1x1 shortcut."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.LeakyReLU(LEAKY_SLOPE), nn.ReflectionPad1d(dilation),
            weight_norm(nn.Conv1d(channels, channels, 3, dilation=dilation)),
            nn.LeakyReLU(LEAKY_SLOPE), weight_norm(nn.Conv1d(channels, channels, 1)))
        self.shortcut = weight_norm(nn.Conv1d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.block(x)


class MelGANGenerator(nn.Module):
    def __init__(self, mel_channels: int = 80,
                 ngf: int = 32,                         # channels of the last stage (the first has 16 x ngf)
                 upsample_rates=(8, 8, 2, 2),           # their product is the mel's hop
                 residual_layers: int = 3):             # per stack: dilations 1, 3, 9, ...
        super().__init__()
        rates = [int(r) for r in upsample_rates]
        if not rates or min(rates) < 1 or ngf < 1 or residual_layers < 0:
            raise UserError(f"model.generator: upsample_rates={rates} must be positive rates, ngf={ngf} positive and "
                            f"residual_layers={residual_layers} 0 or more.")
        self.mel_channels, self.hop_length = mel_channels, math.prod(rates)
        channels = ngf * 2 ** len(rates)
        layers = [nn.ReflectionPad1d(3), weight_norm(nn.Conv1d(mel_channels, channels, 7))]
        for rate in rates:
            layers += [nn.LeakyReLU(LEAKY_SLOPE),
                       weight_norm(nn.ConvTranspose1d(channels, channels // 2, 2 * rate, rate,
                                                      padding=rate // 2 + rate % 2, output_padding=rate % 2))]
            channels //= 2
            layers += [ResidualUnit(channels, 3 ** j) for j in range(residual_layers)]
        layers += [nn.LeakyReLU(LEAKY_SLOPE), nn.ReflectionPad1d(3), weight_norm(nn.Conv1d(channels, 1, 7)), nn.Tanh()]
        self.layers = nn.Sequential(*layers)
        _init(self)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        assert mel.ndim == 3 and mel.shape[1] == self.mel_channels, mel.shape
        return self.layers(mel)


class ScaleDiscriminator(nn.Module):
    """A conv of kernel 15, then `layers` grouped convs of stride `downsampling` (kernel 10 x it + 1, channels
    x it up to max_channels, groups: a quarter of the inputs), a conv of kernel 5 and the logits' conv."""

    def __init__(self, ndf: int, layers: int, downsampling: int, max_channels: int):
        super().__init__()
        convs = [nn.Sequential(nn.ReflectionPad1d(7), weight_norm(nn.Conv1d(1, ndf, 15)))]
        channels = ndf
        for _ in range(layers):
            previous, channels = channels, min(channels * downsampling, max_channels)
            convs.append(weight_norm(nn.Conv1d(previous, channels, downsampling * 10 + 1, downsampling,
                                               padding=downsampling * 5, groups=max(1, previous // 4))))
        widest = min(channels * 2, max_channels)
        convs.append(weight_norm(nn.Conv1d(channels, widest, 5, padding=2)))
        self.convs = nn.ModuleList(convs)
        self.conv_post = weight_norm(nn.Conv1d(widest, 1, 3, padding=1))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x, features = audio, []
        for conv in self.convs:
            x = nn.functional.leaky_relu(conv(x), LEAKY_SLOPE)
            features.append(x)
        return self.conv_post(x).flatten(1), features


class MelGANDiscriminator(nn.Module):
    short_name = "msd"     # its loss's name in the logs: loss/msd

    def __init__(self, scales: int = 3, ndf: int = 16, layers: int = 4, downsampling: int = 4,
                 max_channels: int = 1024):
        super().__init__()
        self.discriminators = nn.ModuleList(ScaleDiscriminator(ndf, layers, downsampling, max_channels)
                                            for _ in range(scales))
        self.pool = nn.AvgPool1d(4, 2, padding=1, count_include_pad=False)
        # The paper's code weights each matched feature map 4 / (layers + 1), averaged over the scales.
        self.feature_weight = 4.0 / (layers + 1) / scales
        _init(self)

    def forward(self, audio: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return judged_at_scales(self.discriminators, self.pool, audio)
