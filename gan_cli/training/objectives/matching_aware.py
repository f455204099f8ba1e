"""StackGAN (Zhang et al. 2017): text-to-image with the matching-aware loss and conditioning augmentation.

A batch is real images with one caption embedding each (gan_cli.data.caption_batches.py). G draws from noise
and a caption's conditioning code (mean + noise x std of a Gaussian around the caption); D scores an
image with the code's mean (detached) as its condition:

    D:  R(D(real, right)) + mismatch_weight x (F(D(fake, right)) + F(D(real, wrong)))        Stage I
        (R(real, right) + R_u(real)) / 2 + (F(fake, right) + F(real, wrong) + F_u(fake)) / 3  Stage II
    G:  loss_G(D(fake, right)) [+ loss_G of the unconditional score] + kl_weight x KL(N(mean, var) || N(0, I))

R and F are the adversarial loss's terms on real and fake logits (BCE in the paper); a wrong pair is
a real image with the caption of the next image in the batch. Without conditioning augmentation
(model.conditioning_augmentation=false, the paper's ablation) the code is the mean and there is no KL.
G's update reuses the batch that D's update drew (the paper's one batch per iteration). With
`augment.policy` every image D sees is DiffAugmented (not in the paper; translation and cutout keep the
colours a caption names, `color` does not).
"""

from __future__ import annotations

import torch

from gan_cli.errors import UserError
from gan_cli.models.stackgan import kl_divergence
from gan_cli.training.execution import Execution
from gan_cli.training.objectives import DISCRIMINATOR, GENERATOR, Loss, Phase
from gan_cli.training.objectives.augment import DiffAugment
from gan_cli.training.objectives.updates import adversarial_loss
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats


def _scores(output) -> tuple[torch.Tensor | None, ...]:
    """D's (conditional, unconditional or None, mismatched or None) logits, as float."""
    return tuple(None if logits is None else logits.float() for logits in output)


class StackGANObjective:
    def __init__(self, state: TrainingState, execution: Execution, loss, stats: RunningStats,
                 kl_weight: float = 2.0, mismatch_weight: float = 0.5, augmentation: bool = True, augment=None):
        self.state, self.execution, self.loss, self.stats = state, execution, loss, stats
        self.augment = augment or (lambda images: images)  # DiffAugment of every image D sees
        self.kl_weight, self.mismatch_weight, self.augmentation = kl_weight, mismatch_weight, augmentation
        self.g_train = execution.for_training(state.generator)
        self.d_train = execution.for_training(state.discriminator)
        self.images_per_step = state.batches.batch_size
        self.batches = {}  # D's update draws each accumulated batch, G's update reuses it
        code = f"conditioning augmentation (KL x {kl_weight:g})" if augmentation else "no conditioning augmentation"
        self.description = f"loss={loss.name}, matching-aware (mismatched pairs x {mismatch_weight:g}), {code}" + (
            f", DiffAugment {augment.policy}" if augment is not None else "")

    def phases(self) -> list[Phase]:
        return [Phase("D", 1, self.d_loss, DISCRIMINATOR, (self.d_train,)),
                Phase("G", 1, self.g_loss, GENERATOR, (self.g_train,))]

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        real, text = self.state.batches.next()
        return self.execution.layout(real), text

    def generate(self, network, text: torch.Tensor):
        z, _ = self.state.latents(len(text))
        images, mean, log_variance = network(z, text, sample=self.augmentation)
        return self.execution.layout(images), mean, log_variance

    def d_loss(self, index: int, batch: int) -> Loss:
        real, text = self.batches[batch] = self.draw()
        with torch.no_grad(), self.execution.autocast():
            fake, mean, _ = self.generate(self.state.generator, text)
        condition, wrong = mean.detach(), mean.detach().roll(1, dims=0)  # the next image's caption
        loss = self.loss
        with self.execution.autocast():
            real_c, real_u, wrong_c = _scores(self.d_train(self.augment(real), condition, wrong))
            fake_c, fake_u, _ = _scores(self.d_train(self.augment(fake), condition))
        mismatched = loss.fake_term(wrong_c)
        if real_u is None:
            d_loss = loss.real_term(real_c) + self.mismatch_weight * (loss.fake_term(fake_c) + mismatched)
        else:
            d_loss = ((loss.real_term(real_c) + loss.real_term(real_u)) / 2
                      + (loss.fake_term(fake_c) + mismatched + loss.fake_term(fake_u)) / 3)
        self._report_d(d_loss, real_c, fake_c, wrong_c, mismatched)
        return Loss(d_loss)

    def g_loss(self, index: int, batch: int) -> Loss:
        _, text = self.batches.pop(batch, None) or self.draw()
        with self.execution.autocast():
            fake, mean, log_variance = self.generate(self.g_train, text)
            fake_c, fake_u, _ = _scores(self.state.discriminator(self.augment(fake), mean.detach()))  # D's condition, as in D's update
            g_loss = self.loss.g_loss(fake_c)
            if fake_u is not None:
                g_loss = g_loss + self.loss.g_loss(fake_u)
        total = g_loss
        if self.augmentation:
            kl = kl_divergence(mean.float(), log_variance.float())
            total = total + self.kl_weight * kl
            self.stats.add("loss/kl", kl)
        self.stats.add("loss/g", g_loss)
        return Loss(total, checked=g_loss)

    def _report_d(self, d_loss, real, fake, wrong, mismatched) -> None:
        self.stats.add("loss/d", d_loss)
        self.stats.add("loss/d_mismatched", mismatched)
        if self.loss.outputs_are_logits_of_probabilities:
            self.stats.add("D/real", torch.sigmoid(real))
            self.stats.add("D/fake", torch.sigmoid(fake))
            self.stats.add("D/mismatched", torch.sigmoid(wrong))


def _weight(value, key: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise UserError(f"{key}={value!r} must be a number of at least 0 ({example}).")
    return float(value)


def from_config(run, state: TrainingState, execution: Execution, stats: RunningStats) -> StackGANObjective:
    model = run.model
    augmentation = model.get("conditioning_augmentation", True)
    if not isinstance(augmentation, bool):
        raise UserError(f"model.conditioning_augmentation={augmentation!r} must be true (the paper) or false "
                        f"(its ablation: the caption's code is its mean, no KL term).")
    policy = run.augment.policy
    return StackGANObjective(state, execution, adversarial_loss(run.loss), stats,
                             augment=DiffAugment(list(policy)) if policy else None,
                             kl_weight=_weight(model.get("kl_weight", 2.0), "model.kl_weight", "the paper: 2.0"),
                             mismatch_weight=_weight(model.get("mismatch_weight", 0.5), "model.mismatch_weight",
                                                     "the paper: 0.5"),
                             augmentation=augmentation)
