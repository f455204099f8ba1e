"""A training job's record in its run folder: the config it runs with (resume=PATH or resume=auto),
status.json while it runs and when it ends, the objective gan-train returns, TensorBoard HPARAMS.

A job of a multirun marks itself running in <job>/status.json when it starts and finished (with
its final values) when it ends; Ctrl-C marks it interrupted. A job that raises is marked failed by
the sweep callback (gan_cli/runs/sweep.py), which then rebuilds the sweep's summary.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from gan_cli import distributed
from gan_cli.distributed.environment import process_group_env
from gan_cli.runs.paths import RunPaths
from gan_cli.runs.result_values import finite_values, read_metrics
from gan_cli.runs.resume import JobAlreadyFinished, config_for_resume, plan_auto_resume
from gan_cli.runs.status import first_line, override_key, write_status
from gan_cli.runs.sweep_summary import rebuild_summary

log = logging.getLogger("gan_cli")

# Settings every run reports to TensorBoard's HPARAMS tab, besides the keys its sweep overrides.
GROUP_HPARAMS = ("model", "loss", "data", "optim", "experiment")
VALUE_HPARAMS = (
    "optim.g_lr", "optim.d_lr", "data.batch_size", "data.resolution", "model.latent_dim", "trainer.n_critic",
    "trainer.steps", "regularizers.gradient_penalty", "regularizers.weight_clip", "trainer.seed",
)


def job_overrides(hydra_cfg) -> list[str]:
    """This job's command-line overrides, without resume= (a re-run of the sweep adds or drops it)."""
    return [o for o in hydra_cfg.overrides.task if override_key(o) != "resume"]


def job_config(cfg: DictConfig, hydra_cfg) -> DictConfig:
    """The config the job trains with; a job of a sweep is marked running in its status.json.

    resume=PATH continues that checkpoint (its config, with this command line's values). resume=auto
    looks in the job's own folder (see plan_auto_resume): a finished job raises JobAlreadyFinished,
    an unfinished one with a checkpoint continues exactly from it, an empty folder starts fresh.
    """
    run_dir = Path(hydra_cfg.runtime.output_dir)
    overrides = job_overrides(hydra_cfg)
    if cfg.resume == "auto":
        plan = plan_auto_resume(run_dir, overrides)
        if plan.action == "skip":
            log.info(f"resume=auto: the job in {run_dir} finished earlier ({plan.status.get('step')} steps); skipped.")
            raise JobAlreadyFinished((plan.status.get("objective") or {}).get("value"))
        if plan.action == "resume":
            log.info(f"resume=auto: continuing the job in {run_dir} from {plan.checkpoint}")
            cfg.resume = str(plan.checkpoint)
            # The folder's overrides are this job's (checked above); its group choices are in the
            # checkpoint's config already, so only values go with it.
            groups = set(hydra_cfg.runtime.choices)
            cfg = config_for_resume(cfg, [o for o in overrides if override_key(o) not in groups])
        else:
            cfg.resume = None
    elif cfg.resume:
        cfg = config_for_resume(cfg, list(hydra_cfg.overrides.task))
    if hydra_cfg.mode == RunMode.MULTIRUN and writes_files():
        # step=None: while it runs (or if it is killed), a summary reads the step from its checkpoints.
        write_status(run_dir, status="running", overrides=overrides, job=job_number(hydra_cfg), error=None,
                     final=None, step=None, steps=cfg.trainer.steps, started=time.strftime("%Y-%m-%dT%H:%M:%S"))
    return cfg


def finish_job(cfg: DictConfig, hydra_cfg, final: dict) -> float | None:
    """Record a finished job (status.json and TensorBoard HPARAMS); return its objective."""
    run_dir = Path(hydra_cfg.runtime.output_dir)
    name = cfg.objective
    values = {**finite_values(final), **read_metrics(run_dir)}
    objective = values.get(name)
    if objective is None:
        log.warning(f"objective={name} is not among this run's final values ({', '.join(sorted(values))}); "
                    f"gan-train returns no objective.")
    if writes_files():
        hparams = run_hparams(cfg, hydra_cfg)
        write_status(run_dir, status="finished", overrides=job_overrides(hydra_cfg), job=job_number(hydra_cfg),
                     error=None, step=final.get("step"), steps=cfg.trainer.steps, final=finite_values(final),
                     objective={"name": name, "value": objective}, hparams=hparams)
        write_hparams(run_dir, hparams)
    return objective


def record_interrupted(hydra_cfg, step: int) -> None:
    """Ctrl-C/SIGTERM: the job stops (its checkpoint written) and so does the sweep; say so in both."""
    if not writes_files():
        return
    run_dir = Path(hydra_cfg.runtime.output_dir)
    write_status(run_dir, status="interrupted", overrides=job_overrides(hydra_cfg), job=job_number(hydra_cfg),
                 error=None, step=int(step))
    if hydra_cfg.mode == RunMode.MULTIRUN:
        rebuild_summary(Path(hydra_cfg.sweep.dir))
        log.warning(f"The sweep stopped too. To continue it, run the same command again with resume=auto "
                    f"hydra.sweep.dir={hydra_cfg.sweep.dir}")


def log_to_files(logger: logging.Logger, level: int, message: str) -> None:
    """A log record for the log files only (train.log): the console says it once, as the command's
    `error: ...` paragraph (gan_cli.errors.exit_with)."""
    record = logger.makeRecord(logger.name, level, __file__, 0, message, None, None)
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            if isinstance(handler, logging.FileHandler) and record.levelno >= handler.level:
                handler.handle(record)
        current = current.parent if current.propagate else None


def record_failure(run_dir: Path, overrides: list[str], error: BaseException, job: int | None = None) -> dict:
    run_dir = Path(run_dir)
    return write_status(run_dir, status="failed", overrides=[o for o in overrides if override_key(o) != "resume"],
                        job=job, error=first_line(error), step=RunPaths(run_dir).last_checkpoint_step())


def writes_files() -> bool:
    """Only rank 0 of a torchrun/SLURM job records the job (also before and after the process group)."""
    settings = process_group_env(os.environ)
    return distributed.is_main() and (not settings or int(settings["rank"]) == 0)


def job_number(hydra_cfg) -> int | None:
    num = OmegaConf.select(hydra_cfg, "job.num", default=None)
    return int(num) if isinstance(num, int) else None


# TensorBoard HPARAMS.

def run_hparams(cfg: DictConfig, hydra_cfg) -> dict:
    """The run's hyperparameters: its group choices, key values, and every key its sweep overrides."""
    choices = dict(hydra_cfg.runtime.choices)
    if cfg.resume:
        # Hydra composed the default groups; what runs is the checkpoint's config, which names its
        # model and data (the other groups' choices are not recorded in it).
        choices = {"model": cfg.model.name, "data": cfg.data.name}
    hparams: dict = {}
    for group in GROUP_HPARAMS:
        if choices.get(group):
            hparams[group] = str(choices[group])
    for key in VALUE_HPARAMS:
        hparams[key] = OmegaConf.select(cfg, key, default=None)
    for override in job_overrides(hydra_cfg):
        key = override_key(override)
        if key.startswith("hydra.") or key in hparams:
            continue
        hparams[key] = str(choices[key]) if key in choices else OmegaConf.select(cfg, key, default=None)
    return {key: _hparam_value(value) for key, value in hparams.items() if value is not None}


def _hparam_value(value):
    if isinstance(value, (bool, str)):
        return str(value)
    if isinstance(value, (int, float)):
        return value
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=True)
    return str(value)


def write_hparams(run_dir: Path, hparams: dict) -> None:
    """Mark the run folder as one session of TensorBoard's HPARAMS tab.

    Only the session's start (its hyperparameters) and end are written: TensorBoard builds the table
    from all the runs' sessions and takes each metric column's value from the run's own scalars
    (the last loss/g, loss/d, ...), so runs with different hyperparameters sit in one table.
    """
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams as hparams_summaries

    _, session_start, session_end = hparams_summaries(hparams, {})
    writer = SummaryWriter(log_dir=str(run_dir))
    try:
        writer.file_writer.add_summary(session_start)
        writer.file_writer.add_summary(session_end)
    finally:
        writer.close()
