"""train(cfg): build the training state and the objective, then run the loop with its hooks.

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
from gan_cli.training.validation import check_run_config


def train(cfg: DictConfig, run_dir: str | Path | None = None) -> dict[str, float]:
    """Train the GAN that `cfg` describes; write logs, samples and checkpoints under run_dir.

    Returns the last logged values, the last evaluation (eval/<name>) and the steps done.
    """
    run_dir = Path(run_dir or HydraConfig.get().runtime.output_dir)
    task = check_run_config(cfg)
    device = resolve_device(cfg.trainer.device)
    torch.manual_seed(cfg.trainer.seed + distributed.rank())
    execution = Execution.from_config(cfg.trainer, device, cfg.data.shape)
    state = build_state(cfg, execution, task)
    stats = RunningStats()
    objective = build_objective(cfg, state, execution, stats)
    schedule = LearningRateSchedule(lr_factor(cfg.optim, cfg.trainer.steps), state.optimizers.values())
    tracker = None
    if cfg.eval.every > 0:
        # Building the evaluator loads the extractor and the real statistics: errors surface before step 1.
        evaluator = task.evaluator(cfg, device) if distributed.is_main() else None
        tracker = EvalTracker(evaluator, device, run_dir)
    if tracker is not None:
        state.extras["eval"] = tracker
    if cfg.resume:
        state.load_state_dict(load_checkpoint(cfg.resume), source=cfg.resume)

    run_log = RunLog(run_dir, enabled=distributed.is_main())
    accumulate = int(cfg.trainer.get("accumulate", 1) or 1)
    images_per_step = objective.images_per_step * accumulate
    hooks = run_hooks(cfg, state, images_per_step, stats, run_log, run_dir, tracker, device, task)
    run_log.info(
        f"Training {cfg.model.name} on {cfg.data.name} {list(cfg.data.shape)} with {objective.description}"
        f"{f' ({accumulate} batches per update)' if accumulate > 1 else ''} on {device}"
        f" ({distributed.world_size()} process(es), precision {execution.precision}), steps {state.step} -> "
        f"{cfg.trainer.steps}; run folder: {run_dir}"
    )
    try:
        training_loop(state, objective, hooks.hooks, cfg.trainer.steps, hooks.guard, before_step=schedule,
                      accumulate=accumulate)
    finally:
        run_log.close()
    final = {**hooks.log.last_values, "step": state.step, **(tracker.final_values() if tracker else {})}
    last = hooks.checkpoints.writer.last_path if hooks.checkpoints else None
    run_log.info(f"Done: {state.step} steps. Checkpoint: {last}. Samples: {RunPaths(run_dir).samples}. "
                 f"TensorBoard: tensorboard --logdir {run_dir}")
    return final
