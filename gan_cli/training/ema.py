"""Exponential moving average of the generator's weights (Karras 2018, Yazici 2019).

The EMA's memory is a half-life counted in images. With a ramp-up (StyleGAN2's ema_rampup, 0.05),
the half-life is at most that share of the images seen so far, so an EMA is useful from the first
steps instead of averaging in the initial weights for the whole of a short run.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn


def make_ema(generator: nn.Module) -> nn.Module:
    ema = copy.deepcopy(generator).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, decay: float) -> None:
    """ema = decay * ema + (1 - decay) * generator, for parameters; buffers (BN stats) are copied."""
    ema_params = list(ema.parameters())
    torch._foreach_lerp_(ema_params, [p.detach() for p in generator.parameters()], 1.0 - decay)
    for ema_buffer, buffer in zip(ema.buffers(), generator.buffers()):
        ema_buffer.copy_(buffer)


@dataclass(frozen=True)
class EmaSchedule:
    """The decay of each step's EMA update."""

    half_life_images: float   # the EMA's memory once ramped up
    images_per_step: int      # images of one training step, over all processes
    rampup: float | None = None  # half-life at most rampup x images seen (StyleGAN2: 0.05); None: none

    @classmethod
    def from_decay(cls, decay: float, images_per_step: int, rampup: float | None = None) -> "EmaSchedule":
        """The schedule whose ramped-up decay per step is `decay`."""
        return cls(images_per_step / math.log2(1.0 / decay), images_per_step, rampup)

    def decay(self, steps_done: int) -> float:
        """The decay of the update that ends step `steps_done` (1 for the first step)."""
        half_life = self.half_life_images
        if self.rampup is not None:
            half_life = min(half_life, self.rampup * steps_done * self.images_per_step)
        return 0.5 ** (self.images_per_step / max(half_life, 1e-8))


@torch.no_grad()
def refresh_batch_norm(ema: nn.Module, draw: Callable[[], tuple], batches: int = 16) -> None:
    """Recompute the batch-norm statistics of the EMA generator on its own outputs.

    The EMA's weights are an average of G's, so the running statistics of G's batch norms do not fit
    them (on digits: FID-digits 116 with G's statistics, 97 with its own). The standing statistics of
    BigGAN: the mean over `batches` batches of `draw()` = (z, labels), in training mode; nothing else
    of the EMA changes. Generators without batch norm are left alone."""
    norms = [m for m in ema.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches
    ema.train()
    try:
        for _ in range(batches):
            z, labels = draw()
            ema(z, labels)
    finally:
        ema.eval()
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
