"""Any folder of images, searched recursively, as a streamed Dataset."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from torch.utils.data import Dataset

from gan_cli.data.decoding import UNREADABLE, SkippingFiles, decode_image
from gan_cli.data.image_modes import CHANNEL_MODES, check_mode
from gan_cli.data.transforms import check_image_args, resize_crop_to_signed
from gan_cli.errors import UserError

log = logging.getLogger("gan_cli")

NO_LABEL = -1

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm", ".pgm"}
)


def folder(root: str, resolution: int = 64, channels: int = 3) -> "ImageFolderDataset":
    """Every image under root (any depth), resized and centre-cropped to R x R, label -1."""
    return ImageFolderDataset(root, resolution, channels)


def find_images(root: Path) -> list[Path]:
    """Image files under root, any depth, suffix case-insensitive, in a stable (sorted) order.

    Sorting makes index i mean the same file on every rank and after a resume.
    """
    found = []
    for directory, _, filenames in os.walk(root, followlinks=True):
        for filename in filenames:
            if os.path.splitext(filename)[1].lower() in IMAGE_SUFFIXES:
                found.append(Path(directory) / filename)
    return sorted(found)


class ImageFolderDataset(Dataset):
    """Images from a folder tree as (tensor C x R x R in [-1, 1], -1); the folder names no classes."""

    def __init__(self, root: str, resolution: int = 64, channels: int = 3):
        check_image_args(resolution, channels)
        if root is None or str(root).strip() == "":
            raise UserError(
                "data.root is not set: pass data.root=<folder> pointing at a folder of images "
                f"({', '.join(sorted(IMAGE_SUFFIXES))}, searched recursively)."
            )
        self.root = Path(os.path.expanduser(str(root))).absolute()
        if not self.root.is_dir():
            raise UserError(
                f"data.root={root} is not a folder ({self.root} does not exist or is a file): "
                "pass data.root=<folder> pointing at any folder of images "
                f"({', '.join(sorted(IMAGE_SUFFIXES))}; subfolders are searched too)."
            )
        self.paths = find_images(self.root)
        if not self.paths:
            raise UserError(
                f"data.root={root} holds no images: nothing under {self.root} (searched "
                f"recursively) ends in {', '.join(sorted(IMAGE_SUFFIXES))}. Point data.root=<folder> "
                "at a folder that contains image files."
            )
        self.paths = readable_images(self.paths, root)
        self.mode = CHANNEL_MODES[channels]
        self.transform = resize_crop_to_signed(resolution, channels)
        # A file whose header reads but whose pixels do not (a truncated JPEG) is skipped for the next one.
        self.files = SkippingFiles(len(self.paths), f"data.root={root}")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        pixels = self.files.load(index, lambda position: decode_image(self.paths[position], self.mode))
        return self.transform(pixels), NO_LABEL


def readable_images(paths: list[Path], root, check: Callable[[Path, Image.Image], None] | None = None) -> list[Path]:
    """The files whose image header PIL can read (checked once, up front); the others are left out
    with a count in the log, and a folder of nothing but unreadable files is an error naming some.
    An image in a mode that cannot be read as pixels is an error naming it, before any training.

    check(path, opened image), when given, may raise a UserError about a readable file (its size, say).
    """
    readable, unreadable = [], []
    for path in paths:
        try:
            with Image.open(path) as image:
                check_mode(image.mode, str(path))
                if check is not None:
                    check(path, image)
                readable.append(path)
        except UNREADABLE:
            unreadable.append(path)
    if not readable:
        shown = ", ".join(str(p) for p in unreadable[:3]) + (" ..." if len(unreadable) > 3 else "")
        raise UserError(f"data.root={root}: none of its {len(unreadable)} image files can be read as an image "
                        f"({shown}). Point data.root at a folder of valid images.")
    if unreadable:
        log.warning(f"data.root={root}: skipping {len(unreadable)} unreadable file(s) of {len(paths)} "
                    f"(e.g. {unreadable[0]}); training on the other {len(readable)}.")
    return readable
