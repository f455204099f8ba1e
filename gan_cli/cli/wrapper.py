"""What every command does with errors: a bad input ends in one paragraph on stderr and a
non-zero exit status, never a traceback."""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Callable, TypeVar

from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode

from gan_cli.distributed.environment import is_other_rank
from gan_cli.errors import UserError, exit_with
from gan_cli.runs.files import check_folder_path

T = TypeVar("T")


def run_command(task: Callable[[], T]) -> T:
    """Run a command's work. A UserError, also one that Hydra wrapped while building a `_target_`,
    becomes its one-paragraph message and exit status. In a multirun it is raised instead: the
    sweep records the job as failed and goes on with the others."""
    try:
        return task()
    except Exception as error:
        user_error = as_user_error(error)
        if user_error is None:
            raise
        if in_multirun():
            raise user_error from None
        exit_with(user_error, say=not is_other_rank(os.environ))  # torchrun/SLURM: rank 0 says it
    finally:
        if not in_multirun():
            # The process ends next: spare the interpreter's final garbage collection over every
            # object torch made at import (about 0.4 s of each command's end on 2 cores).
            gc.freeze()


def as_user_error(error: BaseException) -> UserError | None:
    """The UserError behind `error` (itself, or the cause of Hydra's InstantiationException)."""
    while isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__
    return error if isinstance(error, UserError) else None


def in_multirun() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def output_path(cfg, key: str = "out"):
    """cfg[key], a file to write (or None for the default); its folder must not lie under a file."""
    value = cfg[key]
    if value is not None:
        check_folder_path(Path(str(value)).parent, key)
    return value
