"""ProGAN networks (Karras et al. 2018, progressive growing) for a run of one data shape.

gan-cli keeps one data shape for a whole run, so the growing lives inside the networks. Both take
the full resolution R and hold the growth state as buffers (so checkpoints and the EMA copy carry
it): `stage` (0 = 4x4, 1 = 8x8, ..., log2(R) - 2 = R x R) and `alpha`, the fade-in of the newest
stage's layers (1 = faded in). The layers of every stage exist from the start, so the optimizers
see every parameter from step 1; layers not in use get no gradient.

At their boundary both networks work at R: G makes the image at the current resolution and
nearest-upsamples it to R; D average-pools its input down to the current resolution, so reals and
fakes take the same path and reals are the paper's downsampled reals; during a fade the objective
fades the reals too (`fade_reals`), as the paper does.
`growth_at` is the paper's schedule as a pure function of the images seen.

Paper details kept: equalized learning rate, pixelwise feature normalization after every conv of G
(and on z), leaky ReLU 0.2, linear toRGB (no tanh), minibatch standard deviation at D's 4x4 block.
Labels (num_classes): G appends a one-hot label to the normalized z; D adds a projection term.
"""

from __future__ import annotations

import math
import operator

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError
from gan_cli.models.capabilities import Growing
from gan_cli.models.conditional import Projection, check_num_classes, require_labels


def growth_at(images_seen: int, num_stages: int, images_per_phase: int) -> tuple[int, float]:
    """The paper's schedule: (stage, alpha) after `images_seen` real images.

    Stage 0 trains for one phase; each next stage fades in over one phase (alpha from 0 to 1,
    linear in the images seen), then trains stable for one phase; after the last stage the
    state stays (num_stages - 1, 1.0). A pure function, so a resumed run continues exactly.
    """
    if images_seen < 0 or num_stages < 1 or images_per_phase < 1:
        raise ValueError(f"growth_at needs images_seen >= 0, num_stages >= 1 and images_per_phase >= 1, got "
                         f"{images_seen}, {num_stages}, {images_per_phase}.")
    phase, into_phase = divmod(int(images_seen), int(images_per_phase))
    stage = (phase + 1) // 2
    if stage >= num_stages:
        return num_stages - 1, 1.0
    if phase % 2 == 1:  # odd phases fade a new stage in
        return stage, into_phase / images_per_phase
    return stage, 1.0


def require_progan_shape(data_shape, network: str) -> tuple[int, int]:
    """Check that data_shape (a list or ListConfig) is (C, R, R) with R a power of two >= 8; return (C, R)."""
    shape = tuple(int(s) for s in data_shape)
    if len(shape) != 3:
        raise UserError(
            f"{network} is a convolutional network for images of shape (channels, size, size), but the data "
            f"has shape {list(shape)}. Use image data (e.g. data=mnist|cifar10|celeba|folder)."
        )
    channels, height, width = shape
    if height != width or height < 8 or height & (height - 1):
        raise UserError(
            f"{network} grows from 4x4 by doubling and needs square images whose size is a power of two of at "
            f"least 8 (8, 16, 32, 64, ...), but the data gives {height}x{width}; set data.resolution to one of those."
        )
    return channels, height


# Layers with the paper's equalized learning rate.


class EqualizedConv2d(nn.Module):
    """A conv whose N(0, 1) weights are scaled at runtime by the He constant gain / sqrt(fan_in)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, gain: float = math.sqrt(2),
                 padding: int | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2 if padding is None else padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Module):
    """A dense layer whose N(0, 1) weights are scaled at runtime by the He constant gain / sqrt(fan_in)."""

    def __init__(self, in_features: int, out_features: int, gain: float = math.sqrt(2)):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each pixel's feature vector (dim 1) to unit root mean square."""
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


def _act(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


def minibatch_stddev(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """Append one feature map: the standard deviation over a group of samples, averaged over features and
    pixels. The group is the largest divisor of the batch that is at most group_size; samples
    n = g * M + m with the same m form a group, as in the official code."""
    batch, channels, height, width = x.shape
    group = max(g for g in range(1, min(group_size, batch) + 1) if batch % g == 0)
    y = x.float().reshape(group, batch // group, channels, height, width)
    y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # (M,)
    y = y.to(x.dtype).view(1, -1, 1, 1, 1).expand(group, -1, 1, height, width).reshape(batch, 1, height, width)
    return torch.cat([x, y], dim=1)


# The growth state both networks share.


class ProgressiveModule(nn.Module, Growing):
    """The growth state as buffers (`stage`, `alpha`) and its setters; starts at stage 0 (4x4), faded in."""

    def __init__(self, resolution: int):
        super().__init__()
        self.resolution = resolution
        self.num_stages = resolution.bit_length() - 2  # 4x4 .. RxR
        self.register_buffer("stage", torch.tensor(0, dtype=torch.long))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_growth(self, stage: int, alpha: float) -> None:
        """Train at `stage` (0 = 4x4) with its newest layers faded in by `alpha` in [0, 1]."""
        try:
            index = operator.index(stage)
        except TypeError:
            index = None
        if isinstance(stage, bool) or index is None or not 0 <= index < self.num_stages:
            raise ValueError(f"stage={stage!r} must be a whole number in [0, {self.num_stages - 1}] "
                             f"(0: 4x4, {self.num_stages - 1}: {self.resolution}x{self.resolution}).")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha={alpha!r} must be a number in [0, 1] (0: the new stage's layers unused, "
                             f"1: faded in).")
        with torch.no_grad():
            self.stage.fill_(index)
            self.alpha.fill_(float(alpha))

    def current_resolution(self) -> int:
        return 4 << int(self.stage)

    def _growth(self) -> tuple[int, float]:
        """(stage, alpha) as Python numbers, read from the buffers in one transfer."""
        stage, alpha = torch.stack([self.stage.to(torch.float64), self.alpha.to(torch.float64)]).tolist()
        return int(stage), alpha


def _widths(channel_base: int, channel_max: int, resolution: int, network: str) -> dict[int, int]:
    """Feature maps at each resolution 2, 4, ..., R: min(channel_base // r, channel_max)."""
    widths = {2 ** k: min(channel_base // 2 ** k, channel_max) for k in range(1, resolution.bit_length())}
    if min(widths.values()) < 1:
        raise UserError(f"{network} got channel_base={channel_base}, channel_max={channel_max}: every resolution "
                        f"needs at least one feature map, so channel_base must be at least {resolution} and "
                        f"channel_max at least 1.")
    return widths


# The generator.


class GeneratorStage(nn.Module):
    """One stage of G: nearest upsample x2, then two 3x3 convs, each with leaky ReLU and pixel norm."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = EqualizedConv2d(in_channels, out_channels, 3)
        self.conv2 = EqualizedConv2d(out_channels, out_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return pixel_norm(_act(self.conv2(pixel_norm(_act(self.conv1(x))))))


class ProGANGenerator(ProgressiveModule):
    """ProGAN G: z -> 4x4 (dense + 3x3 conv), one GeneratorStage per doubling, a 1x1 toRGB per stage.

    Output: (B, C, R, R) at every stage, the current resolution's image nearest-upsampled to R. During
    a fade: lerp(upsample2x(toRGB(previous stage)), toRGB(new stage), alpha)."""

    def __init__(
        self,
        latent_dim: int = 512,            # size of z
        data_shape=(3, 64, 64),           # (channels, R, R) of the images; R a power of two >= 8
        channel_base: int = 8192,         # feature maps at resolution r: min(channel_base // r, channel_max)
        channel_max: int = 512,
        num_classes: int | None = None,   # classes of the one-hot label appended to z; None: unconditional
    ):
        channels, resolution = require_progan_shape(data_shape, "The ProGAN generator")
        super().__init__(resolution)
        self.latent_dim = latent_dim
        self.data_shape = (channels, resolution, resolution)
        self.num_classes = check_num_classes(num_classes, "The ProGAN generator", required=False)
        width = _widths(channel_base, channel_max, resolution, "The ProGAN generator")
        self.base_width = width[4]
        # The official code's gain for the 4x4 dense layer (it is the paper's 4x4 conv-transpose, whose
        # He constant counts 16 taps per input).
        self.dense = EqualizedLinear(latent_dim + (self.num_classes or 0), 16 * width[4], gain=math.sqrt(2) / 4)
        self.conv = EqualizedConv2d(width[4], width[4], 3)
        sizes = [4 << stage for stage in range(self.num_stages)]
        self.stages = nn.ModuleList(GeneratorStage(width[size // 2], width[size]) for size in sizes[1:])
        self.to_rgb = nn.ModuleList(EqualizedConv2d(width[size], channels, 1, gain=1.0) for size in sizes)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, z.shape
        stage, alpha = self._growth()
        x = pixel_norm(z)
        if self.num_classes:
            labels = require_labels(labels, z.shape[0], "The conditional ProGAN generator")
            x = torch.cat([x, F.one_hot(labels, self.num_classes).to(x.dtype)], dim=1)
        h = pixel_norm(_act(self.dense(x)).view(z.shape[0], self.base_width, 4, 4))
        h = pixel_norm(_act(self.conv(h)))
        for index in range(stage - 1):
            h = self.stages[index](h)
        previous = h
        if stage > 0:
            h = self.stages[stage - 1](h)
        image = self.to_rgb[stage](h)
        if stage > 0 and alpha < 1.0:
            faded = F.interpolate(self.to_rgb[stage - 1](previous), scale_factor=2, mode="nearest")
            image = torch.lerp(faded, image, alpha)
        if image.shape[-1] < self.resolution:
            image = F.interpolate(image, scale_factor=self.resolution // image.shape[-1], mode="nearest")
        return image


# The discriminator.


class DiscriminatorStage(nn.Module):
    """One stage of D: two 3x3 convs with leaky ReLU, then 2x2 average pooling."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = EqualizedConv2d(in_channels, in_channels, 3)
        self.conv2 = EqualizedConv2d(in_channels, out_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(_act(self.conv2(_act(self.conv1(x)))), 2)


class ProGANDiscriminator(ProgressiveModule):
    """ProGAN D: a 1x1 fromRGB per stage, one DiscriminatorStage per halving, then at 4x4 minibatch
    stddev + 3x3 conv + 4x4 conv (dense) + dense -> one logit, shape (B, 1).

    Input: (B, C, R, R) or (B, C, r, r) at the current resolution r, average-pooled to r. During a fade the input path is
    lerp(fromRGB(pooled to the previous resolution), stage(fromRGB(current)), alpha), into the older
    stages."""

    def __init__(
        self,
        data_shape=(3, 64, 64),           # (channels, R, R) of the input images; R a power of two >= 8
        channel_base: int = 8192,         # feature maps at resolution r: min(channel_base // r, channel_max)
        channel_max: int = 512,
        num_classes: int | None = None,   # classes of the projection term; None: unconditional
        mbstd_group_size: int = 4,        # group of the minibatch stddev (a divisor of the batch); 0 or 1: off
    ):
        channels, resolution = require_progan_shape(data_shape, "The ProGAN discriminator")
        super().__init__(resolution)
        if isinstance(mbstd_group_size, bool) or not isinstance(mbstd_group_size, int) or mbstd_group_size < 0:
            raise UserError(f"model.discriminator.mbstd_group_size={mbstd_group_size!r} must be a whole number "
                            f">= 0 (the paper uses 4; 0 or 1 turns the minibatch standard deviation off).")
        self.data_shape = (channels, resolution, resolution)
        self.norm = "none"
        self.num_classes = check_num_classes(num_classes, "The ProGAN discriminator", required=False)
        self.mbstd_group_size = mbstd_group_size
        width = _widths(channel_base, channel_max, resolution, "The ProGAN discriminator")
        sizes = [4 << stage for stage in range(self.num_stages)]
        self.from_rgb = nn.ModuleList(EqualizedConv2d(channels, width[size], 1) for size in sizes)
        self.stages = nn.ModuleList(DiscriminatorStage(width[size], width[size // 2]) for size in sizes[1:])
        extra = 1 if mbstd_group_size > 1 else 0
        self.conv = EqualizedConv2d(width[4] + extra, width[4], 3)
        self.dense = EqualizedConv2d(width[4], width[2], 4, padding=0)  # as the official nf(0) features
        self.output = EqualizedLinear(width[2], 1, gain=1.0)
        self.projection = Projection(width[2], self.num_classes, False) if self.num_classes else None

    def fade_reals(self, images: torch.Tensor) -> torch.Tensor:
        """Real images as the paper shows them during a fade-in: lerp(the previous resolution's image
        upsampled, the current one's, alpha), so that reals blend between resolutions as G's images do
        (and D cannot tell them apart by sharpness alone). Returned at the full resolution R."""
        stage, alpha = self._growth()
        if stage == 0 or alpha >= 1.0:
            return images
        size = 4 << stage
        x = F.avg_pool2d(images, self.resolution // size) if size < self.resolution else images
        coarse = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="nearest")
        x = torch.lerp(coarse, x, alpha)
        return F.interpolate(x, scale_factor=self.resolution // size, mode="nearest") if size < self.resolution else x

    def at_working_resolution(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, R, R) images average-pooled to the current stage's resolution, as D reads them. The
        training step hands D its inputs at this size, so that the gradient penalty measures D's
        gradient where D works: taken on the R x R input it is R / size times smaller (the pooling
        spreads it), and a penalty towards norm 1 there lets D be that many times steeper at 4x4."""
        size = 4 << self._growth()[0]
        return F.avg_pool2d(images, images.shape[-1] // size) if images.shape[-1] > size else images

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """(B, C, R, R) images, or already at the current stage's resolution -> (B, 1) logits."""
        stage, alpha = self._growth()
        size = 4 << stage
        assert images.shape[1] == self.data_shape[0] and images.shape[-1] in (size, self.resolution), \
            (images.shape, self.data_shape, size)
        x = self.at_working_resolution(images)
        h = _act(self.from_rgb[stage](x))
        if stage > 0:
            h = self.stages[stage - 1](h)
            if alpha < 1.0:
                faded = _act(self.from_rgb[stage - 1](F.avg_pool2d(x, 2)))
                h = torch.lerp(faded, h, alpha)
        for index in reversed(range(stage - 1)):
            h = self.stages[index](h)
        if self.mbstd_group_size > 1:
            h = minibatch_stddev(h, self.mbstd_group_size)
        features = _act(self.dense(_act(self.conv(h)))).flatten(1)
        logits = self.output(features)
        if self.projection is not None:
            labels = require_labels(labels, images.shape[0], "The conditional ProGAN discriminator")
            logits = logits + self.projection(features, labels)[:, None]
        return logits
