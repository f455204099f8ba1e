"""A job's record of itself: <run>/status.json, and what else a summary reads from a run folder.

status.json holds the job's overrides, its status (running, finished, failed, interrupted), the
error's first line, the steps done and the final values. It is rewritten whole and renamed into
place, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from pathlib import Path

STATUS_FILE = "status.json"
METRICS_FILE = "metrics.json"  # evaluation results a run may write: {"fid": 31.2, ...}, nesting allowed
STATUSES = ("running", "finished", "failed", "interrupted")
_STEP_FILE = re.compile(r"step_(\d+)\.pt$")


def read_status(run_dir) -> dict | None:
    try:
        status = json.loads((Path(run_dir) / STATUS_FILE).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return status if isinstance(status, dict) else None


def write_status(run_dir, **fields) -> dict:
    """Merge fields into the job's status.json and return the whole record."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    status = {**(read_status(run_dir) or {}), **fields, "updated": time.strftime("%Y-%m-%dT%H:%M:%S")}
    path = run_dir / STATUS_FILE
    tmp = path.with_name(f".{STATUS_FILE}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(status, indent=2, default=str) + "\n")
    os.replace(tmp, path)
    return status


def override_key(override: str) -> str:
    """`model` for model=dcgan, `optim.lr` for +optim.lr=1e-4 or ~optim.lr."""
    return override.split("=", 1)[0].lstrip("+~")


def override_value(override: str) -> str:
    return override.split("=", 1)[1] if "=" in override else ""


def first_line(error: BaseException) -> str:
    """The error as one line: a UserError's message, otherwise the exception's type and message."""
    from gan_cli.errors import UserError

    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if isinstance(error, UserError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def last_checkpoint_step(run_dir) -> int | None:
    """The step of the newest step_XXXXXXX.pt in <run>/checkpoints, read from the file names."""
    steps = [int(m.group(1)) for p in (Path(run_dir) / "checkpoints").glob("step_*.pt") if (m := _STEP_FILE.search(p.name))]
    return max(steps) if steps else None


def finite_values(values: dict) -> dict[str, float]:
    """The numbers among values (nested dicts flattened with '/'), as floats; NaN and inf kept out."""
    flat: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update({f"{key}/{k}": v for k, v in finite_values(value).items()})
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            flat[str(key)] = float(value)
    return flat


def read_metrics(run_dir) -> dict[str, float]:
    """Evaluation results the run wrote to metrics.json, flattened; {} when there are none."""
    try:
        metrics = json.loads((Path(run_dir) / METRICS_FILE).read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return {}
    return finite_values(metrics) if isinstance(metrics, dict) else {}
