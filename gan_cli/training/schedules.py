"""Learning-rate schedules as plain functions of the step (nothing to checkpoint: a resumed run
recomputes the same rate).

    optim.schedule=constant                 # the default
    optim.schedule=linear optim.decay_start=0.5   # constant, then linearly to 0 over the last half
                                                  # (the SNGAN / BigGAN-style decay)
    optim.schedule_steps=N                  # the span of the schedule (default trainer.steps), so a run
                                            # stopped early and resumed follows the same rates
    optim.schedule=exponential optim.decay_per_epoch=0.999   # x 0.999 after every pass over the training
                                                  # set (HiFi-GAN's ExponentialLR stepped per epoch)
    optim.schedule=step optim.decay_every_epochs=20 optim.decay_factor=0.5   # halved every 20 passes
                                                  # (StackGAN's lr_decay_epochs)
"""

from __future__ import annotations

from typing import Callable

from gan_cli.errors import UserError

SCHEDULES = ("constant", "linear", "exponential", "step")


def lr_factor(optim_cfg, total_steps: int, steps_per_epoch: int = 1) -> Callable[[int], float]:
    """The schedule an optim config (conf/optim/*.yaml) sets, over a run of total_steps (steps_per_epoch:
    the steps of one pass over the training set, for the exponential schedule)."""
    if (optim_cfg.schedule or "constant") == "exponential":
        return exponential_factor(optim_cfg.get("decay_per_epoch"), steps_per_epoch)
    if optim_cfg.schedule == "step":
        return step_factor(optim_cfg.get("decay_every_epochs"), optim_cfg.get("decay_factor", 0.5), steps_per_epoch)
    return schedule_factor(optim_cfg.schedule, optim_cfg.decay_start, optim_cfg.schedule_steps, total_steps)


def exponential_factor(decay, steps_per_epoch: int) -> Callable[[int], float]:
    """decay ** (epochs done): the rate falls once per pass over the training set."""
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
        raise UserError(f"optim.decay_per_epoch={decay!r} must be the factor on the learning rate after each pass "
                        f"over the training set: a number in (0, 1] (HiFi-GAN: 0.999; add it with "
                        f"+optim.decay_per_epoch=0.999 where the optimizer config has none).")
    steps_per_epoch = max(1, int(steps_per_epoch))
    return lambda step: float(decay) ** (step // steps_per_epoch)


def step_factor(every, factor, steps_per_epoch: int) -> Callable[[int], float]:
    """factor ** (whole `every`-epoch spans done): StackGAN halves its rates every lr_decay_epochs passes."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise UserError(f"optim.decay_every_epochs={every!r} must be a positive whole number of passes over the "
                        f"training set after which the learning rate is multiplied by optim.decay_factor "
                        f"(StackGAN: model.lr_decay_epochs, 20 passes on CUB).")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= 1:
        raise UserError(f"optim.decay_factor={factor!r} must be a number in (0, 1] (StackGAN: 0.5, halving).")
    span = max(1, int(steps_per_epoch)) * every
    return lambda step: float(factor) ** (step // span)


def schedule_factor(schedule: str | None, decay_start: float, schedule_steps: int | None,
                    total_steps: int) -> Callable[[int], float]:
    """step (0-based, the step about to run) -> the factor on every configured learning rate."""
    schedule = schedule or "constant"
    if schedule not in SCHEDULES:
        raise UserError(f"optim.schedule={schedule!r} is not a schedule; choose from {', '.join(SCHEDULES)}.")
    if schedule == "constant":
        return lambda step: 1.0
    start = decay_start
    if isinstance(start, bool) or not isinstance(start, (int, float)) or not 0 <= start < 1:
        raise UserError(f"optim.decay_start={start!r} must be the fraction of trainer.steps after which the "
                        f"learning rate starts to fall: a number in [0, 1).")
    total_steps = schedule_steps or total_steps
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise UserError(f"optim.schedule_steps={total_steps!r} must be a positive whole number of steps "
                        f"(by default trainer.steps).")
    first = int(start * total_steps)

    def linear(step: int) -> float:
        if step < first:
            return 1.0
        return max(0.0, (total_steps - step) / max(1, total_steps - first))

    return linear


class LearningRateSchedule:
    """Sets every optimizer's learning rates to the configured ones times factor(step), before each step."""

    def __init__(self, factor: Callable[[int], float], optimizers):
        self.factor = factor
        self.optimizers = list(optimizers)
        self.base_lrs = [[group["lr"] for group in optimizer.param_groups] for optimizer in self.optimizers]

    def __call__(self, step: int) -> None:
        factor = self.factor(step)
        # param_groups is looked up each time: an optimizer's load_state_dict replaces its groups.
        for optimizer, base_lrs in zip(self.optimizers, self.base_lrs):
            for group, base_lr in zip(optimizer.param_groups, base_lrs):
                group["lr"] = base_lr * factor
