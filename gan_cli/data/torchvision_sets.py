"""MNIST, Fashion-MNIST, CIFAR-10 and CelebA through torchvision, in torchvision's on-disk layouts.

The three small sets come back as whole tensors (one batched resize instead of 60k PIL calls);
CelebA (200k JPEGs) comes back as a streamed Dataset. Missing files raise a UserError before any
training starts, naming each expected path under the root the user gave and how to get the data.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from urllib.error import URLError

import torch
from torch.utils.data import Dataset
from torchvision.datasets import CIFAR10, MNIST, CelebA, FashionMNIST

from gan_cli.data.cifar_files import read_batches
from gan_cli.data.decoding import SkippingFiles, decode_image
from gan_cli.data.transforms import (
    check_image_args,
    resize_batch,
    resize_crop_to_signed,
    uint8_to_signed,
)
from gan_cli.errors import UserError

NO_LABEL = -1

# What a broken or half-copied dataset raises inside torchvision's readers.
_READ_ERRORS = (RuntimeError, OSError, URLError, ValueError, AssertionError, EOFError,
                pickle.UnpicklingError)

_CELEBA_TEXT_FILES = (
    "list_eval_partition.txt",
    "identity_CelebA.txt",
    "list_attr_celeba.txt",
    "list_bbox_celeba.txt",
    "list_landmarks_align_celeba.txt",
)
_CELEBA_SPLITS = ("train", "valid", "test", "all")


def mnist(root: str, resolution: int = 32, download: bool = False, train: bool = True):
    """MNIST as (images N x 1 x R x R in [-1, 1], labels N long); files in <root>/MNIST/raw/."""
    return _mnist_family(MNIST, root, resolution, download, train)


def fashion_mnist(root: str, resolution: int = 32, download: bool = False, train: bool = True):
    """Fashion-MNIST as (images, labels) like mnist(); files in <root>/FashionMNIST/raw/."""
    return _mnist_family(FashionMNIST, root, resolution, download, train)


def cifar10(root: str, resolution: int = 32, download: bool = False, train: bool = True):
    """CIFAR-10 as (images N x 3 x R x R in [-1, 1], labels N long); <root>/cifar-10-batches-py/."""
    check_image_args(resolution)
    root_path = _user_root(root)
    folder = root_path / CIFAR10.base_folder
    names = [name for name, _ in CIFAR10.train_list + CIFAR10.test_list] + ["batches.meta"]
    how_to_get = (
        f"Get it with `python -c 'from torchvision.datasets import CIFAR10; "
        f"CIFAR10(\"{root_path}\", download=True)'` on a machine with internet (or run once with "
        "data.download=true), or download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz "
        f"and extract it inside {root_path}"
    )
    split = [name for name, _ in (CIFAR10.train_list if train else CIFAR10.test_list)]
    data, targets = _open_dataset(
        lambda: _read_cifar10(root_path, split, download),
        "CIFAR-10", root, download, [folder / name for name in names], how_to_get,
    )
    pixels = torch.from_numpy(data).permute(0, 3, 1, 2)  # stored as N x H x W x C
    images = resize_batch(uint8_to_signed(pixels), resolution).contiguous()
    return images, torch.as_tensor(targets, dtype=torch.long)


def _read_cifar10(root_path: Path, split: list[str], download: bool):
    """The split's batches, read without unpickling anything but arrays (gan_cli/data/cifar_files.py);
    with download=true, fetched first (the archive's md5 checked) if they are not there."""
    folder = root_path / CIFAR10.base_folder
    if download and not all((folder / name).is_file() for name in split):
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(CIFAR10.url, str(root_path), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
    return read_batches([folder / name for name in split])


def celeba(root: str, resolution: int = 64, split: str = "train", download: bool = False) -> Dataset:
    """CelebA aligned faces as a streamed Dataset of (image 3 x R x R in [-1, 1], -1)."""
    check_image_args(resolution)
    if split not in _CELEBA_SPLITS:
        raise UserError(
            f"data.dataset.split={split!r} is not a CelebA split: use one of "
            f"{', '.join(_CELEBA_SPLITS)} (the partition in list_eval_partition.txt)."
        )
    root_path = _user_root(root)
    folder = root_path / CelebA.base_folder
    how_to_get = (
        "Download it from the official page https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html "
        "(Google Drive): extract 'Img/img_align_celeba.zip' so that the JPEGs (000001.jpg ...) "
        f"lie in {folder / 'img_align_celeba'}, and put the Anno/*.txt files and "
        f"Eval/list_eval_partition.txt directly in {folder}. torchvision's download "
        "(data.download=true) needs the gdown package and often hits Google Drive's quota. "
        "Any folder of face images also works with data=folder"
    )
    expected = [folder / "img_align_celeba"] + [folder / name for name in _CELEBA_TEXT_FILES]
    return _open_dataset(
        lambda: _UnlabeledCelebA(
            str(root_path),
            split=split,
            target_type=[],
            transform=resize_crop_to_signed(resolution, channels=3),
            download=download,
        ),
        "CelebA", root, download, expected, how_to_get,
    )


class _UnlabeledCelebA(CelebA):
    """CelebA whose items are (image, -1): the GAN ignores attributes, and None does not collate.

    A face that fails to decode (truncated, damaged, deleted) is skipped for the next one.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.images_folder = Path(self.root, self.base_folder, "img_align_celeba")
        self.files = SkippingFiles(len(self.filename), str(self.images_folder))

    # md5 only guards downloads, and hashing the annotation files on every start is slow.
    def _check_integrity(self) -> bool:
        folder = os.path.join(self.root, self.base_folder)
        return os.path.isdir(os.path.join(folder, "img_align_celeba")) and all(
            os.path.isfile(os.path.join(folder, name)) for name in _CELEBA_TEXT_FILES
        )

    def __getitem__(self, index: int):
        return self.transform(self.files.load(index, self._decode)), NO_LABEL

    def _decode(self, position: int):
        return decode_image(self.images_folder / self.filename[position], "RGB")


def _mnist_family(dataset_class, root, resolution: int, download: bool, train: bool):
    check_image_args(resolution)
    root_path = _user_root(root)
    raw_folder = root_path / dataset_class.__name__ / "raw"
    # torchvision insists on both splits being present, whichever one is loaded.
    names = [
        f"{split}-{kind}"
        for split in ("train", "t10k")
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
    ]
    class_name = dataset_class.__name__
    how_to_get = (
        f"Get it with `python -c 'from torchvision.datasets import {class_name}; "
        f"{class_name}(\"{root_path}\", download=True)'` on a machine with internet (or run once "
        f"with data.download=true) and copy its {class_name} folder (uncompressed idx files) "
        f"into {root_path}"
    )
    dataset = _open_dataset(
        lambda: dataset_class(str(root_path), train=train, download=download),
        class_name, root, download, [raw_folder / name for name in names], how_to_get,
    )
    images = resize_batch(uint8_to_signed(dataset.data.unsqueeze(1)), resolution).contiguous()
    return images, dataset.targets.long()


def _user_root(root) -> Path:
    if root is None or str(root).strip() == "":
        raise UserError(
            "data.root is not set, but this dataset is read from disk: pass data.root=<folder> "
            "pointing at the folder that holds (or should receive) the dataset."
        )
    return Path(os.path.expanduser(str(root))).absolute()


def _open_dataset(open_fn, label: str, root, download: bool, expected: list[Path], how_to_get: str):
    """Run a torchvision constructor, turning missing or unreadable data into one UserError."""
    if not download:
        missing = [path for path in expected if not path.exists()]
        if missing:
            raise UserError(
                f"{label} was not found under data.root={root}; these files are missing: "
                f"{', '.join(str(path) for path in missing)}. {how_to_get}; "
                "or pass data.root=<folder> to point at the folder where it already lies."
            )
    try:
        return open_fn()
    except _READ_ERRORS as error:
        action = "downloaded into" if download else "read from"
        raise UserError(
            f"{label} could not be {action} data.root={root} ({type(error).__name__}: {error}). "
            f"The expected files are {', '.join(str(path) for path in expected)}. {how_to_get}; "
            "or pass data.root=<folder> to point at a complete copy."
        ) from error
