"""HiFi-GAN (Kong et al. 2020): a mel spectrogram -> waveform generator of transposed convolutions, each
followed by a multi-receptive-field fusion (MRF: residual blocks of several kernels and dilations,
averaged), judged by a multi-period D (the waveform folded into 2-D by periods 2, 3, 5, 7, 11) and
MelGAN's multi-scale D (raw, x2 and x4 average-pooled; spectral norm on the first scale's D).

    generator = HiFiGANGenerator("V1")                    # (B, 80, frames) -> (B, 1, frames x 256)
    outputs = MultiPeriodDiscriminator()(audio)          # per sub-D: (logits (B, N), feature maps)

Every D returns its sub-discriminators' logits and feature maps (for feature matching; the logits'
map is the last of them, as in the paper's code) and says how its feature maps are weighted.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm, weight_norm

from gan_cli.errors import UserError
from gan_cli.models.layers import judged_at_scales

LEAKY_SLOPE = 0.1
# The paper's three generators (Table 1: 13.92 M, 0.92 M and 1.46 M parameters).
VERSIONS = {
    "V1": dict(upsample_rates=(8, 8, 2, 2), upsample_kernel_sizes=(16, 16, 4, 4), upsample_initial_channel=512,
               resblock=1, resblock_kernel_sizes=(3, 7, 11), resblock_dilation_sizes=((1, 3, 5),) * 3),
    "V2": dict(upsample_rates=(8, 8, 2, 2), upsample_kernel_sizes=(16, 16, 4, 4), upsample_initial_channel=128,
               resblock=1, resblock_kernel_sizes=(3, 7, 11), resblock_dilation_sizes=((1, 3, 5),) * 3),
    "V3": dict(upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8), upsample_initial_channel=256,
               resblock=2, resblock_kernel_sizes=(3, 5, 7), resblock_dilation_sizes=((1, 2), (2, 6), (3, 12))),
}


def same_padding(kernel: int, dilation: int = 1) -> int:
    return (kernel * dilation - dilation) // 2


def init_normal(module: nn.Module, std: float) -> None:
    """N(0, std) weights for every convolution under `module` (before weight norm takes them apart)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv1d, nn.ConvTranspose1d, nn.Conv2d)):
            layer.weight.data.normal_(0.0, std)


class MultiReceptiveBlock(nn.Module):
    """One residual block of the MRF. Type 1: per dilation, a dilated conv then a plain one (each after a
    leaky ReLU), added back; type 2: one dilated conv per dilation."""

    def __init__(self, channels: int, kernel: int, dilations, kind: int):
        super().__init__()
        self.dilated = nn.ModuleList(weight_norm(nn.Conv1d(channels, channels, kernel, dilation=d,
                                                           padding=same_padding(kernel, d))) for d in dilations)
        self.plain = nn.ModuleList(weight_norm(nn.Conv1d(channels, channels, kernel, padding=same_padding(kernel)))
                                   for _ in dilations) if kind == 1 else None
        init_normal(self, 0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for index, conv in enumerate(self.dilated):
            residual = conv(F.leaky_relu(x, LEAKY_SLOPE))
            if self.plain is not None:
                residual = self.plain[index](F.leaky_relu(residual, LEAKY_SLOPE))
            x = x + residual
        return x


class HiFiGANGenerator(nn.Module):
    def __init__(self, version: str = "V1", mel_channels: int = 80,
                 upsample_rates=None,                # per stage; their product is the mel's hop
                 upsample_kernel_sizes=None,         # transposed-conv kernels (rate + an even number)
                 upsample_initial_channel: int | None = None,  # channels after the first conv, halved per stage
                 resblock: int | None = None,        # MRF block type 1 (V1, V2) or 2 (V3)
                 resblock_kernel_sizes=None,         # one MRF block per kernel
                 resblock_dilation_sizes=None):      # the dilations of each block
        super().__init__()
        if version not in VERSIONS:
            raise UserError(f"model.generator.version={version!r} is not one of HiFi-GAN's: {', '.join(VERSIONS)} "
                            f"(the settings named after it override the version's).")
        given = dict(upsample_rates=upsample_rates, upsample_kernel_sizes=upsample_kernel_sizes,
                     upsample_initial_channel=upsample_initial_channel, resblock=resblock,
                     resblock_kernel_sizes=resblock_kernel_sizes, resblock_dilation_sizes=resblock_dilation_sizes)
        settings = {**VERSIONS[version], **{k: v for k, v in given.items() if v is not None}}
        rates, kernels = list(settings["upsample_rates"]), list(settings["upsample_kernel_sizes"])
        channels, kind = int(settings["upsample_initial_channel"]), int(settings["resblock"])
        if len(rates) != len(kernels) or any((k - r) % 2 or k < r for r, k in zip(rates, kernels)):
            raise UserError(f"model.generator: upsample_kernel_sizes={kernels} must pair with upsample_rates={rates}, "
                            f"each kernel the rate plus an even number (so each stage makes exactly rate x its input).")
        if kind not in (1, 2) or channels < 2 ** len(rates):
            raise UserError(f"model.generator: resblock={kind} must be 1 or 2, and upsample_initial_channel={channels} "
                            f"at least {2 ** len(rates)} (it is halved {len(rates)} times).")
        self.settings, self.mel_channels = settings, mel_channels
        self.hop_length = math.prod(rates)
        self.conv_pre = weight_norm(nn.Conv1d(mel_channels, channels, 7, padding=3))
        self.ups, self.mrfs = nn.ModuleList(), nn.ModuleList()
        for stage, (rate, kernel) in enumerate(zip(rates, kernels)):
            width = channels // 2 ** (stage + 1)
            self.ups.append(weight_norm(nn.ConvTranspose1d(width * 2, width, kernel, rate,
                                                           padding=(kernel - rate) // 2)))
            self.mrfs.append(nn.ModuleList(MultiReceptiveBlock(width, k, d, kind) for k, d in
                                           zip(settings["resblock_kernel_sizes"], settings["resblock_dilation_sizes"])))
        self.conv_post = weight_norm(nn.Conv1d(width, 1, 7, padding=3))
        init_normal(self.ups, 0.01)
        init_normal(self.conv_post, 0.01)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        assert mel.ndim == 3 and mel.shape[1] == self.mel_channels, mel.shape
        x = self.conv_pre(mel)
        for up, blocks in zip(self.ups, self.mrfs):
            x = up(F.leaky_relu(x, LEAKY_SLOPE))
            x = sum(block(x) for block in blocks) / len(blocks)
        return torch.tanh(self.conv_post(F.leaky_relu(x)))  # the paper's code: the default slope (0.01) here


def scaled(channels: int, width: float) -> int:
    return max(1, round(channels * width))


def _logits_and_features(convs, conv_post, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """A sub-D's pass: leaky-ReLU convs, then the logits' conv; every map (the logits' too) for matching."""
    features = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LEAKY_SLOPE)
        features.append(x)
    x = conv_post(x)
    features.append(x)
    return x.flatten(1), features


class PeriodDiscriminator(nn.Module):
    """The waveform folded into (T / p, p) and judged by 2-D convs of kernel (5, 1): each column a phase."""

    def __init__(self, period: int, width: float = 1.0):
        super().__init__()
        self.period = period
        sizes = [1, *(scaled(c, width) for c in (32, 128, 512, 1024, 1024))]
        self.convs = nn.ModuleList(
            weight_norm(nn.Conv2d(sizes[i], sizes[i + 1], (5, 1), (3 if i < 4 else 1, 1), padding=(2, 0)))
            for i in range(5))
        self.conv_post = weight_norm(nn.Conv2d(sizes[-1], 1, (3, 1), padding=(1, 0)))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        batch, channels, length = audio.shape
        if length % self.period:
            audio = F.pad(audio, (0, self.period - length % self.period), mode="reflect")
        return _logits_and_features(self.convs, self.conv_post, audio.view(batch, channels, -1, self.period))


class MultiPeriodDiscriminator(nn.Module):
    short_name = "mpd"         # its loss's name in the logs: loss/mpd
    feature_weight = 1.0       # every feature map of every sub-D counts once (the objective's weight: 2)

    def __init__(self, periods=(2, 3, 5, 7, 11),
                 width: float = 1.0):  # channels x width (1: the paper's 32 ... 1024)
        super().__init__()
        self.discriminators = nn.ModuleList(PeriodDiscriminator(int(p), width) for p in periods)

    def forward(self, audio: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        assert audio.ndim == 3 and audio.shape[1] == 1, audio.shape
        return [d(audio) for d in self.discriminators]


class ScaleDiscriminator(nn.Module):
    """MelGAN's D as HiFi-GAN sizes it: grouped strided 1-D convs of kernel 41."""

    LAYERS = ((128, 15, 1, 1), (128, 41, 2, 4), (256, 41, 2, 16), (512, 41, 4, 16), (1024, 41, 4, 16),
              (1024, 41, 1, 16), (1024, 5, 1, 1))  # (channels, kernel, stride, groups)

    def __init__(self, width: float = 1.0, spectral: bool = False):
        super().__init__()
        norm = spectral_norm if spectral else weight_norm
        layers, previous = [], 1
        for channels, kernel, stride, groups in self.LAYERS:
            channels = scaled(channels, width)
            groups = math.gcd(groups, previous, channels)
            layers.append(norm(nn.Conv1d(previous, channels, kernel, stride, groups=groups, padding=kernel // 2)))
            previous = channels
        self.convs = nn.ModuleList(layers)
        self.conv_post = norm(nn.Conv1d(previous, 1, 3, padding=1))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _logits_and_features(self.convs, self.conv_post, audio)


class MultiScaleDiscriminator(nn.Module):
    short_name = "msd"
    feature_weight = 1.0

    def __init__(self, scales: int = 3,
                 width: float = 1.0,               # channels x width (1: the paper's 128 ... 1024)
                 spectral_norm_first: bool = True):  # spectral norm on the raw waveform's D, weight norm on the rest
        super().__init__()
        self.discriminators = nn.ModuleList(ScaleDiscriminator(width, spectral=spectral_norm_first and i == 0)
                                            for i in range(scales))
        self.pool = nn.AvgPool1d(4, 2, padding=2)

    def forward(self, audio: torch.Tensor) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        return judged_at_scales(self.discriminators, self.pool, audio)
