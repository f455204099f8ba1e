"""The Hydra callback of gan-train's sweeps (hydra.callbacks.sweep_summary in train.yaml).

Hydra's launchers run every job of a batch even when one fails and raise only afterwards, so
marking a failed job in its status.json and rebuilding summary.csv / summary.md after each job
leaves a complete summary either way.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import CompactHydraException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from gan_cli.runs.status import first_line
from gan_cli.runs.sweep_summary import rebuild_summary

log = logging.getLogger("gan_cli")


class JobFailed(CompactHydraException):
    """What a sweep ends with when a job failed on a bad input: Hydra prints its one line."""


def _is_user_error(error) -> bool:
    from gan_cli.errors import UserError

    return isinstance(error, UserError)


class SweepSummary(Callback):
    """Marks failed jobs in their status.json and rebuilds the sweep's summary after every job."""

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        from gan_cli.runs.job_record import (  # torch: only once a job ran
            job_number,
            record_failure,
            writes_files,
        )
        from gan_cli.runs.resume import FolderHoldsAnotherJob

        if job_return.status == JobStatus.FAILED and writes_files():
            error = job_return._return_value  # the public return_value re-raises the job's exception
            run_dir = Path(config.hydra.runtime.output_dir)
            if not isinstance(error, FolderHoldsAnotherJob):  # that folder's record is another job's
                record_failure(run_dir, list(job_return.overrides or []), error, job_number(config.hydra))
            log.error(f"Job {run_dir} failed: {first_line(error)}")
            if _is_user_error(error):  # said once, just above: the sweep ends on a line, not a traceback
                summary = JobFailed(f"error: job {run_dir} failed on a bad input (logged above and in its "
                                    f"status.json); the sweep's jobs and how each ended: "
                                    f"{Path(config.hydra.sweep.dir) / 'summary.md'}.")
                summary.__cause__ = error  # HYDRA_FULL_ERROR=1 shows the job's own traceback
                job_return.return_value = summary
        rebuild_summary(Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs) -> None:
        rebuild_summary(Path(config.hydra.sweep.dir))
