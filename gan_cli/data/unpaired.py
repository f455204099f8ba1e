"""Unaligned image domains from disk for CycleGAN: root/trainA, root/trainB, root/testA, root/testB.

That is the layout of CycleGAN's archives (horse2zebra, monet2photo, summer2winter_yosemite...).
The training split pairs every input image with a target image drawn by the sample seed, each side
with its own jitter draw (resize to load_size, random crop, random flip); the test split pairs input
i with target i % len(targets), resized straight to resolution.
"""

from __future__ import annotations

import os
from pathlib import Path

from gan_cli.data.folder import IMAGE_SUFFIXES, find_images, readable_images
from gan_cli.data.pairs import (
    ImageFiles,
    JointJitter,
    UnpairedImages,
    check_direction,
    check_split,
)
from gan_cli.errors import UserError

SPLITS = ("train", "test")

_LAYOUT_HELP = (
    "Unpaired data uses CycleGAN's layout: root/trainA/, root/trainB/, root/testA/ and root/testB/, "
    "each a folder of images of one domain."
)


def unpaired_images(
    root: str,
    split: str = "train",  # train | test; only train is random (target choice and jitter)
    direction: str = "AtoB",  # AtoB: domain A is the input; BtoA swaps the domains
    resolution: int = 256,  # the size of both images of an item
    load_size: int = 286,  # train: resize to this, then random-crop to resolution
    flip: bool = True,  # train: random horizontal flip, drawn for each side on its own
    channels: int = 3,  # of both domains
) -> UnpairedImages:
    """The two domains of one split; len is the number of input-domain images."""
    check_split(split, SPLITS, "an unpaired (CycleGAN) dataset")
    swap = check_direction(direction)
    if split == "train":
        jitter = JointJitter(load_size, resolution, flip)
    else:
        jitter = JointJitter(resolution, resolution, False)
    root_dir = _root_folder(root)
    domain_a, domain_b = (
        ImageFiles(_domain_images(root_dir, name), channels, jitter, where=str(root_dir / name))
        for name in (f"{split}A", f"{split}B")
    )
    if swap:
        domain_a, domain_b = domain_b, domain_a
    return UnpairedImages(domain_a, domain_b, random=split == "train")


def _root_folder(root) -> Path:
    if root is None or str(root).strip() == "":
        raise UserError(f"data.root is not set: pass data.root=<folder>. {_LAYOUT_HELP}")
    root_dir = Path(os.path.expanduser(str(root))).absolute()
    if not root_dir.is_dir():
        raise UserError(f"data.root={root}: the folder {root_dir} does not exist. {_LAYOUT_HELP}")
    return root_dir


def _domain_images(root_dir: Path, name: str) -> list[Path]:
    folder = root_dir / name
    if not folder.is_dir():
        present = sorted(p.name for p in root_dir.iterdir() if p.is_dir())
        raise UserError(
            f"The domain folder {folder} is missing (the folders in {root_dir}: "
            f"{', '.join(present) or 'none'}). {_LAYOUT_HELP}"
        )
    paths = find_images(folder)
    if not paths:
        raise UserError(
            f"The domain folder {folder} is empty: it holds no {', '.join(sorted(IMAGE_SUFFIXES))} "
            f"files. {_LAYOUT_HELP}"
        )
    return readable_images(paths, folder)
