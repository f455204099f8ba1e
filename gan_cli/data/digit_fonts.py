"""Printed digits rendered from the TrueType fonts that ship with matplotlib (nothing downloaded).

The printed domain of the offline CycleGAN task: white digits on black like scikit-learn's
handwritten ones, in 21 fonts (DejaVu Sans, Sans Mono and Serif in every weight and slant, the four
STIXGeneral faces, and Computer Modern roman, bold, sans, typewriter and italic), with a varied
size, offset, small rotation and stroke weight. Left out: the symbol and size-variant fonts
(STIXSize*, STIXNonUni*, cmsy10, cmex10), the Display fonts (no digits), LastResort (a box for every
character) and cmmi10 (old-style numerals that hang below the line).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from gan_cli.data.transforms import check_image_args
from gan_cli.errors import UserError
from gan_cli.seeds import derived_seed

FONT_FILES = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono-Oblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf",
    "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf",
    "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmtt10.ttf", "cmti10.ttf",
)

# Glyphs are drawn large once, then rotated and shrunk per sample, which antialiases them.
_GLYPH_FONT_SIZE = 64
_GLYPH_CANVAS = 160
_STROKE_WIDTHS = 3  # 0, 1 or 2 px of extra stroke at the glyph size: thin to heavy
_HEIGHT_SHARE = (0.7, 0.95)  # the digit's height as a share of the image, like the handwritten ones
_MAX_WIDTH_SHARE = 0.9
_MAX_ANGLE = 12.0  # degrees either way
_MAX_OFFSET_SHARE = 0.08  # of the image size, either way on each axis


def font_paths() -> list[Path]:
    """The chosen fonts that this matplotlib installation ships (older versions lack a few)."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    paths = [folder / name for name in FONT_FILES if (folder / name).is_file()]
    if not paths:
        raise UserError(
            f"No digit fonts found in {folder}: the printed digits need matplotlib's bundled TrueType "
            "fonts (DejaVu, STIX, Computer Modern); reinstall matplotlib."
        )
    return paths


@functools.lru_cache(maxsize=16)
def render_printed_digits(split: str, resolution: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """count printed digits (N x 1 x R x R in [-1, 1], labels N; label i % 10), seeded by split.

    The same arguments give the same images in every process; cached, so a second call is free.
    """
    check_image_args(resolution)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UserError(f"data.count={count!r} is not valid: use a positive number of printed digits, or null.")
    fonts = font_paths()
    generator = torch.Generator().manual_seed(derived_seed("printed_digits", split))
    font_index = torch.randint(len(fonts), (count,), generator=generator).tolist()
    stroke = torch.randint(_STROKE_WIDTHS, (count,), generator=generator).tolist()
    low, high = _HEIGHT_SHARE
    height_share = (low + (high - low) * torch.rand(count, generator=generator)).tolist()
    angle = ((torch.rand(count, generator=generator) * 2 - 1) * _MAX_ANGLE).tolist()
    offsets = ((torch.rand(count, 2, generator=generator) * 2 - 1) * _MAX_OFFSET_SHARE * resolution).tolist()
    labels = torch.arange(count) % 10
    images = torch.empty(count, 1, resolution, resolution, dtype=torch.uint8)
    for i in range(count):
        glyph = _glyph(str(fonts[font_index[i]]), int(labels[i]), stroke[i])
        canvas = _place(glyph, resolution, height_share[i], angle[i], offsets[i])
        images[i, 0] = torch.frombuffer(bytearray(canvas.tobytes()), dtype=torch.uint8).view(resolution, resolution)
    return images.float().div_(127.5).sub_(1.0), labels


@functools.lru_cache(maxsize=1024)
def _glyph(font_path: str, digit: int, stroke: int) -> Image.Image:
    """The digit's ink, white on black, cropped to its bounding box."""
    font = ImageFont.truetype(font_path, _GLYPH_FONT_SIZE)
    canvas = Image.new("L", (_GLYPH_CANVAS, _GLYPH_CANVAS))
    centre = _GLYPH_CANVAS // 2
    ImageDraw.Draw(canvas).text(
        (centre, centre), str(digit), font=font, fill=255, anchor="mm", stroke_width=stroke, stroke_fill=255
    )
    box = canvas.getbbox()
    assert box is not None, f"{font_path} draws nothing for {digit}"
    return canvas.crop(box)


def _place(glyph: Image.Image, resolution: int, height_share: float, angle: float, offset) -> Image.Image:
    """The glyph rotated, scaled to height_share of the image and pasted near the centre."""
    rotated = glyph.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    rotated = rotated.crop(rotated.getbbox())
    scale = min(height_share * resolution / rotated.height, _MAX_WIDTH_SHARE * resolution / rotated.width)
    width = max(1, round(rotated.width * scale))
    height = max(1, round(rotated.height * scale))
    small = rotated.resize((width, height), Image.Resampling.LANCZOS)
    # Keep the whole digit inside the image whatever the offset.
    left = min(max(0, (resolution - width) // 2 + round(offset[0])), resolution - width)
    top = min(max(0, (resolution - height) // 2 + round(offset[1])), resolution - height)
    canvas = Image.new("L", (resolution, resolution))
    canvas.paste(small, (left, top))
    return canvas
