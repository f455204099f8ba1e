"""What a gan-train run does between steps: log lines and TensorBoard scalars, sample grids,
evaluations and checkpoints, each a Hook of the loop with its own interval (conf/trainer)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from gan_cli import distributed
from gan_cli.numbers import diverged_weight_bound
from gan_cli.runs.checkpoints import FORMAT, CheckpointWriter
from gan_cli.runs.result_values import shown_name, shown_value
from gan_cli.tasks.run_description import RunDescription
from gan_cli.training.loop import FiniteGuard, Hook
from gan_cli.training.progress import FirstSteps, ProgressLine, console_stream, shown_values, wants_progress
from gan_cli.training.run_log import RunLog
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats


class LogHook:
    """Statistics reduced over the interval (one host sync), images/s, learning rates."""

    def __init__(self, state: TrainingState, stats: RunningStats, run_log: RunLog, images_per_step: int,
                 total_steps: int, fake_label: str = "D(G(z))"):
        self.state, self.stats, self.run_log, self.total_steps = state, stats, run_log, total_steps
        self.fake_label = fake_label
        self.images_per_step = images_per_step * distributed.world_size()
        self.start_step = self.clock_step = state.step
        self.started = self.clock = time.perf_counter()
        self.last_values: dict[str, float] = {}

    def __call__(self, step: int) -> None:
        now = time.perf_counter()
        values = self.stats.flush()
        values["speed/images_per_sec"] = (step - self.clock_step) * self.images_per_step / max(now - self.clock, 1e-9)
        for key, optimizer in self.state.optimizers.items():
            values[f"lr/{key.removesuffix('_optimizer')}"] = optimizer.param_groups[0]["lr"]
        self.run_log.scalars(values, step)
        self.run_log.info(progress_line(step, self.total_steps, values, now - self.started, self.start_step,
                                        self.fake_label))
        self.last_values, self.clock, self.clock_step = values, now, step


def progress_line(step: int, total: int, values: dict[str, float], elapsed: float, start_step: int,
                  fake_label: str = "D(G(z))") -> str:
    """The log line of a step: losses, D's scores (D(fake) named as the task's fakes: D(G(z)), D(G(x))), speed, ETA."""
    parts = [f"step {step}/{total}"]
    parts += shown_values(values, fake_label)
    parts.append(f"{values['speed/images_per_sec']:.0f} img/s")
    done = step - start_step
    if done:
        remaining = elapsed / done * (total - step)
        parts.append(f"eta {int(remaining // 60)}m{int(remaining % 60):02d}s")
    return " | ".join(parts)


class CheckpointHook:
    """checkpoints/step_*.pt and last.pt (every rank gathers its state; rank 0 writes)."""

    def __init__(self, state: TrainingState, run: RunDescription, run_dir: Path):
        self.state = state
        self.writer = CheckpointWriter(run_dir, keep=run.trainer.keep_checkpoints)
        self.configs = {"config": OmegaConf.to_container(run.config, resolve=True),  # what ran
                        "config_source": OmegaConf.to_container(run.config)}          # interpolations kept, for resume
        self.resumed_from = run.resume

    def payload(self) -> dict:
        return {"format": FORMAT, **self.configs, **self.state.state_dict()}

    def __call__(self, step: int) -> None:
        payload = self.payload()
        if distributed.is_main():
            self.writer.save(payload, step)
        distributed.barrier()

    def save_best(self) -> None:
        payload = self.payload()
        if distributed.is_main():
            self.writer.save_best(payload)
        distributed.barrier()

    def last_good(self) -> str | None:
        """The newest checkpoint of this run (each was checked sane before it was written), or the one it
        resumed from (checked when it was loaded)."""
        return str(self.writer.last_path) if self.writer.last_path else self.resumed_from


class EvalHook:
    """Sample-quality metrics (eval.every); checkpoints/best.pt when the best metric improves."""

    def __init__(self, tracker, state: TrainingState, run_log: RunLog, checkpoints: CheckpointHook | None,
                 run: RunDescription):
        self.tracker, self.state, self.run_log, self.checkpoints = tracker, state, run_log, checkpoints
        self.run = run

    def __call__(self, step: int) -> None:
        # The sampling generator is the EMA's (refreshed each step): ask the task for it at each evaluation.
        improved = self.tracker.evaluate(step, self.run.task.evaluated(self.state, self.run))
        if distributed.is_main():
            values = self.tracker.latest
            self.run_log.scalars({f"eval/{name}": value for name, value in values.items()}, step)
            shown = ", ".join(f"{shown_name(name)} {shown_value(name, value):.4g}" for name, value in values.items())
            self.run_log.info(f"eval at step {step}: {shown}" + (" (best so far)" if improved else ""))
        if improved and self.checkpoints is not None:
            self.checkpoints.save_best()


@dataclass
class RunHooks:
    hooks: list[Hook]
    guard: FiniteGuard
    log: LogHook
    checkpoints: CheckpointHook | None
    console: contextlib.AbstractContextManager = field(default_factory=contextlib.nullcontext)  # around the loop


def run_hooks(run: RunDescription, state: TrainingState, images_per_step: int, stats: RunningStats,
              run_log: RunLog, run_dir: Path, tracker, device, sweep_job: bool = False) -> RunHooks:
    """The hooks of a gan-train run, with the intervals of run.trainer (and run.eval.every); the
    task draws the preview (sample grids, comparison rows) and names what its evaluator judges.
    The first steps' time is logged, and the progress line shown (trainer.progress), on rank 0 only."""
    trainer = run.trainer
    log = LogHook(state, stats, run_log, images_per_step, trainer.steps, run.task.fake_label)
    preview = run.task.preview(state, run_log, run, device)
    hooks = [Hook(trainer.log_every, log, needs_finite=True), Hook(trainer.sample_every, preview)]
    checkpoints = CheckpointHook(state, run, run_dir) if trainer.save_checkpoints else None
    if tracker is not None:
        # An evaluation may write best.pt: it needs sane weights, as a checkpoint does.
        evaluate = EvalHook(tracker, state, run_log, checkpoints, run)
        hooks.append(Hook(run.eval.every, evaluate, needs_finite_weights=True))
    if checkpoints is not None:
        hooks.append(Hook(trainer.checkpoint_every, checkpoints, on_stop=True, needs_finite_weights=True))
    guard = FiniteGuard(state, device, checkpoints.last_good if checkpoints else lambda: run.resume,
                        weight_bound=diverged_weight_bound(trainer.precision))
    console = contextlib.nullcontext()
    if distributed.is_main():
        hooks.insert(0, Hook(1, FirstSteps(run_log.info, state.step, trainer.steps, device)))
        stream = console_stream()
        if wants_progress(trainer.progress, stream, sweep_job):
            console = ProgressLine(stream, state.step, trainer.steps, lambda: log.last_values, run.task.fake_label)
            hooks.append(Hook(1, console))
    return RunHooks(hooks, guard, log, checkpoints, console)
