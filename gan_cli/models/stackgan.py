"""StackGAN (Zhang et al. 2017) networks: conditioning augmentation and the two stages.

A caption's embedding (the text encoder's, gan_cli/text) becomes a Gaussian by conditioning
augmentation (`ConditioningAugmentation`: FC -> mean and log-variance of a c_dim code, sampled by
the reparameterisation trick, with a KL term towards N(0, I)). Stage-I draws a low-resolution image
from noise and that code (`StageOneGenerator`: FC to 4x4, upsample / 3x3 conv / BN / ReLU blocks);
its D (`StageOneDiscriminator`) reduces the image to 4x4 features, joins the spatially replicated
condition and scores the pair. Stage-II (`StageTwoGenerator`) encodes a Stage-I image to a quarter
of its size, joins the condition again, refines with residual blocks and upsamples to `scale` x the
Stage-I size (4 in the paper: 64 -> 256); its D (`StageTwoDiscriminator`) gives a conditional and
an unconditional score. The widths follow the paper's (gf_dim 128 / df_dim 64 at 64x64) through
`base_width`; networks follow the data's resolution.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError


def _check_resolution(resolution, key: str, low: int = 16) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < low \
            or resolution & (resolution - 1):
        raise UserError(f"{key}={resolution!r} is not a StackGAN resolution: use a power of two of at least {low} "
                        f"(the paper: 64 for Stage-I, 256 for Stage-II).")
    return resolution


def _check_width(width, key: str) -> int:
    if isinstance(width, bool) or not isinstance(width, int) or width < 1:
        raise UserError(f"{key}={width!r} must be a positive whole number of feature maps.")
    return width


def kl_divergence(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_variance)) || N(0, I)) per code dimension: averaged over the code and the batch,
    as the authors' code computes it (their weight 2.0 is of this mean; summed over the 128 dimensions it
    would be 128 times stronger and drive the code to pure noise, the caption forgotten)."""
    return (-0.5 * (1 + log_variance - mean.pow(2) - log_variance.exp())).mean()


class ConditioningAugmentation(nn.Module):
    """Text embedding -> (code, mean, log-variance): a c_dim Gaussian around the caption."""

    def __init__(self, text_dim: int, c_dim: int = 128):
        super().__init__()
        self.fc = nn.Linear(text_dim, 2 * c_dim)
        self.c_dim = c_dim

    def forward(self, text: torch.Tensor, sample: bool = True, noise: torch.Tensor | None = None):
        """(code, mean, log-variance); the code is mean + noise x std, with `noise` N(0, I) drawn here
        unless given (sampling draws it from a seed), or the mean itself when not `sample`."""
        # The caption's direction at unit RMS per dimension, whatever the encoder's scale: the code's mean
        # then starts on the scale of its unit noise instead of ~100 times below it (our GRU's embeddings
        # have an RMS of 0.13), so the caption reaches G from the first steps.
        text = F.normalize(text.float(), dim=1) * text.shape[1] ** 0.5
        mean, log_variance = torch.relu(self.fc(text)).chunk(2, dim=1)
        if not sample:
            return mean, mean, log_variance
        noise = torch.randn_like(mean) if noise is None else noise.to(mean)
        return mean + noise * (0.5 * log_variance).exp(), mean, log_variance


def _up(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def _down(cin: int, cout: int, norm: bool = True) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 4, 2, 1, bias=not norm), *([nn.BatchNorm2d(cout)] if norm else []),
            nn.LeakyReLU(0.2, inplace=True)]


class StageOneGenerator(nn.Module):
    """(noise, text embedding) -> (image, mean, log-variance) at the data's resolution."""

    def __init__(self, latent_dim: int, text_dim: int, data_shape, c_dim: int = 128, base_width: int = 128):
        super().__init__()
        channels, resolution = int(data_shape[0]), _check_resolution(int(data_shape[-1]), "data.resolution")
        width = _check_width(base_width, "model.generator.base_width") * 8  # gf_dim * 8 at 4x4
        self.latent_dim, self.text_dim, self.data_shape = latent_dim, text_dim, tuple(data_shape)
        self.augment = ConditioningAugmentation(text_dim, c_dim)
        self.fc = nn.Sequential(nn.Linear(latent_dim + c_dim, width * 16, bias=False), nn.BatchNorm1d(width * 16),
                                nn.ReLU(inplace=True))
        blocks, size = [], 4
        while size < resolution:
            blocks += _up(width, max(width // 2, 8))
            width, size = max(width // 2, 8), size * 2
        self.body = nn.Sequential(*blocks, nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, text: torch.Tensor, sample: bool = True, noise: torch.Tensor | None = None):
        code, mean, log_variance = self.augment(text, sample, noise)
        x = self.fc(torch.cat([z, code], dim=1)).view(len(z), -1, 4, 4)
        return self.body(x), mean, log_variance


class ConditionalScore(nn.Module):
    """4x4 image features and a condition -> one logit per pair (StackGAN's D_GET_LOGITS); without a
    condition dimension, the unconditional score."""

    def __init__(self, features: int, c_dim: int | None):
        super().__init__()
        self.c_dim = c_dim
        joined = features + (c_dim or 0)
        self.joint = nn.Sequential(nn.Conv2d(joined, features, 3, 1, 1, bias=False), nn.BatchNorm2d(features),
                                   nn.LeakyReLU(0.2, inplace=True)) if c_dim else nn.Identity()
        self.out = nn.Conv2d(features, 1, 4, 4)

    def forward(self, features: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        if self.c_dim:
            replicated = condition[:, :, None, None].expand(-1, -1, *features.shape[-2:])
            features = self.joint(torch.cat([features, replicated], dim=1))
        return self.out(features).flatten()


def _encoder(channels: int, resolution: int, base_width: int) -> tuple[nn.Sequential, int]:
    """Image -> 4x4 features: strided 4x4 convs, no norm on the first, the width doubling each time."""
    cap = 8 * base_width if resolution <= 64 else 16 * base_width  # the paper's 8 x df_dim at 64x64
    layers, width, size = _down(channels, base_width, norm=False), base_width, resolution // 2
    while size > 4:
        layers += _down(width, min(2 * width, cap))
        width, size = min(2 * width, cap), size // 2
    return nn.Sequential(*layers), width


class StageOneDiscriminator(nn.Module):
    """(image, condition code) -> logit: is this a real image of that caption?"""

    def __init__(self, data_shape, c_dim: int = 128, base_width: int = 64):
        super().__init__()
        channels, resolution = int(data_shape[0]), _check_resolution(int(data_shape[-1]), "data.resolution")
        self.encode, width = _encoder(channels, resolution, _check_width(base_width, "model.discriminator.base_width"))
        self.conditional = ConditionalScore(width, c_dim)

    def forward(self, images: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.conditional(self.encode(images), condition)


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(inplace=True), nn.Conv2d(width, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


class StageTwoGenerator(nn.Module):
    """(Stage-I image, text embedding) -> (image at scale x its size, mean, log-variance)."""

    def __init__(self, text_dim: int, data_shape, c_dim: int = 128, base_width: int = 128, scale: int = 4,
                 residual_blocks: int = 4, sketch_skip: bool = False):
        super().__init__()
        channels, resolution = int(data_shape[0]), _check_resolution(int(data_shape[-1]), "data.resolution", 32)
        if scale not in (2, 4):
            raise UserError(f"model.scale={scale!r}: Stage-II makes images 2 or 4 times the Stage-I size "
                            f"(the paper: 4).")
        if resolution // scale < 16:
            raise UserError(f"data.resolution={resolution} with model.scale={scale} leaves Stage-I images of "
                            f"{resolution // scale}x{resolution // scale}; Stage-I needs at least 16x16.")
        width = _check_width(base_width, "model.generator.base_width")
        self.text_dim, self.scale, self.data_shape = text_dim, scale, tuple(data_shape)
        self.augment = ConditioningAugmentation(text_dim, c_dim)
        self.encode = nn.Sequential(nn.Conv2d(channels, width, 3, 1, 1), nn.ReLU(inplace=True),
                                    nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * width),
                                    nn.ReLU(inplace=True),
                                    nn.Conv2d(2 * width, 4 * width, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * width),
                                    nn.ReLU(inplace=True))
        self.joint = nn.Sequential(nn.Conv2d(4 * width + c_dim, 4 * width, 3, 1, 1, bias=False),
                                   nn.BatchNorm2d(4 * width), nn.ReLU(inplace=True))
        self.residual = nn.Sequential(*(ResidualBlock(4 * width) for _ in range(residual_blocks)))
        ups, current = [], 4 * width
        for _ in range(int(math.log2(4 * scale))):  # a quarter of the Stage-I size -> scale x it
            ups += _up(current, max(current // 2, 8))
            current = max(current // 2, 8)
        # sketch_skip (not in the paper): the output is the upsampled sketch plus a learnt residual that starts
        # at zero, so an untrained Stage II already returns the sketch (SRResNet's bicubic_skip, for Stage II).
        self.sketch_skip = bool(sketch_skip)
        self.decode = nn.Sequential(*ups, nn.Conv2d(current, channels, 3, 1, 1),
                                    *([] if self.sketch_skip else [nn.Tanh()]))

    def zero_residual(self) -> None:
        """With sketch_skip: the last convolution at zero (call after any re-initialisation)."""
        if self.sketch_skip:
            last = self.decode[-1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, stage_one: torch.Tensor, text: torch.Tensor, sample: bool = True,
                noise: torch.Tensor | None = None):
        code, mean, log_variance = self.augment(text, sample, noise)
        features = self.encode(stage_one)
        replicated = code[:, :, None, None].expand(-1, -1, *features.shape[-2:])
        x = self.residual(self.joint(torch.cat([features, replicated], dim=1)))
        images = self.decode(x)
        if self.sketch_skip:
            images = images + F.interpolate(stage_one, size=images.shape[-2:], mode="bilinear", align_corners=False)
            images = images if self.training else images.clamp(-1, 1)
        return images, mean, log_variance


class StageTwoDiscriminator(nn.Module):
    """(image, condition code) -> (conditional logit, unconditional logit)."""

    def __init__(self, data_shape, c_dim: int = 128, base_width: int = 64):
        super().__init__()
        channels, resolution = int(data_shape[0]), _check_resolution(int(data_shape[-1]), "data.resolution", 32)
        self.encode, width = _encoder(channels, resolution, _check_width(base_width, "model.discriminator.base_width"))
        self.conditional = ConditionalScore(width, c_dim)
        self.unconditional = ConditionalScore(width, None)

    def forward(self, images: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encode(images)
        return self.conditional(features, condition), self.unconditional(features)


def init_stackgan_weights(network: nn.Module) -> nn.Module:
    """The authors' initialisation: convolutions N(0, 0.02), batch norm scales N(1, 0.02), linear N(0, 0.02)."""
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)
    return network


def _check_stage(stage) -> int:
    if stage not in (1, 2) or isinstance(stage, bool):
        raise UserError(f"model.stage={stage!r} is not a StackGAN stage: use 1 (the sketch from text) or 2 (its "
                        f"refinement, from a Stage-I checkpoint: model.stage1_ckpt=...).")
    return stage


class StackGANGenerator(nn.Module):
    """The generator a StackGAN config builds: (noise, text embedding) -> (image, mean, log-variance).

    Stage 1 is a Stage-I generator at the data's resolution. Stage 2 holds a Stage-I generator at
    1/scale of it (`stage_one`, frozen: no gradients, batch norm in eval mode; its weights come from the
    Stage-I checkpoint) and the Stage-II generator that refines its sketch (`stage_two`); both conditioning
    augmentations take the same noise draw. A Stage-II checkpoint therefore samples on its own."""

    def __init__(self, latent_dim: int, text_dim: int, data_shape, stage: int = 1, scale: int = 2, c_dim: int = 128,
                 stage_one_width: int = 128, stage_two_width: int = 128, residual_blocks: int = 4,
                 sketch_skip: bool = False):
        super().__init__()
        self.stage, self.latent_dim, self.text_dim, self.c_dim = _check_stage(stage), latent_dim, text_dim, c_dim
        channels, resolution = int(data_shape[0]), int(data_shape[-1])
        self.data_shape = tuple(int(size) for size in data_shape)
        self.stage_two = None
        if self.stage == 1:
            self.stage_one = StageOneGenerator(latent_dim, text_dim, data_shape, c_dim, stage_one_width)
        else:
            self.stage_two = StageTwoGenerator(text_dim, data_shape, c_dim, stage_two_width, scale, residual_blocks,
                                               sketch_skip)
            low = resolution // scale
            self.stage_one = StageOneGenerator(latent_dim, text_dim, (channels, low, low), c_dim, stage_one_width)
            self.stage_one.requires_grad_(False)
        init_stackgan_weights(self)
        if self.stage_two is not None:
            self.stage_two.zero_residual()
        self.train()  # Stage II: Stage I in eval mode from the start

    @property
    def stage_one_shape(self) -> tuple[int, ...]:
        return self.stage_one.data_shape

    def train(self, mode: bool = True):
        super().train(mode)
        if self.stage_two is not None:
            self.stage_one.eval()  # frozen: its batch-norm statistics are the Stage-I run's
        return self

    def forward(self, z: torch.Tensor, text: torch.Tensor, sample: bool = True, noise: torch.Tensor | None = None):
        if self.stage_two is None:
            return self.stage_one(z, text, sample, noise)
        if sample and noise is None:
            noise = torch.randn(len(z), self.c_dim, device=z.device, dtype=z.dtype)
        with torch.no_grad():
            sketch = self.stage_one(z, text, sample, noise)[0]
        return self.stage_two(sketch, text, sample, noise)

    @torch.no_grad()
    def sketch(self, z: torch.Tensor, text: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The Stage-I image of a Stage-II generator (the same noise draw gives the same sketch)."""
        return self.stage_one(z, text, noise is not None, noise)[0]


class StackGANDiscriminator(nn.Module):
    """The discriminator a StackGAN config builds: (images, condition code[, mismatched codes]) ->
    (conditional logits, unconditional logits (Stage II; None in Stage I), logits of the same images with
    the mismatched codes (None without them)). The images are encoded once for both conditions, as in
    the authors' code."""

    def __init__(self, data_shape, stage: int = 1, c_dim: int = 128, base_width: int = 64):
        super().__init__()
        self.stage = _check_stage(stage)
        network = StageOneDiscriminator if self.stage == 1 else StageTwoDiscriminator
        self.network = network(data_shape, c_dim, base_width)
        init_stackgan_weights(self)

    def forward(self, images: torch.Tensor, condition: torch.Tensor, mismatched: torch.Tensor | None = None):
        network = self.network
        features = network.encode(images)
        if mismatched is None:
            conditional, wrong = network.conditional(features, condition), None
        else:
            both = network.conditional(features.repeat(2, 1, 1, 1), torch.cat([condition, mismatched]))
            conditional, wrong = both.chunk(2)
        unconditional = network.unconditional(features) if self.stage == 2 else None
        return conditional, unconditional, wrong
