"""gan-sample for image-to-image models: translate (or upscale) the user's image files, or show the
held-out split as rows of input | output | target."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from gan_cli.data.folder import IMAGE_SUFFIXES, find_images
from gan_cli.data.image_modes import UNREADABLE, Notes, read_signed
from gan_cli.errors import UserError
from gan_cli.inference import images
from gan_cli.inference.image_to_image import (
    DIRECTIONS,
    Translator,
    comparison,
    heldout_pairs,
    preview_indices,
)
from gan_cli.runs.paths import RunPaths


def input_files(value) -> list[Path]:
    """The image files `input=` names: one file, or every image under a folder (sorted, any depth)."""
    path = Path(str(value)).expanduser()
    if path.is_dir():
        files = find_images(path)
        if not files:
            raise UserError(f"input={value} is a folder without images (nothing under it ends in "
                            f"{', '.join(sorted(IMAGE_SUFFIXES))}); point input= at an image or a folder of images.")
        return files
    if not path.is_file():
        raise UserError(f"input={value} does not exist: point input= at an image file or a folder of images.")
    return [path]


def read_image(path: Path, channels: int, resolution: int | None, notes: Notes) -> torch.Tensor:
    """One file in any image mode as the model's input (C, H, W) in [-1, 1], read as training data is
    (gan_cli.data.image_modes); resized and centre-cropped unless resolution is None."""
    try:
        return read_signed(path, channels, resolution, notes)
    except UNREADABLE as error:
        raise UserError(f"input={path} is not an image gan-sample can read ({type(error).__name__}: {error}); give "
                        f"an image file ({', '.join(sorted(IMAGE_SUFFIXES))}) or a folder of them.") from None


def _check_direction(translator: Translator, direction: str) -> str:
    direction = str(direction)
    if direction not in DIRECTIONS:
        raise UserError(f"direction={direction!r} is not a direction; use AtoB or BtoA (CycleGAN models only).")
    translator.network(direction)
    return direction


def translate_to_files(translator: Translator, config, ckpt, input, out=None, direction="AtoB") -> list[Path]:
    """Translate every image `input` names; write <out>/<name>.png (out: a folder, or a .png for one image)."""
    direction = _check_direction(translator, direction)
    files = input_files(input)
    channels = int(config.data.input_channels if direction == "AtoB" else config.data.channels)
    resolution = int(config.data.resolution) if translator.task.resizes_inputs else None
    out = Path(out) if out else RunPaths.of_checkpoint(ckpt).samples / f"translated_{direction}"
    single = len(files) == 1 and out.suffix.lower() in (".png", ".jpg", ".jpeg")
    notes = Notes(lambda message: print(message, file=sys.stderr))  # gan-sample's log is off: say them
    written = []
    for path in files:
        output = translator(read_image(path, channels, resolution, notes).unsqueeze(0), direction)
        target = out if single else out / f"{path.stem}.png"
        written.append(images.save_grid(output, target, nrow=1))
    return written


def heldout_grid_to_file(translator: Translator, config, ckpt, n=8, seed=0, out=None, direction="AtoB") -> Path:
    """n held-out examples (chosen by seed) as rows of input | output | target in one PNG."""
    direction = _check_direction(translator, direction)
    pairs = heldout_pairs(config.data)
    rows = comparison(translator, pairs, preview_indices(len(pairs), n, seed), direction, config.data.get("crop"))
    out = Path(out) if out else RunPaths.of_checkpoint(ckpt).samples / f"heldout_{direction}_seed{seed}_n{n}.png"
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError(f"out={out} must end in .png or .jpg (the grid image); with input= it may be a folder.")
    return images.save_grid(rows, out, nrow=3)
