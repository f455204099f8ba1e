"""Offline image-to-image datasets: real data that ships with installed packages, nothing downloaded.

  digit_edges      paired (pix2pix): an outline of each of scikit-learn's handwritten digits -> the digit
  printed_digits   unpaired (CycleGAN): digits printed in matplotlib's fonts <-> handwritten digits
  photographs      super-resolution (SRGAN): scikit-image's bundled natural photographs

Each has a held-out "test" split. The handwritten digits split the same way everywhere: a fixed
20% of the 1,797 digits is the test split and the rest the train split.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gan_cli.data.digit_fonts import render_printed_digits
from gan_cli.data.digits import digits
from gan_cli.data.pairs import (
    ImagePairs,
    TensorImages,
    UnpairedImages,
    check_direction,
    check_split,
)
from gan_cli.data.super_resolution import HighResolutionPairs

SPLITS = ("train", "test")
HELD_OUT_SHARE = 0.2
# numpy's legacy RandomState is guaranteed to give the same permutation in every numpy version.
_HOLDOUT_SEED = 20_240_601
# A pixel of the digit in [0, 1] above this is ink; the edge map is the ink's inner boundary.
_INK_THRESHOLD = 0.4
# Printed digits per split when count is None.
_PRINTED_COUNT = {"train": 2000, "test": 500}

# scikit-image's natural photographs (skimage.data, shipped inside the package): the first train
# super-resolution, the second are held out for its test split. The grayscale ones (camera ... gravel:
# textures of fur-like grass, gravel and brick) are used as RGB images with three equal channels.
TRAIN_PHOTOGRAPHS = (
    "astronaut", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
    "motorcycle_left", "motorcycle_right", "camera", "moon", "coins", "brick", "grass", "gravel",
)
TEST_PHOTOGRAPHS = ("chelsea", "coffee")


def handwritten_digits(split: str = "train", resolution: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """One split of scikit-learn's digits as (images N x 1 x R x R in [-1, 1], labels N)."""
    check_split(split, SPLITS, "the scikit-learn digits")
    images, labels = digits(resolution)
    order = np.random.RandomState(_HOLDOUT_SEED).permutation(len(images))
    held_out = round(HELD_OUT_SHARE * len(images))
    chosen = np.sort(order[:held_out] if split == "test" else order[held_out:])
    chosen = torch.as_tensor(chosen)
    return images[chosen], labels[chosen]


def edge_maps(images: torch.Tensor) -> torch.Tensor:
    """The 1-px inner outline of each digit's ink: images (N, 1, R, R) in [-1, 1] -> {-1, 1}."""
    ink = ((images + 1.0) / 2.0 > _INK_THRESHOLD).float()
    eroded = -F.max_pool2d(-ink, kernel_size=3, stride=1, padding=1)
    return (ink - eroded) * 2.0 - 1.0


def digit_edges(split: str = "train", resolution: int = 32, direction: str = "AtoB") -> "TensorPairs":
    """Paired edges -> digits (A is the edge map, B the digit); input_labels are the digit classes."""
    swap = check_direction(direction)
    images, labels = handwritten_digits(split, resolution)
    edges = edge_maps(images)
    if swap:
        return TensorPairs(images, edges, labels)
    return TensorPairs(edges, images, labels)


class TensorPairs(ImagePairs):
    """Aligned pairs held as two tensors (N, C, H, W) in [-1, 1]; no jitter, so no sample seeds."""

    task = "paired"

    def __init__(self, sources: torch.Tensor, targets: torch.Tensor, input_labels: torch.Tensor | None = None):
        assert len(sources) == len(targets), f"{len(sources)} inputs but {len(targets)} targets"
        self.sources, self.target_images = sources.contiguous(), targets.contiguous()
        self.input_labels = input_labels

    def __len__(self) -> int:
        return len(self.sources)

    def pair(self, index: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.sources[index], self.target_images[index]

    def inputs(self) -> torch.Tensor:
        return self.sources

    def targets(self) -> torch.Tensor:
        return self.target_images


def printed_digits(
    split: str = "train",
    resolution: int = 32,
    direction: str = "AtoB",  # AtoB: printed -> handwritten; BtoA: handwritten -> printed
    count: int | None = None,  # printed digits in this split; None: 2000 train, 500 test
) -> UnpairedImages:
    """Unpaired printed digits (domain A) and scikit-learn's handwritten digits (domain B).

    input_labels is the class of each input image, so a classifier can check that a translated digit
    keeps its class. Training items draw their handwritten (or printed) partner by the sample seed.
    """
    check_split(split, SPLITS, "the printed/handwritten digits")
    swap = check_direction(direction)
    count = _PRINTED_COUNT[split] if count is None else count
    printed, printed_labels = render_printed_digits(split, resolution, count)
    handwritten, handwritten_labels = handwritten_digits(split, resolution)
    domains = [(TensorImages(printed), printed_labels), (TensorImages(handwritten), handwritten_labels)]
    if swap:
        domains.reverse()
    (source, labels), (target, _) = domains
    return UnpairedImages(source, target, random=split == "train", input_labels=labels)


def photographs(
    split: str = "train",
    scale: int = 4,  # the upscaling factor
    crop: int = 96,  # train: the HR crop size, a multiple of scale
    channels: int = 3,
    flip: bool = True,  # train: random horizontal flip
    crops_per_image: int = 100,  # train: items per photograph and epoch (13 photographs: 1,300 items)
) -> HighResolutionPairs:
    """Super-resolution on scikit-image's photographs; test holds out chelsea and coffee (whole images).

    Train: astronaut, rocket, hubble_deep_field, immunohistochemistry, retina, the two motorcycle
    stereo views and the grayscale camera, moon, coins, brick, grass and gravel (as RGB), as random
    crop x crop windows with their bicubic LR.
    """
    check_split(split, SPLITS, "the scikit-image photographs")
    names = TRAIN_PHOTOGRAPHS if split == "train" else TEST_PHOTOGRAPHS
    images = [_photograph(name) for name in names]
    labels = [f"skimage.data.{name}" for name in names]
    return HighResolutionPairs(images, labels, scale, crop, channels, flip, split == "train", crops_per_image)


@functools.lru_cache(maxsize=None)
def _photograph(name: str) -> Image.Image:
    """One bundled photograph as an RGB PIL image, decoded once per process."""
    # Imported here so that importing gan_cli.data does not pay for scikit-image.
    import skimage.data

    if name.startswith("motorcycle_"):
        left, right, _ = skimage.data.stereo_motorcycle()
        pixels = left if name == "motorcycle_left" else right
    else:
        pixels = getattr(skimage.data, name)()
    return Image.fromarray(np.ascontiguousarray(pixels)).convert("RGB")
