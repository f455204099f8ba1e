"""CIFAR-10's python batches read as data: a pickle that may hold only arrays, lists, numbers and strings.

The files are Python pickles, and `pickle.load` (torchvision's reader) runs whatever a file names,
so a data.root from a shared run folder or a checkpoint could make a run call any function. Here
the unpickler resolves no name but the few that rebuild a NumPy array; anything else is refused by
name, before it is called.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from gan_cli.errors import UserError

# The only globals a CIFAR-10 batch pickles: NumPy's array reconstruction (numpy 1.x and 2.x
# spell its module differently) and the codec that protocol 2 uses for the array's bytes.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"it names {module}.{name}, which a CIFAR-10 batch never holds "
                                         f"(only NumPy arrays, lists, numbers and strings are read)")
        return super().find_class(module, name)


def read_batch(path: Path) -> dict:
    """One CIFAR-10 batch file as a dict, its keys as text (as torchvision reads them)."""
    try:
        with open(path, "rb") as handle:
            entry = _ArrayUnpickler(handle, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as error:
        raise UserError(f"{path} is not a CIFAR-10 python batch ({error}); use the files of "
                        f"cifar-10-python.tar.gz, or a complete copy of them.") from None
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), np.ndarray) \
            or not isinstance(entry.get("labels", entry.get("fine_labels")), list):
        raise UserError(f"{path} is not a CIFAR-10 python batch (it lacks its 'data' array or 'labels' list); "
                        f"use the files of cifar-10-python.tar.gz.")
    return entry


def read_batches(paths: list[Path]) -> tuple[np.ndarray, list[int]]:
    """(images N x 32 x 32 x 3 uint8, labels) of the batch files, in order."""
    data, labels = [], []
    for path in paths:
        entry = read_batch(path)
        images = entry["data"]
        if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
            raise UserError(f"{path}: its 'data' is a {images.dtype} array of shape {images.shape}, not CIFAR-10's "
                            f"N x 3072 uint8 rows; use the files of cifar-10-python.tar.gz.")
        data.append(images)
        batch_labels = entry.get("labels", entry.get("fine_labels"))
        if len(batch_labels) != len(images) or not all(isinstance(v, int) and 0 <= v < 10 for v in batch_labels):
            raise UserError(f"{path}: its labels are not {len(images)} class numbers from 0 to 9; use the files of "
                            f"cifar-10-python.tar.gz.")
        labels.extend(batch_labels)
    return np.vstack(data).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels
