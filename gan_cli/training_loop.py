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
from gan_cli.ema import update_ema
from gan_cli.errors import UserError
from gan_cli.losses import GANLoss
from gan_cli.run_log import RunLog
from gan_cli.stats import RunningStats


@dataclass
class GAN:
    generator: nn.Module           # the module G's training step calls (DDP-wrapped under DDP)
    discriminator: nn.Module       # the module D's training step calls (DDP-wrapped under DDP)
    g_optimizer: torch.optim.Optimizer
    d_optimizer: torch.optim.Optimizer
    loss: GANLoss
    latent_dim: int
    ema: nn.Module | None = None   # moving average of G, used for samples when present
    ema_decay: float = 0.999
    penalties: list = field(default_factory=list)    # added to D's loss
    constraints: list = field(default_factory=list)  # applied to D's weights after its step

    @property
    def raw_generator(self) -> nn.Module:
        return getattr(self.generator, "module", self.generator)

    @property
    def raw_discriminator(self) -> nn.Module:
        return getattr(self.discriminator, "module", self.discriminator)

    @property
    def sampler(self) -> nn.Module:
        return self.ema if self.ema is not None else self.raw_generator


@dataclass
class Phase:
    name: str
    repeats: int                    # times per step (n_critic for D)
    run: Callable[[int], torch.Tensor]  # one update; returns its main loss for the finiteness check


class NonFiniteLoss(UserError):
    exit_code = 3


class StopRequested(Exception):
    """Raised at a step boundary after Ctrl-C or SIGTERM, once the checkpoint is written."""


@contextlib.contextmanager
def stop_on_signal():
    """First Ctrl-C/SIGTERM: finish the step, checkpoint, stop. A second Ctrl-C stops at once."""
    flag = {"stop": False}

    def request_stop(signum, frame):
        if flag["stop"] and signum == signal.SIGINT:
            raise KeyboardInterrupt
        flag["stop"] = True

    previous = {}
    with contextlib.suppress(ValueError):  # not the main thread: no handlers, no graceful stop
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, request_stop)
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def latents(batch: int, dim: int, device) -> torch.Tensor:
    return torch.randn(batch, dim, device=device)


def build_phases(gan: GAN, batches, stats: RunningStats, n_critic: int) -> list[Phase]:
    """The D and G updates of one step."""
    loss = gan.loss
    D, G = gan.discriminator, gan.generator

    def d_update(step: int) -> torch.Tensor:
        real, labels = batches.next()
        with torch.no_grad():
            fake = gan.raw_generator(latents(real.shape[0], gan.latent_dim, real.device))
        real_logits, fake_logits = D(real), D(fake)
        d_loss = loss.d_loss(real_logits, fake_logits)
        total = d_loss
        for penalty in gan.penalties:
            value = penalty(gan.discriminator, real, fake)
            stats.add(f"loss/{penalty.name}", value)
            total = total + value
        gan.d_optimizer.zero_grad(set_to_none=True)
        total.backward()
        gan.d_optimizer.step()
        for constraint in gan.constraints:
            constraint(gan.raw_discriminator)
        stats.add("loss/d", d_loss)
        if loss.outputs_are_logits_of_probabilities:
            stats.add("D/real", torch.sigmoid(real_logits))
            stats.add("D/fake", torch.sigmoid(fake_logits))
        else:
            stats.add("D/real", real_logits)
            stats.add("D/fake", fake_logits)
        if loss.needs_lipschitz_critic:
            stats.add("wasserstein_estimate", real_logits.mean() - fake_logits.mean())
        return total

    def g_update(step: int) -> torch.Tensor:
        batch = batches.batch_size
        fake = G(latents(batch, gan.latent_dim, next(gan.raw_generator.parameters()).device))
        # D is only a function here: its raw module (no DDP hooks) and no parameter gradients.
        raw_d = gan.raw_discriminator
        raw_d.requires_grad_(False)
        g_loss = loss.g_loss(raw_d(fake))
        gan.g_optimizer.zero_grad(set_to_none=True)
        g_loss.backward()
        gan.g_optimizer.step()
        raw_d.requires_grad_(True)
        if gan.ema is not None:
            update_ema(gan.ema, gan.raw_generator, gan.ema_decay)
        stats.add("loss/g", g_loss)
        return g_loss

    return [Phase("D", n_critic, d_update), Phase("G", 1, g_update)]


def training_loop(
    gan: GAN,
    batches,                                   # .next() -> (images, labels) on the device; .batch_size
    trainer,                                   # the trainer config (steps, n_critic, intervals)
    run_log: RunLog,
    save_checkpoint: Callable[[int], object],  # writes a checkpoint of the state after `step` steps
    last_checkpoint: Callable[[], str | None], # the newest checkpoint written, for error messages
    start_step: int = 0,
    fixed_noise: torch.Tensor | None = None,   # latents of the sample grid
    real_preview: torch.Tensor | None = None,  # real data drawn beside 2-D samples
) -> dict[str, float]:
    stats = RunningStats()
    phases = build_phases(gan, batches, stats, trainer.n_critic)
    device = fixed_noise.device
    # Step of the first non-finite loss, kept on the device (-1: none yet) to avoid a sync per step.
    first_bad_step = torch.full((), -1, dtype=torch.long, device=device)
    images_per_step = batches.batch_size * distributed.world_size() * trainer.n_critic
    last_values: dict[str, float] = {}
    clock, clock_step, started = time.perf_counter(), start_step, time.perf_counter()

    def check_finite(step: int) -> None:
        bad = int(first_bad_step.item())
        if bad >= 0:
            last = last_checkpoint()
            where = f"the last good checkpoint is {last}" if last else "no checkpoint had been written yet"
            raise NonFiniteLoss(
                f"Training stopped: a loss became NaN or infinite at step {bad} (checked at step {step}); "
                f"{where}. Lower the learning rate (optim.lr), use a loss with a bounded critic, or resume "
                f"from the checkpoint with different settings."
            )

    def sample_grid(step: int) -> None:
        sampler = gan.sampler
        was_training = sampler.training
        sampler.eval()
        with torch.no_grad():
            fake = sampler(fixed_noise)
        sampler.train(was_training)
        run_log.samples(fake, step, real_preview)

    step = start_step
    with stop_on_signal() as stop:
        while step < trainer.steps:
            for phase in phases:
                for _ in range(phase.repeats):
                    value = phase.run(step)
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
            stop_now = stop_requested_anywhere(stop["stop"], device)
            if step % trainer.checkpoint_every == 0 or step == trainer.steps or stop_now:
                check_finite(step)
                save_checkpoint(step)
            if stop_now:
                raise StopRequested(step)
    return {**last_values, "step": step}


def stop_requested_anywhere(local: bool, device) -> bool:
    """Every rank must stop at the same step: one small all-reduce of the flag per step under DDP."""
    if distributed.world_size() == 1:
        return local
    flag = torch.tensor([1.0 if local else 0.0], device=device)
    return bool(distributed.all_reduce_mean(flag).item() > 0)


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
