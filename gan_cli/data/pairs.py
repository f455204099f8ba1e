"""The shared base of image-to-image datasets (pix2pix, CycleGAN, SRGAN): items are (input, target).

Both parts are float tensors (C, H, W) in [-1, 1]. An item is a pure function of its key: an int,
or (index, sample_seed) where the seed drives everything random about the item (the jitter's crop
and flip, an unpaired item's target image, a super-resolution crop). The batch sources hand out
(index, sample_seed) keys derived from (seed, epoch, rank, position), so a resumed run sees exactly
the batches an uninterrupted one would have seen.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import Dataset

from gan_cli.data.decoding import SkippingFiles, decode_image
from gan_cli.data.image_modes import CHANNEL_MODES
from gan_cli.data.transforms import to_signed
from gan_cli.errors import UserError
from gan_cli.seeds import derived_seed

DIRECTIONS = ("AtoB", "BtoA")


class ImagePairs(Dataset):
    """(input, target) image pairs; subclasses implement pair(index, generator) and __len__.

    `pair` gets a torch.Generator seeded by the item's sample seed when the dataset is random
    (takes_sample_seed), else None; with None it returns the item without any randomness.
    """

    task: str = "paired"
    takes_sample_seed: bool = False
    input_labels: torch.Tensor | None = None  # the class of every input, where the inputs have one

    def __len__(self) -> int:
        raise NotImplementedError

    def pair(self, index: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def __getitem__(self, key) -> tuple[torch.Tensor, torch.Tensor]:
        """key: an int, or (int, sample_seed); an int alone uses a seed fixed by the index."""
        if isinstance(key, tuple):
            index, sample_seed = operator.index(key[0]), operator.index(key[1])
        else:
            index = operator.index(key)
            sample_seed = derived_seed("sample", index)
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} of a dataset of {len(self)}")
        generator = None
        if self.takes_sample_seed:
            generator = torch.Generator().manual_seed(sample_seed)
        return self.pair(index, generator)

    def inputs(self) -> Sequence[torch.Tensor]:
        """The split's inputs without jitter, loaded on access (for evaluation and previews)."""
        return PairSide(self, 0)

    def targets(self) -> Sequence[torch.Tensor]:
        """The split's targets without jitter, loaded on access."""
        return PairSide(self, 1)


class PairSide(Sequence):
    """One side of a dataset's unjittered pairs, as a lazy sequence of tensors."""

    def __init__(self, pairs: ImagePairs, side: int):
        self.pairs, self.side = pairs, side

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = operator.index(index)
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} of {len(self)}")
        return self.pairs.pair(index, None)[self.side]


@dataclass(frozen=True)
class JitterDraw:
    """One draw of the jitter: where the crop starts in the resized image, and whether to flip."""

    top: int
    left: int
    flipped: bool


class JointJitter:
    """pix2pix's augmentation: resize to load_size x load_size, random crop_size crop, random flip.

    draw() picks the crop and flip once; apply() uses a draw on any number of images, so the two
    halves of a pair get the same crop and flip. apply(image, None) is the plain evaluation path:
    a resize straight to crop_size.
    """

    def __init__(self, load_size: int, crop_size: int, flip: bool = True):
        for key, value in (("data.load_size", load_size), ("data.resolution", crop_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"{key}={value!r} is not a valid image size: use a positive integer.")
        if load_size < crop_size:
            raise UserError(
                f"data.load_size={load_size} is smaller than the crop data.resolution={crop_size}: "
                "images are resized to load_size and then cropped to resolution, so make load_size "
                "at least resolution (pix2pix uses 286 for 256; equal values turn cropping off)."
            )
        self.load_size, self.crop_size, self.flip = load_size, crop_size, bool(flip)

    @property
    def active(self) -> bool:
        return self.load_size != self.crop_size or self.flip

    def draw(self, generator: torch.Generator) -> JitterDraw:
        top, left = torch.randint(self.load_size - self.crop_size + 1, (2,), generator=generator).tolist()
        flipped = self.flip and bool(torch.rand((), generator=generator) < 0.5)
        return JitterDraw(top, left, flipped)

    def apply(self, image: Image.Image, draw: JitterDraw | None) -> Image.Image:
        if draw is None:
            return resize_square(image, self.crop_size)
        image = resize_square(image, self.load_size)
        size = self.crop_size
        image = image.crop((draw.left, draw.top, draw.left + size, draw.top + size))
        if draw.flipped:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return image


def resize_square(image: Image.Image, size: int) -> Image.Image:
    """Bicubic resize to size x size (pix2pix and CycleGAN do not keep the aspect ratio)."""
    if image.size == (size, size):
        return image
    return image.resize((size, size), Image.Resampling.BICUBIC)


def pil_mode(channels, key: str = "data.channels") -> str:
    if channels not in CHANNEL_MODES:
        raise UserError(f"{key}={channels!r} is not supported: use 1 for grayscale or 3 for RGB images.")
    return CHANNEL_MODES[channels]


def check_direction(direction) -> bool:
    """True when direction swaps the two sides (BtoA); anything but AtoB/BtoA is a UserError."""
    if direction not in DIRECTIONS:
        raise UserError(
            f"data.direction={direction!r} is not a direction: use AtoB (A is the input, B the "
            "target) or BtoA (B is the input, A the target)."
        )
    return direction == "BtoA"


def check_split(split, allowed: tuple[str, ...], name: str) -> None:
    if split not in allowed:
        raise UserError(f"data.split={split!r} is not a split of {name}: use one of {', '.join(allowed)}.")


class ImageFiles(Sequence):
    """One domain of an unpaired set: image files, unjittered on [i], jittered by jittered(i, g).

    A file that fails to decode is skipped for the next one (SkippingFiles); `where` names the folder.
    """

    def __init__(self, paths: Sequence[Path], channels: int, jitter: JointJitter, where: str):
        self.paths, self.mode, self.jitter = list(paths), pil_mode(channels), jitter
        self.files = SkippingFiles(len(self.paths), where)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = operator.index(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"image {index} of {len(self)}")
        return to_signed(self.jitter.apply(self._image(index % len(self)), None))

    def jittered(self, index: int, generator: torch.Generator) -> torch.Tensor:
        draw = self.jitter.draw(generator) if self.jitter.active else None
        return to_signed(self.jitter.apply(self._image(index), draw))

    def _image(self, index: int) -> Image.Image:
        return self.files.load(index, lambda position: decode_image(self.paths[position], self.mode))


class TensorImages(Sequence):
    """One domain held as a tensor (N, C, H, W) in [-1, 1]; it has no jitter."""

    def __init__(self, images: torch.Tensor):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index]

    def jittered(self, index: int, generator: torch.Generator) -> torch.Tensor:
        return self.images[index]


class UnpairedImages(ImagePairs):
    """Two unaligned domains: item i is input image i and a target image that is not its pair.

    Random (the training split): the target is drawn by the sample seed and each side gets its own
    jitter draw. Otherwise target i % len(targets), both unjittered, so evaluation is fixed.
    """

    task = "unpaired"

    def __init__(self, input_domain, target_domain, random: bool, input_labels: torch.Tensor | None = None):
        assert len(input_domain) > 0 and len(target_domain) > 0, "a domain holds no images"
        self.input_domain, self.target_domain = input_domain, target_domain
        self.takes_sample_seed = bool(random)
        self.input_labels = input_labels

    def __len__(self) -> int:
        return len(self.input_domain)

    def pair(self, index: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        if generator is None:
            return self.input_domain[index], self.target_domain[index % len(self.target_domain)]
        # The target is drawn first, then each side's jitter, all from the item's own generator.
        target_index = int(torch.randint(len(self.target_domain), (), generator=generator))
        source = self.input_domain.jittered(index, generator)
        return source, self.target_domain.jittered(target_index, generator)

    def inputs(self) -> Sequence[torch.Tensor]:
        return self.input_domain

    def targets(self) -> Sequence[torch.Tensor]:
        return self.target_domain
