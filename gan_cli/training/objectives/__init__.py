"""Objectives: what one training step of a GAN family does.

An objective owns the forward and backward passes of its family and lists them as phases; the
loop (gan_cli/training/loop.py) only decides when each phase runs, and knows no family.

    adversarial.py   the z -> image family: D n_critic times, then G (GAN ... SAGAN, cGAN, ACGAN, InfoGAN)
    losses.py        adversarial losses on D's logits (BCE, least squares, Wasserstein, hinge)
    regularizers.py  penalties on D's loss (gradient penalty, R1) and constraints on its weights (clipping)
    auxiliary.py     extra heads' terms (ACGAN's classes, InfoGAN's mutual information)
    augment.py       DiffAugment of everything D sees

A model config names its objective (`model.objective._target_`, with `_partial_: true`); the
target is called with the run's config, the training state, the execution settings and the
statistics collector, and returns an object with `phases()`, `images_per_step` and `description`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import torch


@dataclass
class Phase:
    name: str                               # "D", "G", ...: for messages
    repeats: int                            # updates per training step (n_critic for D)
    update: Callable[[int], torch.Tensor]   # one update, given its running index (for lazy penalties);
                                            # returns the loss that must stay finite


class Objective(Protocol):
    images_per_step: int   # real images one training step consumes on this process (for img/s)
    description: str       # how the run's first log line names it, e.g. "loss=hinge, gradient_penalty"

    def phases(self) -> list[Phase]: ...
