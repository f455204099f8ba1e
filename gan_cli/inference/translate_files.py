"""gan-sample for image-to-image models: translate (or upscale) the user's image files, saying once per
kind what was done to them to make them the model's inputs; or show the held-out split as rows of
three columns that the task names (paired: input | output | target)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

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


@dataclass
class Translated:
    """What translate_to_files wrote, and what it did to the files to make them the model's inputs."""

    paths: list[Path]
    conversions: list[str]  # one line per kind of conversion (none when every file already fits)


# How people call PIL's modes, in the conversion lines.
MODE_NAMES = {"1": "black-and-white", "L": "grayscale", "P": "palette", "RGB": "RGB", "RGBA": "RGBA",
              "LA": "grayscale+alpha", "I;16": "16-bit grayscale", "I": "32-bit grayscale", "F": "float grayscale"}
GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F", "I;16", "I;16L", "I;16B", "I;16N"})


@dataclass
class InputConversions:
    """The conversions of the user's files into the model's inputs, gathered by kind, said once each."""

    model: str                  # the model's name, for the lines
    channels: int               # what the model reads: 1 or 3 channels
    resolution: int | None      # and at what size (None: any size, as super-resolution)
    groups: dict = field(default_factory=dict)  # (mode, steps) -> [(path, (width, height))]

    def add(self, path: Path, size: tuple[int, int], mode: str) -> None:
        steps = self._steps(size, mode)
        if steps:
            self.groups.setdefault((mode, steps), []).append((path, size))

    def _steps(self, size: tuple[int, int], mode: str) -> tuple[str, ...]:
        steps = []
        if self.channels == 1 and mode not in GREY_MODES:
            steps.append("converted to grayscale (luma)")
        elif self.channels == 1 and mode != "L":
            steps.append("read as 8-bit grayscale")
        elif self.channels == 3 and mode in GREY_MODES:
            steps.append("grey copied to R, G and B")
        elif self.channels == 3 and mode != "RGB":
            steps.append("converted to RGB")
        if self.resolution is not None and min(size) != self.resolution:
            steps.append(f"shorter side resized to {self.resolution} (bilinear)")
        if self.resolution is not None and size[0] != size[1]:
            steps.append("centre-cropped to square")
        return tuple(steps)

    def lines(self) -> list[str]:
        colour = "grayscale" if self.channels == 1 else "RGB"
        if self.resolution is None:
            target, expects = f"{colour} at its own size", f"reads {self.channels}-channel images of any size"
        else:
            target = f"{self.resolution}x{self.resolution} {colour}"
            expects = f"was trained on {self.channels}-channel {self.resolution}x{self.resolution} images"
        lines = []
        for (mode, steps), files in self.groups.items():
            sizes = sorted({size for _, size in files}, key=lambda size: size[0] * size[1])
            shape = "x".join(map(str, sizes[0])) + (f" to {'x'.join(map(str, sizes[-1]))}" if len(sizes) > 1 else "")
            what = files[0][0].name if len(files) == 1 else f"{len(files)} files like {files[0][0].name}"
            lines.append(f"input {what}: {shape} {MODE_NAMES.get(mode, f'mode-{mode}')} -> {target} (the {self.model} "
                         f"checkpoint {expects}; {', '.join(steps)})")
        return lines


def read_image(path: Path, channels: int, resolution: int | None, notes: Notes,
               conversions: InputConversions | None = None) -> torch.Tensor:
    """One file in any image mode as the model's input (C, H, W) in [-1, 1], read as training data is
    (gan_cli.data.image_modes); resized and centre-cropped unless resolution is None."""
    try:
        if conversions is not None:
            with Image.open(path) as image:  # the header only: its size and mode
                conversions.add(path, image.size, image.mode)
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


def translate_to_files(translator: Translator, config, ckpt, input, out=None, direction="AtoB") -> Translated:
    """Translate every image `input` names; write <out>/<name>.png (out: a folder, or a .png for one image)."""
    direction = _check_direction(translator, direction)
    files = input_files(input)
    channels = int(config.data.input_channels if direction == "AtoB" else config.data.channels)
    resolution = int(config.data.resolution) if translator.task.resizes_inputs else None
    out = Path(out) if out else RunPaths.of_checkpoint(ckpt).samples / f"translated_{direction}"
    single = len(files) == 1 and out.suffix.lower() in (".png", ".jpg", ".jpeg")
    notes = Notes(lambda message: print(message, file=sys.stderr))  # gan-sample's log is off: say them
    conversions = InputConversions(translator.name, channels, resolution)
    written = []
    for path in files:
        output = translator(read_image(path, channels, resolution, notes, conversions).unsqueeze(0), direction)
        target = out if single else out / f"{path.stem}.png"
        written.append(images.save_grid(output, target, nrow=1))
    return Translated(written, conversions.lines())


@dataclass
class HeldoutGrid:
    path: Path
    rows: int    # held-out examples in it: n, or all of them when the split holds fewer
    asked: int


def heldout_grid_to_file(translator: Translator, config, ckpt, n=8, seed=0, out=None, direction="AtoB") -> HeldoutGrid:
    """n held-out examples (chosen by seed; all of them when there are fewer) as rows of the task's three
    columns in one PNG, named by the rows it holds."""
    direction = _check_direction(translator, direction)
    pairs = heldout_pairs(config.data)
    indices = preview_indices(len(pairs), n, seed)
    rows = comparison(translator, pairs, indices, direction, config.data.get("crop"))
    out = Path(out) if out else RunPaths.of_checkpoint(ckpt).samples / f"heldout_{direction}_seed{seed}_n{len(indices)}.png"
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError(f"out={out} must end in .png or .jpg (the grid image); with input= it may be a folder.")
    return HeldoutGrid(images.save_grid(rows, out, nrow=3), len(indices), n)
