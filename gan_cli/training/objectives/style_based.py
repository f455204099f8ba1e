"""StyleGAN2 (Karras et al. 2020): the adversarial game of a style-based G, with style mixing and two
lazy regularizers, as the table of phases of the paper's training loop:

    D       loss(D(x), D(G(z)))                       every step
            + R1 gamma/2 ||grad D(x)||^2 x interval    every `regularizers.r1_interval` steps (lazy)
    G       loss_G(D(G(z, z2 mixed at a random layer)))  style mixing with probability mixing_prob
    G_pl    path-length penalty x interval           every `model.path_length_interval` steps (lazy)

The path-length penalty (weight 2) pulls ||J_w^T y|| (the change of the image along random image-space
directions y, per unit change of w) towards its running mean `pl_mean`, which travels in the
checkpoint; lazy regularizers are scaled by their interval so their average strength is unchanged.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.models.capabilities import StyleBased
from gan_cli.training.execution import Execution
from gan_cli.training.objectives import DISCRIMINATOR, GENERATOR, Loss, Phase
from gan_cli.training.objectives.augment import DiffAugment
from gan_cli.training.objectives.regularizers import R1Penalty
from gan_cli.training.objectives.updates import adversarial_loss, report_discriminator
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import check_weight


class MixingGenerator(nn.Module):
    """G's forward with style mixing and its W, as one module call (what DDP wraps and syncs)."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, z, labels=None, mix_z=None, cutoff: int | None = None):
        ws = self.generator.mapping(z, labels, update_w_avg=True)
        if mix_z is not None and cutoff is not None:
            mixed = self.generator.mapping(mix_z, labels, update_w_avg=False)
            ws = torch.cat([ws[:, :cutoff], mixed[:, cutoff:]], dim=1)
        return self.generator.synthesis(ws), ws


class PathLength:
    """The running mean of path lengths (a checkpoint part) and the penalty against it."""

    def __init__(self, weight: float, interval: int, decay: float = 0.01):
        self.weight, self.interval, self.decay = weight, interval, decay
        self.mean = torch.zeros(())

    def penalty(self, images: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
        noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
        (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
        lengths = grad.float().square().sum(2).mean(1).sqrt()
        self.mean = self.mean.to(lengths.device)
        self.mean = self.mean.lerp(lengths.mean().detach(), self.decay)
        return (lengths - self.mean).square().mean() * self.weight * self.interval

    def state_dict(self) -> dict:
        return {"mean": self.mean.detach().cpu()}

    def load_state_dict(self, state: dict | None) -> None:
        if state:
            self.mean = state["mean"].clone()


class StyleGAN2Objective:
    def __init__(self, state: TrainingState, execution: Execution, loss, stats: RunningStats, r1: R1Penalty | None,
                 path_length: PathLength | None, mixing_prob: float = 0.9, augment=None):
        self.state, self.execution, self.loss, self.stats = state, execution, loss, stats
        self.r1, self.path_length, self.mixing_prob = r1, path_length, mixing_prob
        self.augment = augment or (lambda images: images)
        self.g_train = execution.for_training(MixingGenerator(state.generator), eager_because="it is called in parts")
        self.d_train = execution.for_training(state.discriminator,
                                              eager_because="R1 needs a double backward" if r1 else None)
        self.num_ws = state.generator.num_ws
        self.images_per_step = state.batches.batch_size
        self.description = ", ".join([f"loss={loss.name}", f"style mixing {mixing_prob:g}"]
                                     + ([f"R1 {r1.weight:g} every {r1.interval}"] if r1 else [])
                                     + ([f"path length {path_length.weight:g} every {path_length.interval}"]
                                        if path_length else []))

    def phases(self) -> list[Phase]:
        phases = [Phase("D", 1, self.d_loss, DISCRIMINATOR, (self.d_train,)),
                  Phase("G", 1, self.g_loss, GENERATOR, (self.g_train,))]
        return phases + ([Phase("G_pl", 1, self.path_length_loss, GENERATOR, (self.g_train,))]
                         if self.path_length else [])

    def _fakes(self, batch_size: int):
        """(images, ws, labels) from fresh latents, with style mixing at a random layer."""
        z, labels = self.state.latents(batch_size)
        mix_z, cutoff = None, None
        if self.mixing_prob and torch.rand(()).item() < self.mixing_prob:
            mix_z, _ = self.state.latents(batch_size)
            cutoff = int(torch.randint(1, self.num_ws, ()).item())
        images, ws = self.g_train(z, labels, mix_z, cutoff)
        return self.execution.layout(images), ws, labels

    def d_loss(self, index: int, batch: int) -> Loss:
        state = self.state
        real, real_labels = state.batches.next()
        real = self.execution.layout(real)
        with torch.no_grad(), self.execution.autocast():
            fake, _, fake_labels = self._fakes(real.shape[0])
        with self.execution.autocast():
            real_seen = self.augment(real)
            real_logits = self.d_train(real_seen, real_labels if fake_labels is not None else None).float()
            fake_logits = self.d_train(self.augment(fake), fake_labels).float()
            d_loss = self.loss.d_loss(real_logits, fake_logits)
            total = d_loss
            if self.r1 is not None and index % self.r1.interval == 0:
                r1 = self.r1(self.d_train, real_seen, None, real_labels if fake_labels is not None else None,
                             scaler=state.scalers["d_scaler"])
                self.stats.add("loss/r1", r1)
                total = total + r1
        report_discriminator(self.stats, self.loss, d_loss, real_logits, fake_logits)
        return Loss(total, checked=d_loss)

    def g_loss(self, index: int, batch: int) -> Loss:
        state = self.state
        with self.execution.autocast():
            fake, _, labels = self._fakes(state.batches.batch_size)
            g_loss = self.loss.g_loss(state.discriminator(self.augment(fake), labels).float())
        self.stats.add("loss/g", g_loss)
        return Loss(g_loss)

    def path_length_loss(self, index: int, batch: int) -> Loss | None:
        """Every path_length.interval steps: the penalty on half a batch (the paper's pl_batch_shrink 2)."""
        if index % self.path_length.interval:
            return None
        state = self.state
        fake, ws, _ = self._fakes(max(1, state.batches.batch_size // 2))
        penalty = self.path_length.penalty(fake.float(), ws)
        self.stats.add("loss/path_length", penalty)
        self.stats.add("path_length_mean", self.path_length.mean)
        # + 0 x an output pixel: the last layers' biases take part (with a zero gradient), as DDP needs.
        return Loss(penalty + 0 * fake[:, 0, 0, 0].float().sum(), checked=penalty)


def from_config(run, state: TrainingState, execution: Execution, stats: RunningStats) -> StyleGAN2Objective:
    model, regularizers = run.model, run.regularizers
    if not isinstance(state.generator, StyleBased):
        raise UserError(f"model.objective=stylegan2 needs a style-based generator (gan_cli.models.stylegan2.*), "
                        f"but model.generator is {type(state.generator).__name__}.")
    if regularizers.gradient_penalty or regularizers.weight_clip:
        raise UserError("model=stylegan2 regularizes D with R1 (regularizers.r1, lazy every regularizers.r1_interval); "
                        "set regularizers.gradient_penalty=null and regularizers.weight_clip=null.")
    loss = adversarial_loss(run.loss)
    if loss.needs_lipschitz_critic:
        raise UserError(f"loss={loss.name} needs a Lipschitz critic, which StyleGAN2's R1 does not give; use loss=bce "
                        f"(the paper's logistic loss), lsgan or hinge.")
    r1 = R1Penalty(regularizers.r1, regularizers.r1_interval) if regularizers.r1 else None
    weight = check_weight(model.path_length_weight, "model.path_length_weight")
    interval = model.path_length_interval
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise UserError(f"model.path_length_interval={interval!r} must be a positive whole number of steps (4 in the paper).")
    path_length = PathLength(weight, interval) if weight else None
    if path_length is not None:
        state.extras["path_length"] = path_length
    mixing = check_weight(model.mixing_prob, "model.mixing_prob")
    if mixing > 1:
        raise UserError(f"model.mixing_prob={mixing:g} must be a probability in [0, 1] (0.9 in the paper).")
    # The path-length penalty is an update of its own (G_pl), so G's rate and betas are corrected; R1
    # joins D's regular update, which adds no update to correct for.
    lazy_optimizer(state.g_optimizer, path_length.interval if path_length else None)
    policy = run.augment.policy
    return StyleGAN2Objective(state, execution, loss, stats, r1, path_length, mixing,
                              DiffAugment(list(policy)) if policy else None)


def lazy_optimizer(optimizer: torch.optim.Optimizer, interval: int | None) -> None:
    """The paper's correction for a regularizer run every `interval` steps as an extra update: the
    learning rate x c and the betas ^ c, c = interval / (interval + 1). (A resumed run's optimizer
    state brings the same values back.)"""
    if not interval or interval == 1:
        return
    ratio = interval / (interval + 1)
    for group in optimizer.param_groups:
        group["lr"] *= ratio
        if "betas" in group:
            group["betas"] = tuple(beta ** ratio for beta in group["betas"])
