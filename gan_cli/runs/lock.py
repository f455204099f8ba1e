"""One gan-train process per run folder: <run>/.lock, held with flock for the run's whole life.

The operating system drops the lock when its process ends, however it ends, so a crashed or
killed run never leaves a folder locked. The file keeps the holder's pid and start time for the
message a second process gets.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from gan_cli.errors import UserError
from gan_cli.runs.paths import RunPaths


class RunFolderInUse(UserError):
    """Another live gan-train process holds the run folder."""


@contextlib.contextmanager
def run_folder_lock(run_dir):
    """Hold <run>/.lock while the block runs; RunFolderInUse when another process holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = RunPaths(run_dir).lock
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunFolderInUse(
                f"The run folder {Path(run_dir)} is in use by another gan-train ({holder}); two runs in one folder "
                f"would overwrite each other's checkpoints. Wait for it to end, stop it, or give this run its own "
                f"folder (hydra.run.dir=...)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock


def remove_stale_temporary_files(run_dir) -> list[Path]:
    """Delete the .<name>.tmp<pid> files a killed write left in the run folder (call with the lock held)."""
    paths = RunPaths(run_dir)
    removed = []
    for folder in (paths.root, paths.checkpoints):
        if folder.is_dir():
            for stale in folder.glob(".*.tmp*"):
                if stale.is_file():
                    stale.unlink(missing_ok=True)
                    removed.append(stale)
    return removed
