"""A job's record of itself: <run>/status.json.

status.json holds the job's overrides, its status (running, finished, failed, interrupted), the
error's first line, the steps done and the final values. It is rewritten whole and renamed into
place, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import time

from gan_cli.errors import UserError
from gan_cli.runs.files import write_json_atomic
from gan_cli.runs.paths import RunPaths

STATUSES = ("running", "finished", "failed", "interrupted")


def read_status(run_dir) -> dict | None:
    try:
        status = json.loads(RunPaths(run_dir).status.read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None
    return status if isinstance(status, dict) else None


def write_status(run_dir, **fields) -> dict:
    """Merge fields into the job's status.json and return the whole record."""
    status = {**(read_status(run_dir) or {}), **fields, "updated": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_json_atomic(RunPaths(run_dir).status, status)
    return status


def override_key(override: str) -> str:
    """`model` for model=dcgan, `optim.lr` for +optim.lr=1e-4 or ~optim.lr."""
    return override.split("=", 1)[0].lstrip("+~")


def override_value(override: str) -> str:
    return override.split("=", 1)[1] if "=" in override else ""


def first_line(error: BaseException) -> str:
    """The error as one line: a UserError's message, otherwise the exception's type and message."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if isinstance(error, UserError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
