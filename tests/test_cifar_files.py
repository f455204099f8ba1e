"""CIFAR-10's batches are pickles: gan-cli reads only their arrays, and a crafted one runs nothing."""

from __future__ import annotations

import pickle

import pytest
from conftest import run_cli
from fixtures import write_cifar10

from gan_cli.data.torchvision_sets import cifar10
from gan_cli.errors import UserError


class _Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("batch", ["data_batch_3", "test_batch"])
def test_a_batch_that_names_a_function_is_refused_and_nothing_runs(batch, tmp_path):
    write_cifar10(tmp_path, n_per_batch=3)
    marker = tmp_path / "ran"
    with open(tmp_path / "cifar-10-batches-py" / batch, "wb") as handle:
        pickle.dump({"data": _Payload(marker), "labels": [0]}, handle, protocol=2)
    with pytest.raises(UserError, match=rf"{batch} is not a CIFAR-10 python batch \(it names io.open"):
        cifar10(str(tmp_path), resolution=16, train=batch != "test_batch")
    assert not marker.exists()


def test_gan_train_on_a_crafted_cifar_folder_exits_2(tmp_path):
    write_cifar10(tmp_path / "data", n_per_batch=3)
    marker = tmp_path / "ran"
    with open(tmp_path / "data" / "cifar-10-batches-py" / "data_batch_1", "wb") as handle:
        pickle.dump(_Payload(marker), handle, protocol=2)
    result = run_cli("gan-train", "data=cifar10", f"data.root={tmp_path / 'data'}", "trainer.device=cpu",
                     "trainer.steps=1", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2 and "data_batch_1 is not a CIFAR-10 python batch" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not marker.exists()


def test_wrong_arrays_and_labels_are_named(tmp_path):
    import numpy as np

    write_cifar10(tmp_path, n_per_batch=3)
    path = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    with open(path, "wb") as handle:
        pickle.dump({"data": np.zeros((3, 10), dtype=np.uint8), "labels": [0, 1, 2]}, handle, protocol=2)
    with pytest.raises(UserError, match="not CIFAR-10's N x 3072 uint8 rows"):
        cifar10(str(tmp_path), resolution=16)
    with open(path, "wb") as handle:
        pickle.dump({"data": np.zeros((3, 3072), dtype=np.uint8), "labels": [0, 1, 12]}, handle, protocol=2)
    with pytest.raises(UserError, match="class numbers from 0 to 9"):
        cifar10(str(tmp_path), resolution=16)
