"""ProGAN (Karras et al. 2018): the adversarial game (WGAN-GP with the drift term, by default) on
networks that grow from 4x4 to the data's resolution, each new resolution faded in over
`model.images_per_phase` images and then trained stable for as many.

The growth state (stage, alpha) is a function of the images shown so far, set on G, D and the EMA
before every step; as in the paper's code, the optimizers' moments are reset when a fade begins and
when it ends; it lives in the networks' buffers, so a checkpoint taken in any phase samples
at its own resolution, and a resume in the middle of a fade continues exactly.
"""

from __future__ import annotations

import math

import torch

from gan_cli import distributed
from gan_cli.errors import UserError
from gan_cli.models.capabilities import Growing
from gan_cli.models.progan import growth_at
from gan_cli.training.objectives import Phase
from gan_cli.training.objectives.adversarial import AdversarialObjective
from gan_cli.training.objectives.adversarial import (
    from_config as adversarial_from_config,
)


class ProgressiveObjective:
    def __init__(self, inner: AdversarialObjective, images_per_phase: int, accumulate: int = 1):
        self.inner, self.images_per_phase, self.accumulate = inner, images_per_phase, accumulate
        inner.prepare_real = inner.state.discriminator.fade_reals  # the paper's faded reals during a fade
        # D's inputs at its working resolution: the gradient penalty is measured there.
        inner.prepare_seen = inner.state.discriminator.at_working_resolution
        self.state, self.stats = inner.state, inner.stats
        self.images_per_step = inner.images_per_step
        self.num_stages = self.state.generator.num_stages
        self.description = f"{inner.description}, growing 4x4 -> {4 * 2 ** (self.num_stages - 1)} " \
                           f"({images_per_phase} images per fade and per stable phase)"

    def phases(self) -> list[Phase]:
        return [Phase("grow", 1, self.grow), *self.inner.phases()]  # grow: bookkeeping, no update

    def growth(self, step: int) -> tuple[int, float]:
        """(stage, alpha) before `step` (0-based): from the real images D has seen on all processes."""
        images_seen = step * self.images_per_step * self.accumulate * distributed.world_size()
        return growth_at(images_seen, self.num_stages, self.images_per_phase)

    def grow(self, index: int, batch: int) -> None:
        stage, alpha = self.growth(self.state.step)
        if self.state.step > 0 and _phase_changed(self.growth(self.state.step - 1), (stage, alpha)):
            # The paper's reset_opt_for_new_lod: Adam starts afresh when a fade begins and when it ends.
            for optimizer in self.state.optimizers.values():
                optimizer.state.clear()
        for _, network in self.state.modules():
            if isinstance(network, Growing):
                network.set_growth(stage, alpha)
        device = next(self.state.generator.parameters()).device
        self.stats.add("progan/resolution", torch.tensor(4.0 * 2 ** stage, device=device))
        self.stats.add("progan/alpha", torch.tensor(float(alpha), device=device))


def _level(stage: int, alpha: float) -> float:
    """The paper's level of detail: stage s faded in by alpha lies between s - 1 and s."""
    return stage - 1 + alpha if alpha < 1.0 else float(stage)


def _phase_changed(before: tuple[int, float], after: tuple[int, float]) -> bool:
    """True when the whole levels around the level of detail change: a fade began or ended."""
    a, b = _level(*before), _level(*after)
    return math.floor(a) != math.floor(b) or math.ceil(a) != math.ceil(b)


def from_config(run, state, execution, stats) -> ProgressiveObjective:
    if not isinstance(state.generator, Growing) or not isinstance(state.discriminator, Growing):
        raise UserError("model.objective=progressive grows G and D, which must both be ProGAN networks "
                        "(gan_cli.models.progan.ProGANGenerator / ProGANDiscriminator).")
    images = run.model.images_per_phase
    if isinstance(images, bool) or not isinstance(images, int) or images < 1:
        raise UserError(f"model.images_per_phase={images!r} must be a positive whole number of images (each fade-in "
                        f"and each stable phase shows D this many real images; 800000 in the paper).")
    return ProgressiveObjective(adversarial_from_config(run, state, execution, stats), images, run.trainer.accumulate)
