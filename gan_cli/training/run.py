"""train(cfg): describe the run once, build the training state and the objective, then run the loop
with its hooks.

Under a process group (torchrun, SLURM, trainer.devices=N) every rank calls train(); rank 0 writes.
"""

from __future__ import annotations

from pathlib import Path

import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from gan_cli import distributed
from gan_cli.distributed.devices import resolve_device
from gan_cli.eval.tracking import EvalTracker
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.runs.paths import RunPaths
from gan_cli.training.build import build_objective, build_state
from gan_cli.training.execution import Execution
from gan_cli.training.hooks import run_hooks
from gan_cli.training.loop import training_loop
from gan_cli.training.run_log import RunLog
from gan_cli.training.schedules import LearningRateSchedule, lr_factor
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import describe_run


def seen_as(batches, data_shape) -> str:
    """How the networks see the data, when not as it is stored (SpecGAN: clips as spectrograms)."""
    shape = tuple(getattr(batches, "sample_shape", ()) or ())
    note = getattr(batches, "seen_as", None)
    return f" (seen as {note})" if note and shape != tuple(int(s) for s in data_shape) else ""

def train(cfg: DictConfig, run_dir: str | Path | None = None, sweep_job: bool = False) -> dict[str, float]:
    """Train the GAN that `cfg` describes; write logs, samples and checkpoints under run_dir (a sweep's
    job shows no progress line unless trainer.progress=true).

    Returns the last logged values, the last evaluation (eval/<name>) and the steps done.
    """
    run_dir = Path(run_dir or HydraConfig.get().runtime.output_dir)
    run = describe_run(cfg)  # every check, then the typed settings, the task and the data, once
    trainer = run.trainer
    device = resolve_device(trainer.device)
    torch.manual_seed(trainer.seed + distributed.rank())
    execution = Execution.from_settings(trainer, device, run.data.shape)
    state = build_state(run, execution)
    stats = RunningStats()
    objective = build_objective(run, state, execution, stats)
    # A pass over the training set (the exponential schedule's epoch): the batch source's epoch, in steps.
    steps_per_epoch = max(1, getattr(state.batches, "batches_per_epoch", 1) // trainer.accumulate)
    schedule = LearningRateSchedule(lr_factor(run.optim, trainer.steps, steps_per_epoch), state.optimizers.values())
    tracker = None
    if run.eval.every > 0:
        # Building the evaluator loads the extractor and the real statistics: errors surface before step 1.
        evaluator = run.task.evaluator(run, device) if distributed.is_main() else None
        tracker = EvalTracker(evaluator, device, run_dir)
        state.extras["eval"] = tracker
    if run.resume:
        state.load_state_dict(load_checkpoint(run.resume), source=run.resume)

    run_log = RunLog(run_dir, enabled=distributed.is_main())
    images_per_step = objective.images_per_step * trainer.accumulate
    hooks = run_hooks(run, state, images_per_step, stats, run_log, run_dir, tracker, device, sweep_job)
    run_log.info(
        f"Training {run.name} {list(run.data.shape)}{seen_as(state.batches, run.data.shape)} with {objective.description}"
        f"{f' ({trainer.accumulate} batches per update)' if trainer.accumulate > 1 else ''} on {device}"
        f" ({distributed.world_size()} process(es), precision {execution.precision}), steps {state.step} -> "
        f"{trainer.steps}; run folder: {run_dir}"
    )
    try:
        with hooks.console:  # the progress line, cleared however the loop ends
            training_loop(state, objective, hooks.hooks, trainer.steps, hooks.guard, before_step=schedule,
                          accumulate=trainer.accumulate)
    finally:
        run_log.close()
    final = {**hooks.log.last_values, "step": state.step, **(tracker.final_values() if tracker else {})}
    if hooks.checkpoints is None:
        saved = "No checkpoint (trainer.save_checkpoints=false)"
    else:
        saved = f"Checkpoint: {hooks.checkpoints.writer.last_path}"
    run_log.info(f"Done: {state.step} steps. {saved}. Samples: {RunPaths(run_dir).samples}. "
                 f"TensorBoard: tensorboard --logdir {run_dir}")
    return final
