"""Any folder of images, searched recursively, as a streamed Dataset."""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image
from torch.utils.data import Dataset

from gan_cli.data.transforms import check_image_args, resize_crop_to_signed
from gan_cli.errors import UserError

NO_LABEL = -1

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff", ".ppm", ".pgm"}
)

_PIL_MODE_FOR_CHANNELS = {1: "L", 3: "RGB"}


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
        self.mode = _PIL_MODE_FOR_CHANNELS[channels]
        self.transform = resize_crop_to_signed(resolution, channels)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        with Image.open(self.paths[index]) as image:
            # convert() also flattens palettes and alpha and takes a GIF's first frame.
            pixels = image.convert(self.mode)
        return self.transform(pixels), NO_LABEL
