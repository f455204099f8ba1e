"""One gan-train job, around train(): the config it runs (resume), the processes it runs in, and
its record in the run folder (status.json, the objective a sweep optimizes)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from omegaconf import DictConfig

from gan_cli import distributed
from gan_cli.distributed.devices import check_devices
from gan_cli.distributed.spawn import WorkerFailed, launch_processes
from gan_cli.errors import StopRequested
from gan_cli.runs.job import finish_job, job_config, record_interrupted
from gan_cli.runs.paths import RunPaths
from gan_cli.runs.resume import JobAlreadyFinished
from gan_cli.training.run import train

log = logging.getLogger("gan_cli")


def run_training_job(cfg: DictConfig, hydra_cfg) -> float | None:
    """Train (or resume, or skip a finished sweep job); return the job's objective for the sweeper.

    A requested stop (Ctrl-C, SIGTERM) exits with status 130 once the checkpoint is written.
    """
    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        cfg = job_config(cfg, hydra_cfg)  # resume=PATH, or resume=auto in a sweep
        final = train_in_processes(cfg, run_dir)
    except JobAlreadyFinished as done:  # resume=auto: the job finished in an earlier run of the sweep
        return done.objective
    except StopRequested as stop:
        if distributed.is_main():
            _report_stop(cfg, run_dir, stop.args[0])
        record_interrupted(hydra_cfg, stop.args[0])
        sys.exit(130)
    finally:
        distributed.shutdown()
    return finish_job(cfg, hydra_cfg, final)  # status.json, HPARAMS; the objective (cfg.objective)


def train_in_processes(cfg: DictConfig, run_dir: Path) -> dict[str, float]:
    """train() in this process, in the process group the environment describes, or in N spawned ones."""
    devices = check_devices(cfg.trainer.devices, cfg.trainer.device)
    if distributed.environment_world_size() > 1:  # torchrun or SLURM started the ranks
        distributed.init_from_env(timeout_s=cfg.trainer.ddp_timeout_s)
        return train(cfg, run_dir)
    if devices > 1:
        paths = RunPaths(run_dir)
        try:
            return launch_processes(train, cfg, run_dir, devices, log_file=paths.train_log)
        except WorkerFailed as failed:
            if failed.exit_code != 1 or not str(failed):
                raise
            raise WorkerFailed(f"{failed} The newest checkpoint (if any) is in {paths.checkpoints}; continue "
                               f"with gan-train resume={paths.last_checkpoint}.") from None
    return train(cfg, run_dir)


def _report_stop(cfg: DictConfig, run_dir: Path, step) -> None:
    if cfg.trainer.save_checkpoints:
        log.warning(f"Stopped at step {step}; checkpoint written. Resume with: "
                    f"gan-train resume={RunPaths(run_dir).last_checkpoint}")
    else:
        log.warning(f"Stopped at step {step}; no checkpoint (trainer.save_checkpoints=false).")
