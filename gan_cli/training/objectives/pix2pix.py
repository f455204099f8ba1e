"""pix2pix (Isola et al. 2017): G learns to translate an input image into its target, judged by a
conditional PatchGAN D that sees (input, image) pairs, plus an L1 term that pulls G towards the
target at low frequencies while D judges the high ones.

    D: loss(D(x, y), D(x, G(x))) / 2          (halved, as the paper slows D down)
    G: adversarial_weight * loss_G(D(x, G(x))) + l1_weight * |G(x) - y|_1

One step is D's update, then G's, on the same batches of pairs (x, y) (one per accumulated batch).
adversarial_weight=0 trains the L1-only generator of the paper's ablation (D is then not trained).
"""

from __future__ import annotations

import torch

from gan_cli.training.execution import Execution
from gan_cli.training.objectives import DISCRIMINATOR, GENERATOR, Loss, Phase
from gan_cli.training.objectives.updates import adversarial_loss, report_discriminator
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import check_weight


class Pix2PixObjective:
    def __init__(self, state: TrainingState, execution: Execution, loss, stats: RunningStats,
                 l1_weight: float = 100.0, adversarial_weight: float = 1.0):
        self.state, self.execution, self.loss, self.stats = state, execution, loss, stats
        self.l1_weight, self.adversarial_weight = l1_weight, adversarial_weight
        self.g_train = execution.for_training(state.generator)
        self.d_train = execution.for_training(state.discriminator)
        self.images_per_step = state.batches.batch_size
        self.batches = {}  # the pairs of this step by accumulated batch: D's update draws them, G's reuses them
        self.description = f"loss={loss.name} x {adversarial_weight:g} + L1 x {l1_weight:g}"

    def phases(self) -> list[Phase]:
        g = Phase("G", 1, self.g_loss, GENERATOR, (self.g_train,))
        if self.adversarial_weight:
            return [Phase("D", 1, self.d_loss, DISCRIMINATOR, (self.d_train,)), g]
        return [g]  # the L1-only ablation: G draws its own pairs

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, targets = self.state.batches.next()
        return self.execution.layout(inputs), self.execution.layout(targets)

    def d_loss(self, index: int, batch: int) -> Loss:
        inputs, targets = self.batches[batch] = self.draw()
        with torch.no_grad(), self.execution.autocast():
            fake = self.execution.layout(self.state.generator(inputs))
        with self.execution.autocast():
            real_logits = self.d_train(targets, inputs).float()
            fake_logits = self.d_train(fake, inputs).float()
            d_loss = 0.5 * self.loss.d_loss(real_logits, fake_logits)
        report_discriminator(self.stats, self.loss, d_loss, real_logits, fake_logits)
        return Loss(d_loss)

    def g_loss(self, index: int, batch: int) -> Loss:
        inputs, targets = self.batches.pop(batch, None) or self.draw()  # drawn by D's update, or (L1 only) here
        state = self.state
        with self.execution.autocast():
            fake = self.execution.layout(self.g_train(inputs))
            l1 = (fake.float() - targets.float()).abs().mean()
            total = self.l1_weight * l1
            if self.adversarial_weight:
                g_adversarial = self.loss.g_loss(state.discriminator(fake, inputs).float())
                total = total + self.adversarial_weight * g_adversarial
                self.stats.add("loss/g_adversarial", g_adversarial)
        self.stats.add("loss/l1", l1)
        self.stats.add("loss/g", total)
        return Loss(total)


def from_config(run, state: TrainingState, execution: Execution, stats: RunningStats) -> Pix2PixObjective:
    model = run.model
    return Pix2PixObjective(state, execution, adversarial_loss(run.loss), stats,
                            l1_weight=check_weight(model.l1_weight, "model.l1_weight"),
                            adversarial_weight=check_weight(model.adversarial_weight, "model.adversarial_weight"))
