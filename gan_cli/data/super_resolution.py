"""Super-resolution pairs (SRGAN) from any folder of high-resolution images.

An item is (LR, HR): HR is a crop of a real image and LR its bicubic downscaling by `scale`, made
with PIL's BICUBIC filter on the 8-bit crop (as SRGAN's MATLAB-style preprocessing does with
imresize). The training split takes a random crop x crop window and a random horizontal flip per
item; the test split is whole held-out images, each cut to a multiple of scale, so its items differ
in size (evaluate them one at a time).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image

from gan_cli.data.decoding import UNREADABLE, SkippingFiles, decode_image
from gan_cli.data.folder import find_images, readable_images
from gan_cli.data.image_modes import model_image
from gan_cli.data.pairs import ImagePairs, check_split, pil_mode, to_signed
from gan_cli.errors import UserError

SPLITS = ("train", "test")


def sr_images(
    root: str,
    split: str = "train",  # train: random crops; test: whole held-out images
    scale: int = 4,  # the upscaling factor: LR is HR / scale on each side
    crop: int = 96,  # train: the HR crop size (a multiple of scale)
    channels: int = 3,  # 1 grayscale, 3 RGB (both sides)
    holdout: float = 0.1,  # without eval_root: the last share of the sorted files is the test split
    eval_root: str | None = None,  # a folder of test images; then every root image trains
    flip: bool = True,  # train: random horizontal flip
    crops_per_image: int = 1,  # train: items per image and epoch (each a different random crop)
) -> "HighResolutionPairs":
    """(LR, HR) pairs from the images under root (recursively), split into train and test."""
    check_split(split, SPLITS, "a super-resolution dataset")
    check_scale_and_crop(scale, crop)
    paths = _images_under(root, "data.root")
    if eval_root is not None:
        train_paths, test_paths = paths, _images_under(eval_root, "data.eval_root")
    else:
        held_out = _holdout_count(holdout, len(paths), root)
        train_paths, test_paths = paths[:-held_out], paths[-held_out:]
    chosen = train_paths if split == "train" else test_paths
    names = [str(path) for path in chosen]
    where = f"data.eval_root={eval_root}" if split == "test" and eval_root is not None else f"data.root={root}"
    return HighResolutionPairs(chosen, names, scale, crop, channels, flip, split == "train", crops_per_image, where)


class HighResolutionPairs(ImagePairs):
    """(LR, HR) items from high-resolution images given as files or as PIL images in memory.

    random (the training split): a crop x crop window drawn by the sample seed (the centre one
    without a generator, for inputs() and targets()), crops_per_image items per image so that a
    few large images still make an epoch of many batches; otherwise the whole image, once.
    """

    task = "super_resolution"

    def __init__(
        self,
        images: Sequence,  # Paths, or PIL images already decoded
        names: Sequence[str],  # what an error message calls each image
        scale: int,
        crop: int,
        channels: int,
        flip: bool,
        random: bool,
        crops_per_image: int = 1,  # random only: items per image and epoch
        where: str = "the high-resolution images",  # what a message calls the files' folder
    ):
        check_scale_and_crop(scale, crop)
        if isinstance(crops_per_image, bool) or not isinstance(crops_per_image, int) or crops_per_image < 1:
            raise UserError(f"data.crops_per_image={crops_per_image!r} is not valid: use a positive integer.")
        self.repeats = crops_per_image if random else 1
        assert len(images) == len(names) and len(images) > 0, "no images"
        self.images, self.names = list(images), list(names)
        self.scale, self.crop, self.flip = scale, crop, bool(flip)
        self.mode, self.channels = pil_mode(channels), channels
        self.takes_sample_seed = bool(random)
        # An image file that fails to decode at load time is skipped for the next image.
        self.files = SkippingFiles(len(self.images), where)
        smallest = crop if random else scale
        for image, name in zip(self.images, self.names):
            width, height = _size(image, name)
            if width < smallest or height < smallest:
                what = f"the crop data.crop={crop}" if random else f"the scale data.scale={scale}"
                raise UserError(
                    f"The image {name} is {width}x{height}, smaller than {what}: use images of at "
                    f"least {smallest}x{smallest} px or lower data.crop (a multiple of data.scale)."
                )

    def __len__(self) -> int:
        return len(self.images) * self.repeats

    def _high_resolution(self, index: int) -> Image.Image:
        return self.files.load(index // self.repeats, self._decode)

    def _decode(self, position: int) -> Image.Image:
        image = self.images[position]
        if isinstance(image, Image.Image):
            return image if image.mode == self.mode else model_image(image, self.channels, self.names[position])
        return decode_image(image, self.mode)

    def pair(self, index: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        high = self._high_resolution(index)
        width, height = high.size
        if self.takes_sample_seed:
            size = self.crop
            if generator is None:
                left, top = (width - size) // 2, (height - size) // 2
            else:
                left = int(torch.randint(width - size + 1, (), generator=generator))
                top = int(torch.randint(height - size + 1, (), generator=generator))
            high = high.crop((left, top, left + size, top + size))
            if generator is not None and self.flip and bool(torch.rand((), generator=generator) < 0.5):
                high = high.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        else:
            high = high.crop((0, 0, width - width % self.scale, height - height % self.scale))
        low = high.resize((high.width // self.scale, high.height // self.scale), Image.Resampling.BICUBIC)
        return to_signed(low), to_signed(high)


def check_scale_and_crop(scale, crop) -> None:
    for key, value in (("data.scale", scale), ("data.crop", crop)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"{key}={value!r} is not valid: use a positive integer.")
    if crop % scale:
        raise UserError(
            f"data.crop={crop} is not divisible by data.scale={scale}: the low-resolution input is "
            f"crop/scale px wide, so pick a crop that is a multiple of the scale (e.g. {crop - crop % scale or scale})."
        )


def _size(image, name: str) -> tuple[int, int]:
    if isinstance(image, Image.Image):
        return image.size
    try:
        with Image.open(image) as opened:
            return opened.size
    except UNREADABLE as error:
        raise UserError(f"{name} cannot be read as an image ({type(error).__name__}).") from None


def _images_under(root, key: str) -> list[Path]:
    if root is None or str(root).strip() == "":
        raise UserError(f"{key} is not set: pass {key}=<folder> pointing at a folder of high-resolution images.")
    folder = Path(os.path.expanduser(str(root))).absolute()
    if not folder.is_dir():
        raise UserError(f"{key}={root} is not a folder ({folder} does not exist): point it at a folder of images.")
    paths = find_images(folder)
    if not paths:
        raise UserError(f"{key}={root} holds no images (searched recursively under {folder}).")
    return readable_images(paths, root)


def _holdout_count(holdout, num_images: int, root) -> int:
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)) or not 0 <= holdout < 1:
        raise UserError(
            f"data.holdout={holdout!r} is not a share: use a number in [0, 1) (the last share of the "
            "sorted images is held out for the test split; at least one image), or set data.eval_root."
        )
    if num_images < 2:
        raise UserError(
            f"data.root={root} holds {num_images} image, too few to hold one out for testing and train "
            "on the rest: add images, or pass data.eval_root=<folder of test images>."
        )
    return min(num_images - 1, max(1, round(holdout * num_images)))
