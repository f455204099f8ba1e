"""Learning-rate schedules as plain functions of the step (nothing to checkpoint: a resumed run
recomputes the same rate).

    optim.schedule=constant                 # the default
    optim.schedule=linear optim.decay_start=0.5   # constant, then linearly to 0 over the last half
                                                  # (the SNGAN / BigGAN-style decay)
    optim.schedule_steps=N                  # the span of the schedule (default trainer.steps), so a run
                                            # stopped early and resumed follows the same rates
"""

from __future__ import annotations

from typing import Callable

from gan_cli.errors import UserError

SCHEDULES = ("constant", "linear")


def lr_factor(optim_cfg, total_steps: int) -> Callable[[int], float]:
    """step (0-based, the step about to run) -> the factor on every configured learning rate."""
    schedule = optim_cfg.get("schedule") or "constant"
    if schedule not in SCHEDULES:
        raise UserError(f"optim.schedule={schedule!r} is not a schedule; choose from {', '.join(SCHEDULES)}.")
    if schedule == "constant":
        return lambda step: 1.0
    start = optim_cfg.get("decay_start", 0.0)
    if isinstance(start, bool) or not isinstance(start, (int, float)) or not 0 <= start < 1:
        raise UserError(f"optim.decay_start={start!r} must be the fraction of trainer.steps after which the "
                        f"learning rate starts to fall: a number in [0, 1).")
    total_steps = optim_cfg.get("schedule_steps") or total_steps
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise UserError(f"optim.schedule_steps={total_steps!r} must be a positive whole number of steps "
                        f"(by default trainer.steps).")
    first = int(start * total_steps)

    def linear(step: int) -> float:
        if step < first:
            return 1.0
        return max(0.0, (total_steps - step) / max(1, total_steps - first))

    return linear
