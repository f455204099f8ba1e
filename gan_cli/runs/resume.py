"""Where a run continues from: resume=PATH (a checkpoint) or resume=auto (a sweep job's own folder).

    config_for_resume(cfg, overrides)   the checkpoint's config with this command line's values
    plan_auto_resume(run_dir, overrides) skip a finished job, continue an unfinished one, or start fresh
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gan_cli.errors import UserError
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.runs.config import stored_config
from gan_cli.runs.paths import RunPaths
from gan_cli.runs.status import override_key, read_status

# gan-train's config groups: a resumed run keeps the checkpoint's choice of each.
CONFIG_GROUPS = ("model", "loss", "data", "optim", "trainer", "experiment", "debug", "hparams_search")


class JobAlreadyFinished(Exception):
    """resume=auto found the job finished: return its stored objective instead of training again."""

    def __init__(self, objective: float | None):
        super().__init__(objective)
        self.objective = objective


class FolderHoldsAnotherJob(UserError):
    """resume=auto found a different job's record in this job's folder; neither is touched."""


@dataclass
class ResumePlan:
    action: str                    # skip (finished), resume (from checkpoint) or fresh
    checkpoint: Path | None = None
    status: dict | None = None     # what the folder's status.json said


def config_for_resume(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """The checkpoint's own config, with this command line's value overrides (say, more trainer.steps)."""
    checkpoint = load_checkpoint(cfg.resume)
    dotlist = []
    for override in overrides:
        key = override_key(override)
        if key == "resume" or key.startswith("hydra."):
            continue
        if key in CONFIG_GROUPS:
            raise UserError(
                f"{override} cannot be combined with resume={cfg.resume}: resuming continues the checkpoint's "
                f"run, whose {key} is fixed. Change values instead (for example trainer.steps=...), or start a "
                f"new run without resume=."
            )
        dotlist.append(override.lstrip("+"))
    source = stored_config(checkpoint, cfg.resume, source=True)
    merged = OmegaConf.merge(source, OmegaConf.from_dotlist(dotlist))
    merged.resume = cfg.resume
    return merged


def plan_auto_resume(run_dir: Path, overrides: list[str]) -> ResumePlan:
    """What resume=auto does in a job folder: skip a finished job, continue from checkpoints/last.pt
    (an interrupted, failed or killed job), or start fresh in an empty folder."""
    run_dir = Path(run_dir)
    status = read_status(run_dir)
    if status is not None and "overrides" in status and sorted(status["overrides"]) != sorted(overrides):
        raise FolderHoldsAnotherJob(
            f"resume=auto: {run_dir} holds the job with overrides [{' '.join(status['overrides'])}], but this job "
            f"has [{' '.join(overrides)}]. The sweep's jobs changed (values added, removed or reordered), so its "
            f"folders no longer match them: re-run the sweep's original command, or give a changed sweep a new "
            f"folder (hydra.sweep.dir=...)."
        )
    if status is not None and status.get("status") == "finished":
        return ResumePlan("skip", status=status)
    last = RunPaths(run_dir).last_checkpoint
    if last.is_file():
        return ResumePlan("resume", checkpoint=last, status=status)
    return ResumePlan("fresh", status=status)
