"""Aligned image pairs from disk for pix2pix, in either of the two common layouts.

  side by side   root/<split>/*.jpg: each file is A (left half) and B (right half) next to each
                 other, as in pix2pix's facades, maps, cityscapes and edges2shoes archives
  two folders    root/<split>/A/ and root/<split>/B/, with the same file names on both sides

The training split gets pix2pix's joint jitter (resize to load_size, random crop to resolution,
random horizontal flip, the same draw for input and target); the val and test splits are resized
straight to resolution.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image

from gan_cli.data.decoding import SkippingFiles, decode_image
from gan_cli.data.folder import IMAGE_SUFFIXES, find_images, readable_images
from gan_cli.data.pairs import (
    ImagePairs,
    JointJitter,
    check_direction,
    check_split,
    pil_mode,
    to_signed,
)
from gan_cli.errors import UserError

SPLITS = ("train", "val", "test")
LAYOUTS = ("auto", "side_by_side", "two_folders")

_LAYOUT_HELP = (
    "Paired data comes in one of two layouts: side by side, root/<split>/*.jpg with A in the left "
    "half and B in the right half of each file (pix2pix's facades, maps, edges2shoes); or two "
    "folders, root/<split>/A/ and root/<split>/B/ holding files with the same names."
)


def paired_images(
    root: str,
    split: str = "train",  # train | val | test; only train is jittered
    layout: str = "auto",  # auto | side_by_side | two_folders; auto: two folders when <split>/A exists
    direction: str = "AtoB",  # AtoB: A is the input; BtoA swaps the sides
    resolution: int = 256,  # the size of both images of an item
    load_size: int = 286,  # train: resize to this, then random-crop to resolution
    flip: bool = True,  # train: random horizontal flip of the pair
    channels: int = 3,  # of the target
    input_channels: int | None = None,  # of the input; None: same as channels
) -> "PairedImageFiles":
    """The aligned (input, target) pairs of one split of a pix2pix-style dataset."""
    check_split(split, SPLITS, "a paired dataset")
    swap = check_direction(direction)
    if layout not in LAYOUTS:
        raise UserError(f"data.layout={layout!r} is not a layout: use {', '.join(LAYOUTS)}. {_LAYOUT_HELP}")
    split_dir = _split_folder(root, split)
    if layout == "auto":
        layout = "two_folders" if (split_dir / "A").is_dir() else "side_by_side"
    if layout == "two_folders":
        sources = _two_folder_pairs(split_dir)
    else:
        sources = _side_by_side_files(split_dir)
    if split == "train":
        jitter = JointJitter(load_size, resolution, flip)
    else:
        jitter = JointJitter(resolution, resolution, False)
    modes = (pil_mode(input_channels or channels, "data.input_channels"), pil_mode(channels))
    return PairedImageFiles(sources, layout, jitter, swap, modes, where=str(split_dir))


class PairedImageFiles(ImagePairs):
    """Pairs read from files: sources[i] is one side-by-side file or an (A file, B file) pair.

    A pair whose file fails to decode is skipped for the next pair (SkippingFiles); `where` names the folder.
    """

    task = "paired"

    def __init__(self, sources: list, layout: str, jitter: JointJitter, swap: bool, modes: tuple[str, str],
                 where: str):
        self.sources, self.layout, self.jitter, self.swap = sources, layout, jitter, swap
        self.input_mode, self.target_mode = modes
        self.takes_sample_seed = jitter.active
        self.files = SkippingFiles(len(sources), where)

    def __len__(self) -> int:
        return len(self.sources)

    def _load(self, index: int) -> tuple[Image.Image, Image.Image]:
        """(A, B) of item index (or of the next pair that decodes), before direction and jitter."""
        return self.files.load(index, self._decode)

    def _decode(self, position: int) -> tuple[Image.Image, Image.Image]:
        source = self.sources[position]
        if self.layout == "two_folders":
            return decode_image(source[0], "RGB"), decode_image(source[1], "RGB")
        joined = decode_image(source, "RGB")
        half = joined.width // 2
        return joined.crop((0, 0, half, joined.height)), joined.crop((half, 0, 2 * half, joined.height))

    def pair(self, index: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        first, second = self._load(index)
        if self.swap:
            first, second = second, first
        draw = self.jitter.draw(generator) if generator is not None else None
        source = self.jitter.apply(first.convert(self.input_mode), draw)
        target = self.jitter.apply(second.convert(self.target_mode), draw)
        return to_signed(source), to_signed(target)


def _split_folder(root, split: str) -> Path:
    if root is None or str(root).strip() == "":
        raise UserError(f"data.root is not set: pass data.root=<folder>. {_LAYOUT_HELP}")
    root_dir = Path(os.path.expanduser(str(root))).absolute()
    if not root_dir.is_dir():
        raise UserError(f"data.root={root}: the folder {root_dir} does not exist. {_LAYOUT_HELP}")
    split_dir = root_dir / split
    if not split_dir.is_dir():
        present = sorted(p.name for p in root_dir.iterdir() if p.is_dir())
        raise UserError(
            f"data.root={root} has no {split}/ folder for data.split={split} ({split_dir} is missing; "
            f"the folders there: {', '.join(present) or 'none'}). {_LAYOUT_HELP}"
        )
    return split_dir


def _side_by_side_files(split_dir: Path) -> list[Path]:
    """The split's readable image files (this folder only), each checked to be twice as wide as tall."""
    paths = sorted(p for p in split_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise UserError(f"{split_dir} holds no image files. {_LAYOUT_HELP}")
    return readable_images(paths, split_dir, check=_check_side_by_side)


def _check_side_by_side(path: Path, image: Image.Image) -> None:
    width, height = image.size
    if width != 2 * height:
        raise UserError(
            f"{path} is {width}x{height} (width x height), not twice as wide as tall: a side-by-side "
            f"pair file holds A in its left half and B in its right half. {_LAYOUT_HELP}"
        )


def _two_folder_pairs(split_dir: Path) -> list[tuple[Path, Path]]:
    """(A file, B file) with the same name (path without suffix), in sorted order."""
    sides = []
    for side in ("A", "B"):
        if not (split_dir / side).is_dir():
            raise UserError(f"{split_dir / side} is missing: the two-folder layout needs A/ and B/. {_LAYOUT_HELP}")
        found = find_images(split_dir / side)
        sides.append({path.relative_to(split_dir / side).with_suffix("").as_posix(): path for path in found})
    names_a, names_b = sides[0].keys(), sides[1].keys()
    if names_a != names_b:
        only_a, only_b = sorted(names_a - names_b), sorted(names_b - names_a)
        raise UserError(
            f"{split_dir}/A and {split_dir}/B do not hold the same file names ({len(names_a)} vs "
            f"{len(names_b)} images): only in A: {_few(only_a)}; only in B: {_few(only_b)}. Each A "
            "image needs a B image of the same name (the suffix may differ)."
        )
    if not names_a:
        raise UserError(f"{split_dir}/A and {split_dir}/B hold no images. {_LAYOUT_HELP}")
    return [(sides[0][name], sides[1][name]) for name in sorted(names_a)]


def _few(names: list[str], shown: int = 5) -> str:
    if not names:
        return "none"
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
