"""The one training loop. A GAN step is a table of phases: D (n_critic times), then G.

Variants differ only in data: the loss object, its penalties and constraints, n_critic. Statistics
stay on the device and are reduced once per log interval; non-finite losses are tracked on the
device too and checked at every log line and before every checkpoint, so no checkpoint ever holds
a diverged model.
"""

from __future__ import annotations

import contextlib
import signal
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn

from gan_cli import distributed
from gan_cli.auxiliary import objective_terms, split_output
from gan_cli.ema import update_ema
from gan_cli.errors import UserError
from gan_cli.latents import LatentSampler
from gan_cli.losses import GANLoss
from gan_cli.precision import autocast
from gan_cli.run_log import RunLog
from gan_cli.stats import RunningStats


@dataclass
class GAN:
    generator: nn.Module           # the plain G (its weights are what checkpoints hold)
    discriminator: nn.Module       # the plain D
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    loss: GANLoss
    latents: LatentSampler
    g_train: nn.Module | None = None   # G as the training step calls it (DDP-wrapped and/or compiled)
    d_train: nn.Module | None = None   # D likewise
    ema: nn.Module | None = None   # moving average of G, used for samples when present
    ema_decay: float = 0.999
    penalties: list = field(default_factory=list)    # added to D's loss
    constraints: list = field(default_factory=list)  # applied to D's weights after its step
    precision: str = "32"
    g_scaler: torch.amp.GradScaler | None = None
    d_scaler: torch.amp.GradScaler | None = None
    channels_last: bool = False
    conditional: bool = False          # G and D take class labels
    auxiliary: object | None = None    # ACGAN / InfoGAN objective on D's extra heads
    augment: Callable | None = None    # DiffAugment, applied to everything D sees

    def __post_init__(self):
        self.g_train = self.generator if self.g_train is None else self.g_train
        self.d_train = self.discriminator if self.d_train is None else self.d_train
        self.g_scaler = torch.amp.GradScaler(enabled=False) if self.g_scaler is None else self.g_scaler
        self.d_scaler = torch.amp.GradScaler(enabled=False) if self.d_scaler is None else self.d_scaler

    @property
    def sampler(self) -> nn.Module:
        return self.ema if self.ema is not None else self.generator


@dataclass
class Phase:
    name: str
    repeats: int                        # times per step (n_critic for D)
    run: Callable[[int], torch.Tensor]  # one update (given the update's index, for lazy penalties);
                                        # returns its main loss for the finiteness check


class NonFiniteLoss(UserError):
    exit_code = 3


class StopRequested(Exception):
    """Raised at a step boundary after Ctrl-C or SIGTERM, once the checkpoint is written."""


@contextlib.contextmanager
def stop_on_signal():
    """First Ctrl-C/SIGTERM: finish the step, checkpoint, stop. A second Ctrl-C stops at once.

    SIGUSR2 (the warning submitit/SLURM sends before a time limit or preemption) stops the same
    way; once the checkpoint is written, `flag["after_checkpoint"]()` hands the signal to the
    handler that was there before (submitit's, which requeues the job).
    """
    flag = {"stop": False, "after_checkpoint": lambda: None}
    previous = {}

    def request_stop(signum, frame):
        if flag["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag["stop"] = True
        handler = previous.get(signum)
        if signum == signal.SIGUSR2 and callable(handler):
            flag["after_checkpoint"] = lambda: handler(signum, frame)

    with contextlib.suppress(ValueError):  # not the main thread: no handlers, no graceful stop
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2):
            previous[sig] = signal.signal(sig, request_stop)
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def build_phases(gan: GAN, batches, stats: RunningStats, n_critic: int) -> list[Phase]:
    """The D and G updates of one step."""
    loss, auxiliary = gan.loss, gan.auxiliary
    device = next(gan.generator.parameters()).device
    augment = gan.augment or (lambda images: images)

    def d_update(d_iteration: int) -> torch.Tensor:
        real, real_labels = batches.next()
        if gan.channels_last and real.ndim == 4:
            real = real.contiguous(memory_format=torch.channels_last)
        z, fake_labels = gan.latents(real.shape[0])
        d_real_labels = real_labels if gan.conditional else None
        with torch.no_grad(), autocast(gan.precision, device):
            fake = gan.generator(z, fake_labels)
        with autocast(gan.precision, device):
            real_seen, fake_seen = augment(real), augment(fake)
            real_logits, real_extras = split_output(gan.d_train(real_seen, d_real_labels))
            fake_logits, fake_extras = split_output(gan.d_train(fake_seen, fake_labels))
            real_logits, fake_logits = real_logits.float(), fake_logits.float()
            d_loss = loss.d_loss(real_logits, fake_logits)
            total = d_loss
            if auxiliary is not None:
                terms = auxiliary.d_term(real_extras, fake_extras, real_labels, fake_labels, z)
                total = total + objective_terms(terms)
                for key, value in terms.items():
                    stats.add(key, value)
            for penalty in gan.penalties:
                if d_iteration % penalty.interval == 0:
                    value = penalty(gan.d_train, real_seen, fake_seen, d_real_labels, scaler=gan.d_scaler)
                    stats.add(f"loss/{penalty.name}", value)
                    total = total + value
        gan.d_optimizer.zero_grad(set_to_none=True)
        gan.d_scaler.scale(total).backward()
        gan.d_scaler.step(gan.d_optimizer)
        gan.d_scaler.update()
        for constraint in gan.constraints:
            constraint(gan.discriminator)
        stats.add("loss/d", d_loss)
        if loss.outputs_are_logits_of_probabilities:
            stats.add("D/real", torch.sigmoid(real_logits))
            stats.add("D/fake", torch.sigmoid(fake_logits))
        else:
            stats.add("D/real", real_logits)
            stats.add("D/fake", fake_logits)
        if loss.needs_lipschitz_critic:
            stats.add("wasserstein_estimate", real_logits.mean() - fake_logits.mean())
        # Under fp16 a penalty's input gradient may overflow for a step; the scaler then skips the
        # step and lowers its scale, so only the adversarial loss itself must stay finite.
        return d_loss if gan.d_scaler.is_enabled() else total

    def g_update(g_iteration: int) -> torch.Tensor:
        # D is only a function here: the plain module (no DDP hooks) and no parameter gradients.
        gan.discriminator.requires_grad_(False)
        with autocast(gan.precision, device):
            z, fake_labels = gan.latents(batches.batch_size)
            fake = gan.g_train(z, fake_labels)
            fake_logits, fake_extras = split_output(gan.discriminator(augment(fake), fake_labels))
            g_loss = loss.g_loss(fake_logits.float())
            total = g_loss
            if auxiliary is not None:
                terms = auxiliary.g_term(fake_extras, fake_labels, z)
                total = total + objective_terms(terms)
                for key, value in terms.items():
                    stats.add(key, value)
        gan.g_optimizer.zero_grad(set_to_none=True)
        gan.g_scaler.scale(total).backward()
        gan.g_scaler.step(gan.g_optimizer)
        gan.g_scaler.update()
        gan.discriminator.requires_grad_(True)
        if gan.ema is not None:
            update_ema(gan.ema, gan.generator, gan.ema_decay)
        stats.add("loss/g", g_loss)
        return total

    return [Phase("D", n_critic, d_update), Phase("G", 1, g_update)]


def training_loop(
    gan: GAN,
    batches,                                   # .next() -> (images, labels) on the device; .batch_size
    trainer,                                   # the trainer config (steps, n_critic, intervals)
    run_log: RunLog,
    save_checkpoint: Callable[[int], object],  # writes a checkpoint of the state after `step` steps
    last_checkpoint: Callable[[], str | None], # the newest good checkpoint, for error messages
    start_step: int = 0,
    fixed_noise: torch.Tensor | None = None,   # latents of the sample grid
    fixed_labels: torch.Tensor | None = None,  # their classes, for a conditional model (a row per class)
    real_preview: torch.Tensor | None = None,  # real data drawn beside 2-D samples
    evaluate: Callable[[int], None] | None = None,  # sample-quality metrics after `step` steps (every rank)
    eval_every: int = 0,
    lr_factor: Callable[[int], float] | None = None,  # step -> factor on the configured learning rates
) -> dict[str, float]:
    stats = RunningStats()
    phases = build_phases(gan, batches, stats, trainer.n_critic)
    device = fixed_noise.device
    save_checkpoints = trainer.get("save_checkpoints", True)
    # Step of the first non-finite loss, kept on the device (-1: none yet) to avoid a sync per step.
    first_bad_step = torch.full((), -1, dtype=torch.long, device=device)
    images_per_step = batches.batch_size * distributed.world_size() * trainer.n_critic
    last_values: dict[str, float] = {}
    clock, clock_step, started = time.perf_counter(), start_step, time.perf_counter()

    def check_finite(step: int) -> None:
        bad = int(distributed.all_reduce_max(first_bad_step).item())
        if bad >= 0:
            last = last_checkpoint()
            where = f"the last good checkpoint is {last}" if last else "no checkpoint had been written yet"
            raise NonFiniteLoss(
                f"Training stopped: a loss became NaN or infinite at step {bad} (checked at step {step}); "
                f"{where}. Lower the learning rate (optim.lr), use a loss with a bounded critic, or resume "
                f"from the checkpoint with different settings."
            )

    def sample_grid(step: int) -> None:
        if not distributed.is_main():
            return
        sampler = gan.sampler
        was_training = sampler.training
        sampler.eval()
        with torch.no_grad():
            fake = sampler(fixed_noise, fixed_labels)
        sampler.train(was_training)
        rows = int(fixed_labels.max()) + 1 if fixed_labels is not None else None
        run_log.samples(fake, step, real_preview, rows=rows)

    base_lrs = [[group["lr"] for group in opt.param_groups] for opt in (gan.g_optimizer, gan.d_optimizer)]

    def set_learning_rates(step: int) -> None:
        factor = lr_factor(step)
        for optimizer, lrs in zip((gan.g_optimizer, gan.d_optimizer), base_lrs):
            for group, lr in zip(optimizer.param_groups, lrs):
                group["lr"] = lr * factor

    step = start_step
    with stop_on_signal() as stop:
        while step < trainer.steps:
            if lr_factor is not None:
                set_learning_rates(step)
            for phase in phases:
                for repeat in range(phase.repeats):
                    value = phase.run(step * phase.repeats + repeat)
                    bad_now = ~torch.isfinite(value.detach()) & (first_bad_step < 0)
                    first_bad_step = torch.where(bad_now, step + 1, first_bad_step)  # 1-based, as logged
            step += 1

            if step % trainer.log_every == 0 or step == trainer.steps:
                check_finite(step)
                now = time.perf_counter()
                values = stats.flush()
                values["speed/images_per_sec"] = (step - clock_step) * images_per_step / max(now - clock, 1e-9)
                values["lr/g"] = gan.g_optimizer.param_groups[0]["lr"]
                values["lr/d"] = gan.d_optimizer.param_groups[0]["lr"]
                run_log.scalars(values, step)
                run_log.info(progress_line(step, trainer.steps, values, now - started, start_step))
                last_values, clock, clock_step = values, now, step
            if step % trainer.sample_every == 0 or step == trainer.steps:
                sample_grid(step)
            if evaluate is not None and eval_every and (step % eval_every == 0 or step == trainer.steps):
                evaluate(step)
            stop_now = stop_requested_anywhere(stop["stop"], device)
            if save_checkpoints and (step % trainer.checkpoint_every == 0 or step == trainer.steps or stop_now):
                check_finite(step)
                save_checkpoint(step)
            if stop_now:
                stop["after_checkpoint"]()
                raise StopRequested(step)
    return {**last_values, "step": step}


def stop_requested_anywhere(local: bool, device) -> bool:
    """Every rank must stop at the same step: one small all-reduce of the flag per step under DDP."""
    if distributed.world_size() == 1:
        return local
    flag = torch.tensor([1.0 if local else 0.0], device=device)
    return bool(distributed.all_reduce_max(flag).item() > 0)


def progress_line(step: int, total: int, values: dict[str, float], elapsed: float, start_step: int) -> str:
    parts = [f"step {step}/{total}"]
    for key, label in (("loss/d", "d_loss"), ("loss/g", "g_loss"), ("D/real", "D(x)"), ("D/fake", "D(G(z))"),
                       ("loss/gradient_penalty", "gp"), ("wasserstein_estimate", "W")):
        if key in values:
            parts.append(f"{label} {values[key]:.4f}")
    parts.append(f"{values['speed/images_per_sec']:.0f} img/s")
    done = step - start_step
    if done:
        remaining = elapsed / done * (total - step)
        parts.append(f"eta {int(remaining // 60)}m{int(remaining % 60):02d}s")
    return " | ".join(parts)
