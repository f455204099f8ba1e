"""The layers of StyleGAN2 (Karras et al. 2020): equalized learning rate, modulated convolution,
FIR resampling, noise inputs and the minibatch standard deviation.

Equalized learning rate: every weight is stored at unit scale (N(0, 1) / lr_multiplier) and scaled
at run time by lr_multiplier / sqrt(fan_in), every bias by lr_multiplier, so Adam's per-parameter
steps are the same size for all layers. Resampling uses the [1, 3, 3, 1] binomial filter through
plain (transposed) depthwise convolutions, as the reference's upfirdn2d does with its own kernel.
Weights, styles and noise are cast to the activations' dtype, so the layers also run under
torch.autocast (bf16) or on half-precision inputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError
from gan_cli.seeds import derived_seed

ACTIVATIONS = ("linear", "lrelu")
NOISE_MODES = ("random", "const", "none")
LRELU_GAIN = math.sqrt(2)  # keeps the activations' second moment through leaky ReLU 0.2, as bias_act's 'lrelu'
CONV_CLAMP = 256  # the reference clamps conv outputs to +-256 to keep fp16 finite, so the clamp
REDUCED_PRECISION = (torch.float16, torch.bfloat16)  # applies in these dtypes only (float32 needs none)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit mean square (the mapping network's input normalization)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def bias_act(x: torch.Tensor, bias: torch.Tensor | None, activation: str, gain: float = 1.0,
             clamp: float | None = None) -> torch.Tensor:
    """Bias, activation, gain (times sqrt(2) for lrelu), over dim 1 of x; then, in fp16/bf16 only, a clamp
    to +-clamp * gain (the reference's conv_clamp: it saves the float32 path four full-size passes)."""
    if bias is not None:
        x = x + bias.to(x.dtype).reshape(1, -1, *([1] * (x.ndim - 2)))
    act_gain = gain
    if activation == "lrelu":
        x = F.leaky_relu(x, 0.2)
        act_gain = gain * LRELU_GAIN
    if act_gain != 1:
        x = x * act_gain
    if clamp is not None and x.dtype in REDUCED_PRECISION:
        x = x.clamp(-clamp * gain, clamp * gain)
    return x


def _check_activation(activation: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r}; use one of {ACTIVATIONS}")
    return activation


# Resampling with the [1, 3, 3, 1] filter.


def _fir_kernel(x: torch.Tensor, gain: float) -> torch.Tensor:
    """The separable [1, 3, 3, 1] filter, normalized to sum `gain`, as a depthwise kernel (C, 1, 4, 4)."""
    taps = torch.tensor([1.0, 3.0, 3.0, 1.0], device=x.device)
    kernel = torch.outer(taps, taps)
    kernel = kernel * (gain / kernel.sum())
    return kernel.to(x.dtype).expand(x.shape[1], 1, 4, 4)


def blur(x: torch.Tensor, padding: int, gain: float = 1.0) -> torch.Tensor:
    """Low-pass filter each channel; the size changes by 2 * padding - 3."""
    return F.conv2d(x, _fir_kernel(x, gain), padding=padding, groups=x.shape[1])


def upsample2d(x: torch.Tensor) -> torch.Tensor:
    """x2 upsampling: zero insertion and the filter (gain 4 keeps the mean), as one transposed conv."""
    return F.conv_transpose2d(x, _fir_kernel(x, 4.0), stride=2, padding=1, groups=x.shape[1])


def downsample2d(x: torch.Tensor) -> torch.Tensor:
    """x2 downsampling: the filter, then every second pixel, as one strided conv."""
    return F.conv2d(x, _fir_kernel(x, 1.0), stride=2, padding=1, groups=x.shape[1])


# Equalized-learning-rate layers.


class EqualizedLinear(nn.Module):
    """A fully connected layer with equalized learning rate and an optional leaky ReLU."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str = "linear",  # "linear" or "lrelu" (leaky ReLU 0.2 times sqrt(2))
        bias_init: float = 0.0,      # initial value of the (effective) bias
        lr_multiplier: float = 1.0,  # learning-rate multiplier: 0.01 in the mapping network
    ):
        super().__init__()
        self.activation = _check_activation(activation)
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_multiplier))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = (self.weight * self.weight_gain).to(x.dtype)
        x = F.linear(x, weight)
        return bias_act(x, self.bias * self.bias_gain, self.activation)

    def extra_repr(self) -> str:
        out_features, in_features = self.weight.shape
        return f"{in_features}, {out_features}, activation={self.activation}, lr_multiplier={self.bias_gain}"


class EqualizedConv2d(nn.Module):
    """A convolution with equalized learning rate, optional x2 downsampling and leaky ReLU (D's layers)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        activation: str = "linear",  # "linear" or "lrelu"
        bias: bool = True,
        down: bool = False,          # halve the size: blur then a strided conv (1x1: downsample then conv)
        clamp: float | None = CONV_CLAMP,
    ):
        super().__init__()
        self.activation = _check_activation(activation)
        self.down = down
        self.clamp = clamp
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        weight = (self.weight * self.weight_gain).to(x.dtype)
        kernel_size = weight.shape[-1]
        if not self.down:
            x = F.conv2d(x, weight, padding=kernel_size // 2)
        elif kernel_size == 1:
            x = F.conv2d(downsample2d(x), weight)
        else:
            x = F.conv2d(blur(x, padding=(kernel_size + 1) // 2), weight, stride=2)
        return bias_act(x, self.bias, self.activation, gain=gain, clamp=self.clamp)


# The generator's layers.


def modulated_conv2d(
    x: torch.Tensor,         # (B, I, H, W) input feature maps
    weight: torch.Tensor,    # (O, I, k, k) shared weight, stored at unit scale
    styles: torch.Tensor,    # (B, I) per-sample scale of each input channel
    demodulate: bool = True,  # scale each output channel's kernel to unit L2 norm (StyleGAN2's weight demod.)
    up: bool = False,        # x2 upsampling: transposed conv of stride 2, then the blur filter
) -> torch.Tensor:
    """A per-sample modulated (and demodulated) convolution, run as one grouped conv over the batch."""
    batch, in_channels, height, width = x.shape
    out_channels, _, kernel_size, _ = weight.shape
    assert styles.shape == (batch, in_channels), (styles.shape, x.shape)
    w = weight[None] * styles.to(weight.dtype)[:, None, :, None, None]  # (B, O, I, k, k)
    if demodulate:
        w = w * (w.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8).rsqrt()
    w = w.to(x.dtype)
    x = x.reshape(1, batch * in_channels, height, width)
    if up:
        w = w.transpose(1, 2).reshape(batch * in_channels, out_channels, kernel_size, kernel_size)
        x = F.conv_transpose2d(x, w, stride=2, groups=batch)
        x = blur(x, padding=1, gain=4.0)
    else:
        w = w.reshape(batch * out_channels, in_channels, kernel_size, kernel_size)
        x = F.conv2d(x, w, padding=kernel_size // 2, groups=batch)
    return x.reshape(batch, out_channels, *x.shape[2:])


def check_noise_mode(noise_mode: str) -> str:
    if noise_mode not in NOISE_MODES + ("auto",):
        raise UserError(
            f"noise_mode={noise_mode!r} is not a StyleGAN2 noise mode; use random (fresh noise per call), "
            f"const (the fixed noise stored in the generator), none, or auto (random in training, const in eval)."
        )
    return noise_mode


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (optionally upsampling x2), per-pixel noise, bias and leaky ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,  # output size, for the fixed noise
        noise_seed: int,  # seed of this layer's fixed ("const") noise
        up: bool = False,
        clamp: float | None = CONV_CLAMP,
    ):
        super().__init__()
        self.up = up
        self.clamp = clamp
        self.resolution = resolution
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.noise_strength = nn.Parameter(torch.zeros(()))
        seeded = torch.Generator(device="cpu").manual_seed(derived_seed("stylegan2_noise", noise_seed))
        self.register_buffer("noise_const", torch.randn(resolution, resolution, generator=seeded, device="cpu"))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str) -> torch.Tensor:
        styles = self.affine(w)
        x = modulated_conv2d(x, self.weight, styles, demodulate=True, up=self.up)
        assert x.shape[2:] == (self.resolution, self.resolution), (x.shape, self.resolution)
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
            x = x + noise * self.noise_strength.to(x.dtype)
        elif noise_mode == "const":
            x = x + (self.noise_const * self.noise_strength).to(x.dtype)
        return bias_act(x, self.bias, "lrelu", clamp=self.clamp)


class ToRGB(nn.Module):
    """Modulated 1x1 conv to image channels, without demodulation (the skip generator's outputs)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, clamp: float | None = CONV_CLAMP):
        super().__init__()
        self.clamp = clamp
        self.affine = EqualizedLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False)
        return bias_act(x, self.bias, "linear", clamp=self.clamp)


# The discriminator's layers.


def mbstd_group_size(batch_size: int, group_size: int) -> int:
    """The largest group size <= group_size that divides the batch (the reference needs it to divide)."""
    size = max(min(group_size, batch_size), 1)
    while batch_size % size:
        size -= 1
    return size


class MinibatchStd(nn.Module):
    """Append the mean standard deviation over groups of samples as extra feature maps (Karras 2018)."""

    def __init__(self, group_size: int = 4, num_channels: int = 1):
        super().__init__()
        self.group_size = group_size
        self.num_channels = num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        group = mbstd_group_size(batch, self.group_size)
        # Sample i joins group i % (B / group), as in the reference.
        y = x.reshape(group, -1, self.num_channels, channels // self.num_channels, height, width)
        y = (y - y.mean(dim=0)).square().mean(dim=0)          # variance over each group
        y = (y + 1e-8).sqrt().mean(dim=(2, 3, 4))             # (B / group, num_channels)
        y = y.reshape(-1, self.num_channels, 1, 1).repeat(group, 1, height, width)
        return torch.cat([x, y], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_channels={self.num_channels}"
