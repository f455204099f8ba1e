"""Self-describing checkpoints, written atomically and loaded as data (weights_only=True).

A checkpoint holds G, D, the EMA generator (if any), both optimizers, the step, the RNG states,
the data position and the resolved config, so gan-sample and resume need nothing else.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

from gan_cli.errors import UserError

FORMAT = "gan-cli-checkpoint/1"
STEP_FILE = re.compile(r"step_(\d+)\.pt$")


def save_atomic(payload: dict, path: Path) -> None:
    """Write to a temporary file in the same folder, fsync, then rename over the target.

    A crash or Ctrl-C at any moment leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path) -> dict:
    """Load a gan-cli checkpoint on the CPU, as data only."""
    path = Path(path)
    if not path.is_file():
        hint = ""
        if path.is_dir():
            found = sorted(path.rglob("*.pt"))
            hint = f" It is a folder; checkpoints in it: {', '.join(str(p) for p in found[:5]) or 'none'}."
        raise UserError(
            f"ckpt={path} is not a checkpoint file.{hint} Pass the path of a .pt file written by gan-train, "
            f"such as outputs/<run>/checkpoints/last.pt."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means "not our checkpoint"
        raise UserError(
            f"{path} could not be read as a gan-cli checkpoint ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}). Pass a .pt file written by gan-train; "
            f"a truncated or foreign file cannot be used."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"{path} is not a gan-cli checkpoint (no '{FORMAT}' marker); pass a .pt file written by gan-train.")
    return payload


class CheckpointWriter:
    """Writes checkpoints/step_XXXXXXX.pt and checkpoints/last.pt, keeping the newest `keep` step files."""

    def __init__(self, folder: Path, keep: int = 3):
        self.folder = Path(folder)
        self.keep = keep
        self.last_path: Path | None = None
        self.last_step: int | None = None

    def save(self, payload: dict, step: int) -> Path:
        step_path = self.folder / f"step_{step:07d}.pt"
        save_atomic(payload, step_path)
        self._link_last(step_path)
        self._prune()
        self.last_path, self.last_step = self.folder / "last.pt", step
        return step_path

    def save_best(self, payload: dict) -> Path:
        """checkpoints/best.pt: the state with the best evaluation so far (kept beside last.pt)."""
        path = self.folder / "best.pt"
        save_atomic(payload, path)
        return path

    def _link_last(self, step_path: Path) -> None:
        # A hard link makes last.pt free; the rename keeps the swap atomic.
        tmp = self.folder / f".last.pt.tmp{os.getpid()}"
        tmp.unlink(missing_ok=True)
        try:
            os.link(step_path, tmp)
        except OSError:
            import shutil

            shutil.copyfile(step_path, tmp)
        os.replace(tmp, self.folder / "last.pt")

    def _prune(self) -> None:
        steps = sorted(p for p in self.folder.glob("step_*.pt") if STEP_FILE.search(p.name))
        for old in steps[: max(0, len(steps) - self.keep)]:
            old.unlink(missing_ok=True)
