"""SRGAN (Ledig et al. 2017): a generator upscales low-resolution images; first alone on the pixel
loss (SRResNet-MSE, `model.pretrain_steps`), then against a discriminator of real HR images.

    pre-training:  G: |G(lr) - hr|^2
    adversarial:   D: loss(D(hr), D(G(lr)))
                   G: content(G(lr), hr) + adversarial_weight * loss_G(D(G(lr)))

content is the VGG19 feature distance of perceptual.py (the pixel MSE without VGG weights). Which
phase a step is in depends only on the step, so a resumed run continues in the right one.
"""

from __future__ import annotations

import torch

from gan_cli.errors import UserError
from gan_cli.training.execution import Execution
from gan_cli.training.objectives import DISCRIMINATOR, GENERATOR, Loss, Phase
from gan_cli.training.objectives.perceptual import PixelContent, build_content_loss
from gan_cli.training.objectives.updates import adversarial_loss, report_discriminator
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import check_weight


class SRGANObjective:
    def __init__(self, state: TrainingState, execution: Execution, loss, stats: RunningStats, content,
                 pretrain_steps: int, adversarial_weight: float = 1e-3):
        self.state, self.execution, self.loss, self.stats = state, execution, loss, stats
        self.content, self.pixel = content, PixelContent()
        self.pretrain_steps, self.adversarial_weight = pretrain_steps, adversarial_weight
        self.g_train = execution.for_training(state.generator)
        self.d_train = execution.for_training(state.discriminator)
        self.images_per_step = state.batches.batch_size
        self.batches = {}  # the (lr, hr) pairs of this step by accumulated batch: D's update draws them, G's reuses them
        self.description = (f"SRResNet pixel MSE for {pretrain_steps} steps, then content ({content.name}) + "
                            f"loss={loss.name} x {adversarial_weight:g}")

    def phases(self) -> list[Phase]:
        return [Phase("D", 1, self.d_loss, DISCRIMINATOR, (self.d_train,)),
                Phase("G", 1, self.g_loss, GENERATOR, (self.g_train,))]

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        lr, hr = self.state.batches.next()
        return self.execution.layout(lr), self.execution.layout(hr)

    @property
    def pretraining(self) -> bool:
        return self.state.step < self.pretrain_steps

    def d_loss(self, index: int, batch: int) -> Loss | None:
        if self.pretraining:
            return None  # D waits for the adversarial phase
        state = self.state
        lr, hr = self.batches[batch] = self.draw()
        with torch.no_grad(), self.execution.autocast():
            fake = self.execution.layout(state.generator(lr))
        with self.execution.autocast():
            real_logits, fake_logits = self.d_train(hr).float(), self.d_train(fake).float()
            d_loss = self.loss.d_loss(real_logits, fake_logits)
        report_discriminator(self.stats, self.loss, d_loss, real_logits, fake_logits)
        return Loss(d_loss)

    def g_loss(self, index: int, batch: int) -> Loss:
        state = self.state
        lr, hr = self.batches.pop(batch, None) or self.draw()  # drawn by D's update, or (pre-training) here
        pretraining = self.pretraining
        with self.execution.autocast():
            fake = self.execution.layout(self.g_train(lr))
            pixel = self.pixel(fake, hr)
            if pretraining:
                total = pixel
            else:
                content = pixel if isinstance(self.content, PixelContent) else self.content(fake, hr)
                g_adversarial = self.loss.g_loss(state.discriminator(fake).float())
                total = content + self.adversarial_weight * g_adversarial
                self.stats.add("loss/content", content)
                self.stats.add("loss/g_adversarial", g_adversarial)
        self.stats.add("loss/pixel", pixel)
        self.stats.add("loss/g", total)
        return Loss(total)


def pretrain_steps(value, total_steps: int) -> int:
    """model.pretrain_steps: a fraction of trainer.steps (0.5) or a whole number of steps."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
            isinstance(value, float) and value > 1):
        raise UserError(f"model.pretrain_steps={value!r} must be a fraction of trainer.steps in [0, 1] (e.g. 0.5) or a "
                        f"whole number of steps (the pixel-loss-only SRResNet phase before the adversarial one).")
    return int(round(value * total_steps)) if isinstance(value, float) else int(value)


def from_config(run, state: TrainingState, execution: Execution, stats: RunningStats) -> SRGANObjective:
    model = run.model
    perceptual = run.loss.get("perceptual") or {"layer": "pixel"}
    steps = run.optim.get("schedule_steps") or run.trainer.steps
    return SRGANObjective(state, execution, adversarial_loss(run.loss), stats,
                          build_content_loss(perceptual, execution.device),
                          pretrain_steps=pretrain_steps(model.pretrain_steps, int(steps)),
                          adversarial_weight=check_weight(model.adversarial_weight, "model.adversarial_weight"))
