"""Where everything lives in a run folder: the one place each file name is spelled.

    <run>/
      .hydra/config.yaml          the composed config (Hydra)
      train.log                   log lines (Hydra's job log)
      events.out.tfevents.*       TensorBoard scalars, images, HPARAMS
      samples/step_0000250.png    sample grids of the fixed noise (image-to-image: held-out input | output | target)
      checkpoints/step_0000500.pt the newest trainer.keep_checkpoints step checkpoints
      checkpoints/last.pt         the newest checkpoint (a hard link to its step file)
      checkpoints/best.pt         the best evaluation so far (eval.every)
      status.json                 the job's record of itself (sweeps, gan-report)
      metrics.json, eval.json     the latest evaluation, and every evaluation with its protocol
      .lock                       held by the gan-train process that writes the folder

A sweep folder holds one run folder per job and summary.csv / summary.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CHECKPOINTS = "checkpoints"
LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"
SAMPLES = "samples"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.json"  # the latest evaluation: {"fid": 31.2, ...}, nesting allowed
EVAL_HISTORY_FILE = "eval.json"
TRAIN_LOG = "train.log"
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
SUMMARY_LOCK = ".summary.lock"
RUN_LOCK = ".lock"  # held by the gan-train process writing the run folder

STEP_CHECKPOINT = re.compile(r"^step_(\d+)\.pt$")


def step_file_name(step: int) -> str:
    """step_0000500.pt, step_0000500.png: files named by the step they were written after."""
    return f"step_{step:07d}"


@dataclass(frozen=True)
class RunPaths:
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def of_checkpoint(cls, checkpoint) -> RunPaths:
        """The run folder of <run>/checkpoints/x.pt (or the checkpoint's own folder elsewhere)."""
        checkpoint = Path(checkpoint)
        parent = checkpoint.parent
        return cls(parent.parent if parent.name == CHECKPOINTS else parent)

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / LAST_CHECKPOINT

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoints / BEST_CHECKPOINT

    def step_checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"{step_file_name(step)}.pt"

    def step_checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of the step checkpoints present, oldest first."""
        found = []
        if self.checkpoints.is_dir():
            for path in self.checkpoints.iterdir():
                match = STEP_CHECKPOINT.match(path.name)
                if match:
                    found.append((int(match.group(1)), path))
        return sorted(found)

    def last_checkpoint_step(self) -> int | None:
        """The step of the newest step checkpoint, read from the file names."""
        steps = self.step_checkpoints()
        return steps[-1][0] if steps else None

    @property
    def samples(self) -> Path:
        return self.root / SAMPLES

    def sample_grid(self, step: int, direction: str = "AtoB") -> Path:
        """The grid of a step (a CycleGAN's B->A grid: step_N_BtoA.png)."""
        suffix = "" if direction == "AtoB" else f"_{direction}"
        return self.samples / f"{step_file_name(step)}{suffix}.png"

    @property
    def status(self) -> Path:
        return self.root / STATUS_FILE

    @property
    def metrics(self) -> Path:
        return self.root / METRICS_FILE

    @property
    def eval_history(self) -> Path:
        return self.root / EVAL_HISTORY_FILE

    @property
    def train_log(self) -> Path:
        return self.root / TRAIN_LOG

    @property
    def lock(self) -> Path:
        return self.root / RUN_LOCK

    @property
    def hydra_config(self) -> Path:
        return self.root / ".hydra" / "config.yaml"
