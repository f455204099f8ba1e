"""The one training loop: it runs an objective's phases step after step, owns every update, and
calls the hooks that are due (log, sample, evaluate, checkpoint). It knows no GAN family.

An update (`update`): zero the side's gradients; for each of `trainer.accumulate` batches, the
phase's loss, scaled, backward (the other side's networks without parameter gradients; DDP syncs
the gradients on the last batch only); the scaler's step of the side's optimizer; the phase's
weight constraints. After a step's phases: the EMA.

Losses stay on the device: the first NaN, infinite or diverged one (beyond gan_cli.numbers'
DIVERGED_LOSS) is remembered there (no host sync per step) and checked before every log line and
every checkpoint; the weights are checked (finite, and within the bounds no healthy network comes
near) before every checkpoint and evaluation, so no checkpoint holds a diverged model.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Callable

import torch

from gan_cli import distributed
from gan_cli.errors import StopRequested, UserError
from gan_cli.numbers import DIVERGED_LOSS, DIVERGED_VALUE
from gan_cli.runs.checkpoints import HEALTHY, diverged_parts
from gan_cli.training.objectives import DISCRIMINATOR, GENERATOR, Loss, Objective, Phase
from gan_cli.training.signals import stop_on_signal
from gan_cli.training.state import TrainingState


@dataclass
class Hook:
    every: int                        # steps between calls; 0: only at the end / on a stop
    run: Callable[[int], None]        # called with the number of steps done
    at_end: bool = True               # also after the last step
    on_stop: bool = False             # also when a stop was requested (Ctrl-C, SIGTERM)
    needs_finite: bool = False        # only while every loss so far was finite (logs, checkpoints)
    needs_finite_weights: bool = False  # only while the weights are finite too (what a checkpoint saves)

    def due(self, step: int, total: int, stopping: bool) -> bool:
        return bool((self.every and step % self.every == 0) or (self.at_end and step == total)
                    or (self.on_stop and stopping))


class NonFiniteLoss(UserError):
    """A loss or the weights became NaN or infinite, or diverged beyond a sane bound (exit status 3)."""

    exit_code = 3


class FiniteGuard:
    """Remembers, on the device, the first step whose loss was NaN, infinite or beyond DIVERGED_LOSS;
    checks the weights before they are saved (a loss is computed before its update, so an update
    that explodes shows in the weights first): finite, and |weight| within `weight_bound`."""

    def __init__(self, state: TrainingState, device, last_checkpoint: Callable[[], str | None],
                 weight_bound: float = DIVERGED_VALUE):
        self.state, self.device, self.weight_bound = state, device, weight_bound
        self.last_checkpoint = last_checkpoint  # the newest good checkpoint, for the message
        self.first_bad_step = torch.full((), -1, dtype=torch.long, device=device)
        self.first_bad_loss = torch.full((), float("nan"), device=device)

    def record(self, loss: torch.Tensor, step: int) -> None:
        loss = loss.detach().float()
        bad_now = ~(loss.abs() <= DIVERGED_LOSS) & (self.first_bad_step < 0)  # NaN fails the comparison too
        self.first_bad_step = torch.where(bad_now, step, self.first_bad_step)
        self.first_bad_loss = torch.where(bad_now, loss, self.first_bad_loss)

    def check(self, step: int, weights: bool = False) -> None:
        bad = int(distributed.all_reduce_max(self.first_bad_step).item())
        if bad >= 0:
            value = float(self.first_bad_loss.item())  # this rank's: NaN where another rank's loss was the bad one
            what = (f"the model diverged: a loss reached {value:.3g} at step {bad} (checked at step {step}), beyond the "
                    f"±{DIVERGED_LOSS:.0e} that no healthy run comes near" if math.isfinite(value)
                    else f"a loss became NaN or infinite at step {bad} (checked at step {step})")
            raise NonFiniteLoss(f"Training stopped: {what}; {self._advice()}")
        if weights:
            problems = diverged_parts([*self.state.modules(), *self.state.optimizers.items()], self.weight_bound)
            diverged = bool(problems)
            if distributed.world_size() > 1:  # batch-norm statistics differ between ranks: all stop if any must
                diverged = bool(distributed.all_reduce_max(torch.tensor(int(diverged), device=self.device)).item())
            if diverged:
                found = "; ".join(problems) or "another process's running statistics left the sane range"
                raise NonFiniteLoss(f"Training stopped: the model diverged by step {step}: {found} ({HEALTHY}). "
                                    f"No checkpoint of it was written; {self._advice()}")

    def _advice(self) -> str:
        """Where the last good state is, and a command that continues from it more gently."""
        # A tenth of the rate that diverged, and never more than DCGAN's 2e-4 (1e12 / 10 helps nobody).
        rates = " ".join(f"optim.{key.removesuffix('optimizer')}lr={min(optimizer.param_groups[0]['lr'] / 10, 2e-4):.3g}"
                         for key, optimizer in self.state.optimizers.items())
        last = self.last_checkpoint()
        if last:
            return (f"the last good checkpoint is {last}. Continue from it with a lower learning rate, e.g. "
                    f"gan-train resume={last} {rates}, or with a loss that keeps the critic bounded.")
        return (f"no checkpoint had been written yet. Start again with a lower learning rate (e.g. {rates}) "
                f"or a loss that keeps the critic bounded.")


def gradient_sync(wrapped, last: bool):
    """Inside all but the last of accumulated batches, DDP keeps the gradients local (no all-reduce)."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    ddp = getattr(wrapped, "_orig_mod", wrapped)  # a compiled DDP module keeps the DDP one here
    if last or not isinstance(ddp, DDP):
        return contextlib.nullcontext()
    return ddp.no_sync()


@contextlib.contextmanager
def frozen(modules):
    """The modules' parameters take no gradients inside (D while G learns through it)."""
    for module in modules:
        module.requires_grad_(False)
    try:
        yield
    finally:
        for module in modules:
            module.requires_grad_(True)


def update(state: TrainingState, phase: Phase, index: int, accumulate: int = 1) -> torch.Tensor | None:
    """One update of a phase's side from `accumulate` batches' summed gradients; the loss that must
    stay finite (None when the phase made no update this time)."""
    if phase.side is None:
        phase.loss(index, 0)  # bookkeeping (growth, drawing the batch later phases share)
        return None
    optimizer, scaler = state.optimizer_and_scaler(phase.side)
    others = state.side(DISCRIMINATOR) if phase.side == GENERATOR else []
    optimizer.zero_grad(set_to_none=True)
    checked = None
    with frozen(others):
        for batch in range(accumulate):
            with contextlib.ExitStack() as sync:
                for network in phase.trained:
                    sync.enter_context(gradient_sync(network, last=batch == accumulate - 1))
                loss = phase.loss(index, batch)
                if loss is None:
                    return None
                loss = loss if isinstance(loss, Loss) else Loss(loss)
                scaler.scale(loss.total / accumulate).backward()
            part = loss.checked if scaler.is_enabled() and loss.checked is not None else loss.total
            checked = part.detach() if checked is None else checked + part.detach()
    scaler.step(optimizer)
    scaler.update()
    if phase.after_update is not None:
        phase.after_update()
    return checked / accumulate


def training_loop(
    state: TrainingState,                          # advanced in place; state.step counts the steps done
    objective: Objective,                          # the phases of one step
    hooks: list[Hook],                             # run in order after each step they are due
    total_steps: int,
    guard: FiniteGuard,
    before_step: Callable[[int], None] | None = None,  # e.g. the learning-rate schedule
    accumulate: int = 1,                           # batches whose gradients are summed into each update
) -> int:
    """Train until `total_steps`; return the steps done. Raises StopRequested after a requested stop
    (once the hooks due on a stop, the checkpoint among them, have run)."""
    phases = objective.phases()
    flags = distributed.cpu_group()  # the stop flag crosses ranks without a GPU sync
    with stop_on_signal() as stop:
        while state.step < total_steps:
            if before_step is not None:
                before_step(state.step)
            for phase in phases:
                for repeat in range(phase.repeats):
                    loss = update(state, phase, state.step * phase.repeats + repeat, accumulate)
                    if loss is not None:
                        guard.record(loss, state.step + 1)  # 1-based, as logged
            state.update_ema()
            state.step += 1
            stopping = distributed.any_rank(stop.requested, flags)  # every rank stops at the same step
            for hook in hooks:
                if hook.due(state.step, total_steps, stopping):
                    if hook.needs_finite or hook.needs_finite_weights:
                        guard.check(state.step, weights=hook.needs_finite_weights)
                    hook.run(state.step)
            if stopping:
                stop.after_checkpoint()
                raise StopRequested(state.step)
    return state.step
