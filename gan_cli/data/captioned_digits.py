"""Captioned digits: the offline text-to-image set, rendered from matplotlib's bundled fonts.

Each image is one digit in a named colour on a plain background of another named colour, drawn in
one of three sizes, two weights (a regular or a bold face), three slants and three horizontal
positions. Its captions are written from those true render parameters with paraphrase templates
("a small bold red seven leaning right on a pale blue background"), so every word of a caption can
be checked against the image: the digit by a classifier on its ink, the colours by pixel statistics
(`read_attributes`), the size and the position by the glyph's bounding box.

The same (split, resolution, count) gives the same images and captions in every process and on
every machine with the same fonts; the test split is drawn from another seed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageDraw, ImageFont

from gan_cli.data.transforms import check_image_args
from gan_cli.errors import UserError
from gan_cli.seeds import derived_seed

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Named colours: the digit's ink and the background come from separate palettes, and a pair is only
# drawn when the two are far apart, so that both can be read back from the pixels.
FOREGROUND = {
    "red": (215, 38, 38), "green": (30, 160, 60), "blue": (40, 70, 215), "yellow": (240, 215, 30),
    "orange": (245, 130, 20), "purple": (140, 50, 185), "white": (248, 248, 248), "black": (15, 15, 15),
}
BACKGROUND = {
    "pale blue": (170, 205, 245), "pale green": (180, 232, 180), "pale yellow": (250, 240, 165),
    "pink": (245, 185, 210), "grey": (128, 128, 128), "dark blue": (20, 30, 95), "black": (15, 15, 15),
    "white": (248, 248, 248),
}
MIN_CONTRAST = 170.0  # the least RGB distance between a digit's colour and its background's

SIZES = ("small", "medium", "large")
SIZE_HEIGHT = {"small": (0.36, 0.44), "medium": (0.58, 0.66), "large": (0.82, 0.94)}  # share of the image
WEIGHTS = ("thin", "bold")
SLANTS = ("upright", "leaning left", "leaning right")
SLANT_ANGLE = {"upright": (-3.0, 3.0), "leaning left": (12.0, 18.0), "leaning right": (-18.0, -12.0)}
POSITIONS = ("left", "centre", "right")
POSITION_CENTRE = {"left": (0.30, 0.36), "centre": (0.47, 0.53), "right": (0.64, 0.70)}  # box centre / width

# Regular and bold faces without a slant of their own (the slant is the rotation).
FACES = {
    "thin": ("DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSansMono.ttf", "STIXGeneral.ttf", "cmr10.ttf",
             "cmss10.ttf"),
    "bold": ("DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono-Bold.ttf", "STIXGeneralBol.ttf",
             "cmb10.ttf"),
}
_COUNT = {"train": 2000, "test": 500}
SPLITS = tuple(_COUNT)
CAPTIONS_PER_IMAGE = 5
_GLYPH_FONT_SIZE = 96


@dataclass(frozen=True)
class Render:
    """The true parameters of one image: what its captions say."""

    digit: int
    colour: str
    background: str
    size: str
    weight: str
    slant: str
    position: str


class CaptionedDigits(tuple):
    """(images N x 3 x R x R in [-1, 1], digit labels N), with `.captions` (a tuple of captions per
    image) and `.renders` (each image's true parameters); unpacks like any (images, labels) set."""

    def __new__(cls, images: torch.Tensor, labels: torch.Tensor, captions, renders):
        made = super().__new__(cls, (images, labels))
        made.captions, made.renders = tuple(captions), tuple(renders)
        return made

    def attributes(self) -> dict[str, torch.Tensor]:
        """The renders as index tensors (the layout `read_attributes` returns)."""
        return attribute_tensors(self.renders)


def font_folder() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def faces() -> dict[str, list[str]]:
    """The regular and bold faces this matplotlib ships (older versions lack a few)."""
    folder = font_folder()
    found = {weight: [str(folder / name) for name in names if (folder / name).is_file()]
             for weight, names in FACES.items()}
    if not all(found.values()):
        raise UserError(f"No regular or no bold digit fonts found in {folder}: the captioned digits need "
                        "matplotlib's bundled TrueType fonts (DejaVu, STIX, Computer Modern); reinstall matplotlib.")
    return found


def check_count(count) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise UserError(f"data.count={count!r} is not valid: use a positive number of captioned digits, "
                        "or null (2000 train, 500 test).")


def captioned_digits(split: str = "train", resolution: int = 32, count: int | None = None) -> CaptionedDigits:
    """The captioned digits of one split (data=captioned_digits)."""
    if split not in SPLITS:
        raise UserError(f"data.split={split!r} is not a split of the captioned digits: use one of {', '.join(SPLITS)}.")
    check_image_args(resolution)
    if resolution < 16:
        raise UserError(f"data.resolution={resolution} is too small for captioned digits: their size, "
                        "slant and position need at least 16x16 pixels (16, 32, 64, ...).")
    count = _COUNT[split] if count is None else count
    check_count(count)
    return _render_split(split, resolution, count)


@functools.lru_cache(maxsize=8)
def _render_split(split: str, resolution: int, count: int) -> CaptionedDigits:
    generator = torch.Generator().manual_seed(derived_seed("captioned_digits", split))
    fonts = faces()
    images = torch.empty(count, 3, resolution, resolution, dtype=torch.uint8)
    renders, captions = [], []
    for index in range(count):
        render = _draw_render(index, generator)
        font = fonts[render.weight][int(torch.randint(len(fonts[render.weight]), (1,), generator=generator))]
        height = _uniform(SIZE_HEIGHT[render.size], generator)
        angle = _uniform(SLANT_ANGLE[render.slant], generator)
        centre = _uniform(POSITION_CENTRE[render.position], generator)
        picture = _draw(render, font, resolution, height, angle, centre)
        images[index] = torch.frombuffer(bytearray(picture.tobytes()), dtype=torch.uint8).view(
            resolution, resolution, 3).permute(2, 0, 1)
        renders.append(render)
        captions.append(write_captions(render, generator))
    labels = torch.tensor([render.digit for render in renders], dtype=torch.long)
    return CaptionedDigits(images.float().div_(127.5).sub_(1.0), labels, captions, renders)


def _uniform(bounds: tuple[float, float], generator: torch.Generator) -> float:
    low, high = bounds
    return low + (high - low) * float(torch.rand((), generator=generator))


def _choice(options, generator: torch.Generator):
    options = list(options)
    return options[int(torch.randint(len(options), (1,), generator=generator))]


def _draw_render(index: int, generator: torch.Generator) -> Render:
    colour = _choice(FOREGROUND, generator)
    backgrounds = [name for name, rgb in BACKGROUND.items() if _distance(rgb, FOREGROUND[colour]) >= MIN_CONTRAST]
    return Render(digit=index % 10, colour=colour, background=_choice(backgrounds, generator),
                  size=_choice(SIZES, generator), weight=_choice(WEIGHTS, generator),
                  slant=_choice(SLANTS, generator), position=_choice(POSITIONS, generator))


def _distance(a, b) -> float:
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


@functools.lru_cache(maxsize=512)
def _glyph_mask(font_path: str, digit: int) -> Image.Image:
    """The digit's ink (L mode), cropped to its box, drawn large so shrinking antialiases it."""
    font = ImageFont.truetype(font_path, _GLYPH_FONT_SIZE)
    canvas = Image.new("L", (2 * _GLYPH_FONT_SIZE, 2 * _GLYPH_FONT_SIZE))
    ImageDraw.Draw(canvas).text((_GLYPH_FONT_SIZE, _GLYPH_FONT_SIZE), str(digit), font=font, fill=255, anchor="mm")
    return canvas.crop(canvas.getbbox())


def _draw(render: Render, font: str, resolution: int, height: float, angle: float, centre: float) -> Image.Image:
    glyph = _glyph_mask(font, render.digit).rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    glyph = glyph.crop(glyph.getbbox())
    scale = min(height * resolution / glyph.height, 0.9 * resolution / glyph.width)
    width, tall = max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))
    mask = glyph.resize((width, tall), Image.Resampling.LANCZOS)
    left = min(max(0, round(centre * resolution - width / 2)), resolution - width)
    top = (resolution - tall) // 2
    picture = Image.new("RGB", (resolution, resolution), BACKGROUND[render.background])
    picture.paste(Image.new("RGB", (width, tall), FOREGROUND[render.colour]), (left, top), mask)
    return picture


# Paraphrase templates: every one names the digit and both colours; the others say some of the rest.
_TEMPLATES = (
    "a {size} {weight} {colour} {digit} {slant} on a {background} background",
    "the digit {digit} in {colour}, {size} and {weight}, {where} of a {background} background",
    "a {colour} {digit} on {background}, {slant}",
    "{background} background with a {size} {colour} number {digit} {where}",
    "a {weight} {colour} {numeral} written {size} on a {background} background",
    "a {size} {colour} {digit} {where}, {slant}, over {background}",
)
_ARTICLE = re.compile(r"\ba (orange|eight|8\b)")  # "an orange", "an eight", "an 8"
_SIZE_WORDS = {"small": ("small", "little", "tiny"), "medium": ("medium", "medium-sized", "mid-sized"),
               "large": ("large", "big", "huge")}
_WEIGHT_WORDS = {"thin": ("thin", "plain", "regular"), "bold": ("bold", "heavy", "thick")}
_SLANT_WORDS = {"upright": ("upright", "standing straight", "not slanted"),
                "leaning left": ("leaning left", "tilted to the left", "slanting left"),
                "leaning right": ("leaning right", "tilted to the right", "slanting right")}
_POSITION_WORDS = {"left": ("on the left", "on the left side"), "centre": ("in the centre", "in the middle"),
                   "right": ("on the right", "on the right side")}


def write_captions(render: Render, generator: torch.Generator, count: int = CAPTIONS_PER_IMAGE) -> tuple[str, ...]:
    """`count` different captions of one render, each true to it."""
    order = torch.randperm(len(_TEMPLATES), generator=generator).tolist()[:count]
    captions = []
    for template in (_TEMPLATES[i] for i in order):
        captions.append(template.format(
            digit=DIGIT_WORDS[render.digit], numeral=str(render.digit), colour=render.colour,
            background=render.background, size=_choice(_SIZE_WORDS[render.size], generator),
            weight=_choice(_WEIGHT_WORDS[render.weight], generator),
            slant=_choice(_SLANT_WORDS[render.slant], generator),
            where=_choice(_POSITION_WORDS[render.position], generator)))
    return tuple(_ARTICLE.sub(r"an \1", caption) for caption in captions)


def attribute_tensors(renders) -> dict[str, torch.Tensor]:
    colours, backgrounds = list(FOREGROUND), list(BACKGROUND)
    return {
        "digit": torch.tensor([r.digit for r in renders], dtype=torch.long),
        "colour": torch.tensor([colours.index(r.colour) for r in renders], dtype=torch.long),
        "background": torch.tensor([backgrounds.index(r.background) for r in renders], dtype=torch.long),
        "size": torch.tensor([SIZES.index(r.size) for r in renders], dtype=torch.long),
        "position": torch.tensor([POSITIONS.index(r.position) for r in renders], dtype=torch.long),
    }


def _palette(colours: dict) -> torch.Tensor:
    return torch.tensor(list(colours.values()), dtype=torch.float32) / 127.5 - 1.0


def ink(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(the background colour of each image (N x 3), its ink map N x 1 x R x R in [0, 1]): how far each
    pixel is from the background, as a share of the farthest pixel's distance."""
    border = torch.cat([images[..., 0, :], images[..., -1, :], images[..., :, 0], images[..., :, -1]], dim=-1)
    background = border.median(dim=-1).values
    distance = (images - background[..., None, None]).norm(dim=1, keepdim=True)
    peak = distance.flatten(1).max(dim=1).values.clamp_min(1e-6)
    return background, distance / peak[:, None, None, None]


def read_attributes(images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Colours, size and position read back from images (N x 3 x R x R in [-1, 1]), as index tensors
    in the layout of `CaptionedDigits.attributes` (the digit is a classifier's to read)."""
    images = images.float().clamp(-1, 1)
    background, amount = ink(images)
    resolution = images.shape[-1]
    read_background = torch.cdist(background, _palette(BACKGROUND)).argmin(dim=1)
    # The ink colour: the mean of the pixels most unlike the background (the glyph's solid strokes).
    strong = amount >= 0.8
    weights = strong.float()
    colour = (images * weights).sum(dim=(2, 3)) / weights.sum(dim=(2, 3)).clamp_min(1)
    read_colour = torch.cdist(colour, _palette(FOREGROUND)).argmin(dim=1)
    # The glyph's box: the rows and columns with ink of at least a quarter of the peak.
    marked = amount[:, 0] >= 0.25
    rows, columns = marked.any(dim=2), marked.any(dim=1)
    span = torch.arange(resolution, dtype=torch.float32)
    first_row = torch.where(rows, span, float(resolution)).min(dim=1).values
    last_row = torch.where(rows, span, -1.0).max(dim=1).values
    first_col = torch.where(columns, span, float(resolution)).min(dim=1).values
    last_col = torch.where(columns, span, -1.0).max(dim=1).values
    height = (last_row - first_row + 1).clamp_min(0) / resolution
    centre = (first_col + last_col + 1) / 2 / resolution
    size = torch.bucketize(height, torch.tensor([0.51, 0.75]))
    position = torch.bucketize(centre, torch.tensor([0.415, 0.585]))
    return {"colour": read_colour, "background": read_background, "size": size, "position": position}
