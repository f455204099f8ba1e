"""Objectives: the losses of one training step of a GAN family.

An objective lists its step as phases; each phase computes the loss of one batch (and reports its
statistics) and names the side it updates. The loop (gan_cli/training/loop.py) owns every update,
for every family alike: it zeroes the gradients, sums `trainer.accumulate` batches (gradients
synced by DDP on the last), runs the scaler, steps the optimizer, applies the phase's weight
constraints, then updates the EMA and the learning rates. It knows no family.

    adversarial.py   the z -> image family: D n_critic times, then G (GAN ... SAGAN, cGAN, ACGAN, InfoGAN)
    losses.py        adversarial losses on D's logits (BCE, least squares, Wasserstein, hinge)
    regularizers.py  penalties on D's loss (gradient penalty, R1) and constraints on its weights (clipping)
    auxiliary.py     extra heads' terms (ACGAN's classes, InfoGAN's mutual information)
    augment.py       DiffAugment of everything D sees

A model config names its objective (`model.objective._target_`, with `_partial_: true`); the
target is called with the run's config, the training state, the execution settings and the
statistics collector, and returns an object with `phases()`, `images_per_step` (real images of one
step without accumulation) and `description`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import torch
import torch.nn as nn

GENERATOR, DISCRIMINATOR = "generator", "discriminator"  # the sides a phase updates


@dataclass
class Loss:
    """One batch's loss: `total` is minimised; `checked` must stay finite (the adversarial part: under a
    gradient scaler an overflowing penalty only skips the step)."""

    total: torch.Tensor
    checked: torch.Tensor | None = None


@dataclass
class Phase:
    name: str                                   # "D", "G", ...: for messages
    repeats: int                                # updates per training step (n_critic for D)
    loss: Callable[[int, int], Loss | None]     # (running index, batch of the update) -> its loss; None: no
                                                # update this time (a lazy regularizer's off steps)
    side: str | None = None                     # GENERATOR or DISCRIMINATOR: whose optimizer and scaler
                                                # step; None: bookkeeping only (loss returns None)
    trained: tuple[nn.Module, ...] = ()         # the wrapped networks it trains (DDP syncs on the last batch)
    after_update: Callable[[], None] | None = None  # after the optimizer step (weight clipping)


class Objective(Protocol):
    images_per_step: int   # real images one training step consumes on this process (for img/s)
    description: str       # how the run's first log line names it, e.g. "loss=hinge, gradient_penalty"

    def phases(self) -> list[Phase]: ...
