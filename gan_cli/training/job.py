"""One gan-train job, around train(): the config it runs (resume), the folder it holds, the
processes it runs in, and its record in the run folder (status.json, the sweep's objective)."""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from pathlib import Path

from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from gan_cli import distributed
from gan_cli.distributed.devices import check_devices
from gan_cli.distributed.spawn import WorkerFailed, launch_processes
from gan_cli.errors import StopRequested, UserError
from gan_cli.run_settings import RunSettings
from gan_cli.runs.job_record import (
    finish_job,
    job_config,
    job_overrides,
    log_to_files,
    record_failure,
    record_interrupted,
    writes_files,
)
from gan_cli.runs.lock import (
    RunFolderInUse,
    remove_stale_temporary_files,
    run_folder_lock,
)
from gan_cli.runs.paths import RunPaths
from gan_cli.runs.resume import JobAlreadyFinished
from gan_cli.runs.status import read_status
from gan_cli.training.run import train
from gan_cli.training.validation import check_command_config

log = logging.getLogger("gan_cli")


def run_training_job(cfg: DictConfig, hydra_cfg) -> float | None:
    """Train (or resume, or skip a finished sweep job); return the job's objective for the sweeper.

    A requested stop (Ctrl-C, SIGTERM) exits with status 130 once the checkpoint is written. A run
    that fails on a bad input says why in its status.json and train.log.
    """
    run_dir = Path(hydra_cfg.runtime.output_dir)
    earlier_record = read_status(run_dir) is not None  # resumed in place: an earlier run's folder
    try:
        with _holding(run_dir):
            check_command_config(cfg)  # the command line's keys and values, before a checkpoint is read
            cfg = job_config(cfg, hydra_cfg)  # resume=PATH, or resume=auto in a sweep
            _record_config(cfg, run_dir)
            final = train_in_processes(cfg, run_dir, sweep_job=hydra_cfg.mode == RunMode.MULTIRUN)
    except JobAlreadyFinished as done:  # resume=auto: the job finished in an earlier run of the sweep
        return done.objective
    except StopRequested as stop:
        if distributed.is_main():
            _report_stop(cfg, run_dir, stop.args[0])
        record_interrupted(hydra_cfg, stop.args[0])
        sys.exit(130)
    except UserError as error:
        # A new folder says why its run failed (train.log, status.json); a bad command line given to
        # resume an earlier run in its own folder leaves that run's record alone. The console gets
        # the message once, from the command's error paragraph.
        bad_input = error.exit_code == 2
        if (not isinstance(error, RunFolderInUse) and not (bad_input and earlier_record) and str(error)
                and hydra_cfg.mode == RunMode.RUN and writes_files()):
            log_to_files(log, logging.ERROR, str(error))
            record_failure(run_dir, job_overrides(hydra_cfg), error)
        raise
    finally:
        distributed.shutdown()
    return finish_job(cfg, hydra_cfg, final)  # status.json, HPARAMS; the objective (cfg.objective)


@contextlib.contextmanager
def _holding(run_dir: Path):
    """The run folder's lock (on the process that writes it), and the leftovers of killed writes removed."""
    if not writes_files():
        yield
        return
    with run_folder_lock(run_dir):
        for stale in remove_stale_temporary_files(run_dir):
            log.info(f"removed {stale}, left by a write that was killed")
        yield


def _record_config(cfg: DictConfig, run_dir: Path) -> None:
    """.hydra/config.yaml says what really runs: a resumed run's config is the checkpoint's."""
    if cfg.resume and writes_files():
        path = RunPaths(run_dir).hydra_config
        if path.parent.is_dir():
            OmegaConf.save(cfg, path)
        log.info(f"Resuming {cfg.model.name} on {cfg.data.name} from {cfg.resume}; run folder {run_dir}")


def train_in_processes(cfg: DictConfig, run_dir: Path, sweep_job: bool = False) -> dict[str, float]:
    """train() in this process, in the process group the environment describes, or in N spawned ones
    (the workers learn whether the job is a sweep's from here: they have no Hydra config of their own)."""
    trainer = RunSettings.from_config(cfg).trainer
    devices = check_devices(trainer.devices, trainer.device)
    if distributed.environment_world_size() > 1:  # torchrun or SLURM started the ranks
        distributed.init_from_env(timeout_s=trainer.ddp_timeout_s, device=trainer.device)
        return train(cfg, run_dir, sweep_job)
    if devices > 1:
        paths = RunPaths(run_dir)
        try:
            return launch_processes(functools.partial(train, sweep_job=sweep_job), cfg, run_dir, devices,
                                    log_file=paths.train_log)
        except WorkerFailed as failed:
            if failed.exit_code != 1 or not str(failed):
                raise
            raise WorkerFailed(f"{failed} The newest checkpoint (if any) is in {paths.checkpoints}; continue "
                               f"with gan-train resume={paths.last_checkpoint}.") from None
    return train(cfg, run_dir, sweep_job)


def _report_stop(cfg: DictConfig, run_dir: Path, step) -> None:
    if RunSettings.from_config(cfg).trainer.save_checkpoints:
        log.warning(f"Stopped at step {step}; checkpoint written. Resume with: "
                    f"gan-train resume={RunPaths(run_dir).last_checkpoint}")
    else:
        log.warning(f"Stopped at step {step}; no checkpoint (trainer.save_checkpoints=false).")
