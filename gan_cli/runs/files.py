"""Atomic writes: a temporary file in the same folder, flushed, then renamed over the target.

A crash or Ctrl-C at any moment leaves either the old file or the new one, never half of one.
Every file gan-cli writes into a run folder goes through here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import BinaryIO, Callable

from gan_cli.errors import UserError


def temporary_name(path: Path) -> Path:
    """.<name>.tmp<pid>, beside the target (the rename stays on one file system)."""
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def write_atomic(path, write: Callable[[BinaryIO], None], durable: bool = False) -> Path:
    """Call write(file) on a temporary file, then rename it over `path`.

    durable=True also fsyncs before the rename (checkpoints: the bytes are on disk before the
    name points at them).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomic(path, text: str) -> Path:
    return write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


def write_json_atomic(path, value) -> Path:
    return write_text_atomic(path, json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def link_atomic(source: Path, target: Path) -> Path:
    """Make `target` name the same bytes as `source` (a hard link, else a copy), atomically."""
    tmp = temporary_name(target)
    tmp.unlink(missing_ok=True)
    try:
        try:
            os.link(source, tmp)
        except OSError:  # no hard links on this file system
            import shutil

            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def check_folder_path(path, key: str) -> None:
    """A folder gan-cli will create (or write into) must not lie under a regular file."""
    text = str(path).split("$", 1)[0]  # the literal part before any ${...} interpolation
    if not text:
        return
    for folder in [Path(text), *Path(text).parents]:
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{key}={path} cannot be created: {folder} is a file, not a folder. Choose a path "
                            f"under a folder (or move the file away).")
