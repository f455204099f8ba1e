"""The one training loop: it runs an objective's phases step after step and calls the hooks that
are due (log, sample, evaluate, checkpoint). It knows no GAN family.

Losses stay on the device: the first non-finite one is remembered there (no host sync per step)
and checked before every log line and every checkpoint, so no checkpoint holds a diverged model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from gan_cli import distributed
from gan_cli.errors import StopRequested, UserError
from gan_cli.training.objectives import Objective
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
    exit_code = 3


class FiniteGuard:
    """Remembers, on the device, the first step whose loss was NaN or infinite; checks the weights
    before they are saved (a loss is computed before its update, so an update that overflows shows
    in the weights first)."""

    def __init__(self, state: TrainingState, device, last_checkpoint: Callable[[], str | None]):
        self.state, self.device = state, device
        self.last_checkpoint = last_checkpoint  # the newest good checkpoint, for the message
        self.first_bad_step = torch.full((), -1, dtype=torch.long, device=device)

    def record(self, loss: torch.Tensor, step: int) -> None:
        bad_now = ~torch.isfinite(loss.detach()) & (self.first_bad_step < 0)
        self.first_bad_step = torch.where(bad_now, step, self.first_bad_step)

    def check(self, step: int, weights: bool = False) -> None:
        bad = int(distributed.all_reduce_max(self.first_bad_step).item())
        if bad >= 0:
            raise NonFiniteLoss(f"Training stopped: a loss became NaN or infinite at step {bad} (checked at step "
                                f"{step}); {self._advice()}")
        if weights:
            diverged = [name for name, module in self.state.modules() if not _all_finite(module)]
            if diverged:
                raise NonFiniteLoss(f"Training stopped: the weights of the {' and '.join(diverged)} became NaN or "
                                    f"infinite by step {step}, so no checkpoint was written; {self._advice()}")

    def _advice(self) -> str:
        """Where the last good state is, and a command that continues from it more gently."""
        rates = " ".join(f"optim.{key.removesuffix('optimizer')}lr={optimizer.param_groups[0]['lr'] / 10:.3g}"
                         for key, optimizer in self.state.optimizers.items())
        last = self.last_checkpoint()
        if last:
            return (f"the last good checkpoint is {last}. Continue from it with a lower learning rate, e.g. "
                    f"gan-train resume={last} {rates}, or with a loss that keeps the critic bounded.")
        return (f"no checkpoint had been written yet. Start again with a lower learning rate (e.g. {rates}) "
                f"or a loss that keeps the critic bounded.")


@torch.no_grad()
def _all_finite(module: torch.nn.Module) -> bool:
    """One host sync: every floating-point parameter and buffer is finite."""
    flags = [torch.isfinite(t).all() for t in module.state_dict().values() if t.is_floating_point()]
    return not flags or bool(torch.stack(flags).all())


def training_loop(
    state: TrainingState,                          # advanced in place; state.step counts the steps done
    objective: Objective,                          # the phases of one step
    hooks: list[Hook],                             # run in order after each step they are due
    total_steps: int,
    guard: FiniteGuard,
    before_step: Callable[[int], None] | None = None,  # e.g. the learning-rate schedule
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
                    loss = phase.update(state.step * phase.repeats + repeat)
                    guard.record(loss, state.step + 1)  # 1-based, as logged
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
