"""Any image PIL reads, in any of its modes, as the model's pixels: 1 or 3 channels of 8 bits.

One conversion for training data (folder, paired, unpaired and super-resolution sets) and for
gan-sample's input= files, so that a model sees its inputs as it saw its training data:

  mode                          reads as
  L, RGB                        themselves
  1                             black and white (0 and 255)
  P                             the palette's colours
  LA, La, PA, RGBA, RGBa        alpha composited on a white background (a note says so when some
                                pixel is transparent); also L, RGB and P with a transparent colour
  RGBX, CMYK, YCbCr, HSV, LAB   PIL's conversion to RGB (LAB through its colour management)
  I;16, I;16L, I;16B, I;16N     16-bit: 0..65535 is black..white
  I (32-bit integer)            0..255 when every value lies there, else 0..65535 when every value
                                lies there (16-bit data held as I), else stretched (with a note)
  F (32-bit float)              0..1 when every value lies there, else stretched (with a note);
                                NaN and infinity are refused

Stretched: from min(0, lowest value) to the highest value. Then one channel is the ITU-R 601 luma
of colour (PIL's L) and three channels copy grey to R, G and B. Any other mode is refused by name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan_cli.data.transforms import resize_crop_to_signed, to_signed
from gan_cli.errors import UserError

log = logging.getLogger("gan_cli")

# What PIL raises for a file that is not a readable image.
UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)

CHANNEL_MODES = {1: "L", 3: "RGB"}
BACKGROUND = (255, 255, 255)  # white: what an image viewer shows behind transparent pixels
ALPHA_MODES = frozenset({"LA", "La", "PA", "RGBA", "RGBa"})
RGB_MODES = frozenset({"RGBX", "CMYK", "YCbCr", "HSV", "LAB"})
TRANSPARENT_COLOUR_MODES = frozenset({"1", "L", "P", "RGB"})  # may name a transparent colour (PNG tRNS)
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
READ_MODES = frozenset({"1", "L", "P", "RGB", "I", "F"}) | ALPHA_MODES | RGB_MODES | SIXTEEN_BIT_MODES
_READ_MODES_TEXT = ("1, L, P, RGB, RGBA, RGBa, RGBX, LA, La, PA, CMYK, YCbCr, LAB, HSV, I;16 (and I;16L, "
                    "I;16B, I;16N), I (32-bit integer) and F (32-bit float)")


class Notes:
    """Says each kind of conversion note once, the first image's name standing for the others."""

    def __init__(self, say: Callable[[str], None] = log.warning):
        self.say, self.seen = say, set()

    def __call__(self, kind: str, message: str) -> None:
        if kind not in self.seen:
            self.seen.add(kind)
            self.say(message)


LOGGED = Notes()  # the default: notes go to the gan_cli log, once per process and kind


def check_mode(mode: str, name: str) -> None:
    """A mode model_image cannot read is a UserError naming the image and the modes it reads."""
    if mode not in READ_MODES:
        raise UserError(f"{name} is an image in PIL mode {mode!r}, which gan-cli cannot turn into pixels: it reads "
                        f"{_READ_MODES_TEXT} images. Convert the image to an 8- or 16-bit greyscale or an RGB PNG "
                        f"(for example with PIL or ImageMagick) and point at the converted file.")


def read_signed(path: Path, channels: int, resolution: int | None = None, notes: Notes = LOGGED) -> torch.Tensor:
    """An image file as a float tensor (channels, H, W) in [-1, 1]; with a resolution, its shorter
    side resized to it and the centre square cut out. PIL's errors for a file that is not a
    decodable image (UNREADABLE) reach the caller, which knows what the file was for."""
    image = open_image(path, channels, notes)
    return to_signed(image) if resolution is None else resize_crop_to_signed(resolution, channels)(image)


def open_image(path: Path, channels: int, notes: Notes = LOGGED) -> Image.Image:
    """An image file, decoded, as a PIL image in mode L (channels=1) or RGB (channels=3)."""
    with Image.open(path) as image:
        return model_image(image, channels, str(path), notes)


def model_image(image: Image.Image, channels: int, name: str, notes: Notes = LOGGED) -> Image.Image:
    """`image` in any mode as a new 8-bit image in mode L (channels=1) or RGB (channels=3); see the
    module's table. `name` is what a note or an error calls the image."""
    target = CHANNEL_MODES[channels]
    mode = image.mode
    check_mode(mode, name)
    if mode in ALPHA_MODES or _has_transparent_colour(image):
        image = _composited(image, name, notes)
    elif mode in RGB_MODES or mode == "P":
        image = image.convert("RGB")
    elif mode == "1":
        image = image.convert("L")
    elif mode not in ("L", "RGB"):
        image = _scaled(image, name, notes)
    return image.convert(target)


def _has_transparent_colour(image: Image.Image) -> bool:
    if image.mode not in TRANSPARENT_COLOUR_MODES:
        return False
    palette = getattr(image, "palette", None)
    return "transparency" in image.info or (image.mode == "P" and palette is not None and palette.mode == "RGBA")


def _composited(image: Image.Image, name: str, notes: Notes) -> Image.Image:
    """The image over a white background, as RGB (grey stays grey: R = G = B)."""
    if image.mode == "La":  # premultiplied grey, which PIL does not convert: over white, value + (255 - alpha)
        values = np.asarray(image).astype(np.int16)
        alpha = values[..., 1]
        flat = Image.fromarray(np.clip(values[..., 0] + 255 - alpha, 0, 255).astype(np.uint8)).convert("RGB")
        transparent = alpha.size > 0 and int(alpha.min()) < 255
    else:
        rgba = image.convert("RGBA")
        alpha = rgba.getchannel("A")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba.convert("RGB"), mask=alpha)
        transparent = alpha.getextrema()[0] < 255
    if transparent:
        notes("alpha", f"note: {name} has transparent pixels (a mode-{image.mode} image): they are composited "
                       f"on a white background, since the model's images have no alpha channel (other such "
                       f"images are read the same way).")
    return flat


def _scaled(image: Image.Image, name: str, notes: Notes) -> Image.Image:
    """A one-band image of 16-bit or 32-bit integers or floats as 8-bit grey, by its value range."""
    values = np.asarray(image)
    if values.ndim != 2 or values.dtype.kind not in "iuf":
        raise UserError(f"{name} is a mode-{image.mode} image whose pixels read as {values.dtype} of shape "
                        f"{values.shape}, not one band of numbers: convert it to a greyscale or RGB PNG first.")
    values = values.astype(np.float64)
    low, high = _black_and_white(image.mode, values, name, notes)
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return Image.fromarray(np.round(np.clip(scaled, 0, 1) * 255).astype(np.uint8))


def _black_and_white(mode: str, values: np.ndarray, name: str, notes: Notes) -> tuple[float, float]:
    """The values that read as black and as white (see the module's table)."""
    if mode in SIXTEEN_BIT_MODES:
        return 0.0, 65535.0
    if values.size == 0:
        return 0.0, 1.0
    if mode == "F" and not np.isfinite(values).all():
        raise UserError(f"{name} is a mode-F (32-bit float) image holding NaN or infinite values, which have no "
                        f"grey level: replace them (for example with 0) or save the image as a greyscale PNG.")
    low, high = float(values.min()), float(values.max())
    ranges = ((0.0, 1.0),) if mode == "F" else ((0.0, 255.0), (0.0, 65535.0))
    for black, white in ranges:
        if black <= low and high <= white:
            return black, white
    black = min(low, 0.0)
    notes(f"stretch {mode}", f"note: {name} is a mode-{mode} image whose values run from {low:g} to {high:g}, "
                             f"outside {' or '.join(f'{a:g}..{b:g}' for a, b in ranges)}: it is stretched so that "
                             f"{black:g} is black and {high:g} white (other such images by their own range).")
    return black, high
