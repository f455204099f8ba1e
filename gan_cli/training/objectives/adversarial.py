"""The z -> image family: D learns to tell real from generated images, G to fool it.

One step is D's update `n_critic` times (each on a fresh real batch and fresh latents), then G's;
the objective gives each update's loss, and the loop makes the update (gradients, scaler, optimizer,
trainer.accumulate, the EMA).
Variants differ in data only: the loss, D's penalties and weight constraints, an auxiliary head's
terms (ACGAN, InfoGAN), class conditioning, DiffAugment. Every statistic is reported here, where
it is computed, and stays on the device until the log interval.
"""

from __future__ import annotations

import torch

from gan_cli.registry import build
from gan_cli.training.execution import Execution, has_spectral_norm
from gan_cli.training.objectives import DISCRIMINATOR, GENERATOR, Loss, Phase
from gan_cli.training.objectives.augment import DiffAugment
from gan_cli.training.objectives.auxiliary import objective_terms, split_output
from gan_cli.training.objectives.losses import GANLoss
from gan_cli.training.objectives.regularizers import (
    build_generator_regularizers,
    build_regularizers,
)
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import check_codes, check_critic, check_labels


class AdversarialObjective:
    def __init__(
        self,
        state: TrainingState,        # G, D, their optimizers and scalers, the EMA, latents, batches
        execution: Execution,        # device, precision, memory format, DDP/compile wrappers
        loss: GANLoss,
        stats: RunningStats,
        n_critic: int = 1,           # D updates per G update
        penalties=(),                # added to D's loss (gradient penalty, R1)
        constraints=(),              # applied to D's weights after its update (weight clipping)
        auxiliary=None,              # ACGAN / InfoGAN terms on D's extra heads
        augment=None,                # DiffAugment on everything D sees
        conditional: bool = False,   # G and D take class labels
        g_penalties=(),              # added to G's loss (BigGAN's orthogonal regularization)
    ):
        self.state, self.execution, self.loss, self.stats = state, execution, loss, stats
        self.n_critic, self.penalties, self.constraints = n_critic, list(penalties), list(constraints)
        self.g_penalties = list(g_penalties)
        self.auxiliary, self.conditional = auxiliary, conditional
        self.augment = augment or (lambda images: images)
        self.prepare_real = lambda images: images  # ProGAN fades the reals during a fade-in
        self.prepare_seen = lambda images: images  # ProGAN: D's inputs at the resolution it works at
        # G and D as the step calls them (DDP-wrapped and/or compiled); checkpoints hold the plain modules.
        self.g_train = execution.for_training(state.generator)
        self.d_train = execution.for_training(state.discriminator, eager_because=self._eager_discriminator())
        self.images_per_step = state.batches.batch_size * n_critic
        parts = self.penalties + self.constraints + self.g_penalties
        self.description = ", ".join([f"loss={loss.name}", *(part.name for part in parts)])

    def _eager_discriminator(self) -> str | None:
        """Why D cannot be compiled here, if it cannot (see README, "Fast settings")."""
        if self.penalties:
            return "its penalty needs a double backward, which torch.compile does not support"
        if has_spectral_norm(self.state.discriminator):
            return ("spectral norm updates its power-iteration vectors in place at every call, and a compiled D "
                    "called on real and fake batches before one backward cannot keep them for the gradient")
        return None

    def phases(self) -> list[Phase]:
        return [Phase("D", self.n_critic, self.d_loss, DISCRIMINATOR, (self.d_train,), self.constrain),
                Phase("G", 1, self.g_loss, GENERATOR, (self.g_train,))]

    def constrain(self) -> None:
        for constraint in self.constraints:
            constraint(self.state.discriminator)

    def d_loss(self, index: int, batch: int) -> Loss:
        """D's loss on a real batch and a generated one."""
        state, execution = self.state, self.execution
        real, real_labels = state.batches.next()
        real = execution.layout(self.prepare_seen(self.prepare_real(real)))
        z, fake_labels = state.latents(real.shape[0])
        with torch.no_grad(), execution.autocast():
            # One memory format at the boundary of a compiled D, whatever G's last layer returns.
            fake = execution.layout(self.prepare_seen(state.generator(z, fake_labels)))
        with execution.autocast():
            d_loss, total, real_logits, fake_logits = self._d_losses(index, real, real_labels, fake, z, fake_labels)
        self._report_d(d_loss, real_logits, fake_logits)
        # Under fp16 a penalty's input gradient may overflow for a step; the scaler then skips the
        # step and lowers its scale, so only the adversarial loss itself must stay finite.
        return Loss(total, checked=d_loss)

    def _d_losses(self, index, real, real_labels, fake, z, fake_labels):
        """(adversarial loss, total loss, real logits, fake logits) of one D update."""
        d_real_labels = real_labels if self.conditional else None
        real_seen, fake_seen = self.augment(real), self.augment(fake)
        real_logits, real_extras = split_output(self.d_train(real_seen, d_real_labels))
        fake_logits, fake_extras = split_output(self.d_train(fake_seen, fake_labels))
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        d_loss = self.loss.d_loss(real_logits, fake_logits)
        total = d_loss
        if self.auxiliary is not None:
            terms = self.auxiliary.d_term(real_extras, fake_extras, real_labels, fake_labels, z)
            total = total + objective_terms(terms)
            self._report_all(terms)
        for penalty in self.penalties:
            if penalty.on_real_logits:  # ProGAN's drift: computed from D's real scores
                value = penalty(real_logits)
            elif index % penalty.interval == 0:
                value = penalty(self.d_train, real_seen, fake_seen, d_real_labels, scaler=self.state.scalers["d_scaler"])
            else:
                continue
            self.stats.add(f"loss/{penalty.name}", value)
            total = total + value
        return d_loss, total, real_logits, fake_logits

    def g_loss(self, index: int, batch: int) -> Loss:
        """G's loss through D (the plain module: no DDP hooks) on one batch of latents."""
        state = self.state
        with self.execution.autocast():
            z, fake_labels = state.latents(state.batches.batch_size)
            fake = self.execution.layout(self.prepare_seen(self.g_train(z, fake_labels)))
            fake_logits, fake_extras = split_output(state.discriminator(self.augment(fake), fake_labels))
            g_loss = self.loss.g_loss(fake_logits.float())
            total = g_loss
            if self.auxiliary is not None:
                terms = self.auxiliary.g_term(fake_extras, fake_labels, z)
                total = total + objective_terms(terms)
                self._report_all(terms)
        for penalty in self.g_penalties:
            value = penalty(state.generator)
            self.stats.add(f"loss/{penalty.name}", value)
            total = total + value
        self.stats.add("loss/g", g_loss)
        return Loss(total)

    def _report_d(self, d_loss, real_logits, fake_logits) -> None:
        self.stats.add("loss/d", d_loss)
        as_probability = torch.sigmoid if self.loss.outputs_are_logits_of_probabilities else (lambda x: x)
        self.stats.add("D/real", as_probability(real_logits))
        self.stats.add("D/fake", as_probability(fake_logits))
        if self.loss.needs_lipschitz_critic:
            self.stats.add("wasserstein_estimate", real_logits.mean() - fake_logits.mean())

    def _report_all(self, terms: dict) -> None:
        for key, value in terms.items():
            self.stats.add(key, value)


def from_config(run, state: TrainingState, execution: Execution, stats: RunningStats) -> AdversarialObjective:
    """The objective of the run (model.objective's target: loss, regularizers, auxiliary, augment)."""
    model = run.model
    loss = build(run.loss, "loss")
    penalties, constraints = build_regularizers(run.regularizers)
    g_penalties = build_generator_regularizers(run.regularizers)
    auxiliary = build(model.auxiliary, "model.auxiliary") if model.auxiliary is not None else None
    check_critic(model, state.discriminator, loss, penalties, constraints)
    check_labels(model, run.data.config, bool(model.conditional), auxiliary)
    check_codes(model, auxiliary)
    policy = run.augment.policy
    return AdversarialObjective(
        state, execution, loss, stats, n_critic=run.trainer.n_critic, penalties=penalties,
        constraints=constraints, auxiliary=auxiliary, augment=DiffAugment(list(policy)) if policy else None,
        conditional=bool(model.conditional), g_penalties=g_penalties,
    )
