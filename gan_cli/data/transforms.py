"""Pixel conversions shared by the dataset factories.

Every image set hands the training loop float images in [-1, 1] (the range of a tanh generator),
shaped (C, R, R). Small sets are converted in one batched op; streamed sets per image with PIL.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gan_cli.errors import UserError

# No torchvision here: importing it pulls in torchvision.models and torch._dynamo (seconds of start-up).


def check_image_args(resolution: int, channels: int | None = None) -> None:
    """Reject a resolution or channel count no image set can produce, naming the config key."""
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
        raise UserError(
            f"data.resolution={resolution!r} is not a valid image size: it must be a positive "
            "integer such as 32 or 64 (images are resized to resolution x resolution)."
        )
    if channels is not None and channels not in (1, 3):
        raise UserError(
            f"data.channels={channels!r} is not supported: use 1 for grayscale or 3 for RGB images."
        )


def uint8_to_signed(images: torch.Tensor) -> torch.Tensor:
    """Map uint8 pixels 0..255 to floats in [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def resize_batch(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Resize a float batch (N, C, H, W) to (N, C, R, R) in one op.

    Antialiasing matches torchvision's Resize on downscaling; the clamp removes rounding drift so the
    result stays inside [-1, 1].
    """
    assert images.ndim == 4, f"expected (N, C, H, W), got {tuple(images.shape)}"
    if images.shape[-2:] == (resolution, resolution):
        return images
    resized = F.interpolate(
        images, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True
    )
    return resized.clamp_(-1.0, 1.0)


def to_signed(image: Image.Image) -> torch.Tensor:
    """An 8-bit PIL image (L or RGB) as a float tensor (C, H, W) in [-1, 1]."""
    pixels = torch.from_numpy(np.array(image, dtype=np.uint8, copy=True))
    if pixels.ndim == 2:
        pixels = pixels.unsqueeze(-1)
    return uint8_to_signed(pixels.permute(2, 0, 1).contiguous())


class ResizeCrop:
    """PIL image -> float tensor (C, R, R) in [-1, 1]: shorter side to R, then the centre square.

    This is the DCGAN reference preprocessing; on CelebA's 178x218 aligned faces it keeps the face
    and drops some forehead and chin. The sizes, the bilinear filter and the crop's rounding are
    torchvision's Resize(R) and CenterCrop(R) on a PIL image.
    """

    def __init__(self, resolution: int, channels: int):
        self.resolution, self.channels = resolution, channels

    def __call__(self, image: Image.Image) -> torch.Tensor:
        size = self.resolution
        width, height = image.size
        short, long = (width, height) if width <= height else (height, width)
        longer = int(size * long / short)
        new_width, new_height = (size, longer) if width <= height else (longer, size)
        image = image.resize((new_width, new_height), Image.Resampling.BILINEAR)
        top, left = int(round((new_height - size) / 2.0)), int(round((new_width - size) / 2.0))
        signed = to_signed(image.crop((left, top, left + size, top + size)))
        assert signed.shape[0] == self.channels, f"a {image.mode} image for {self.channels} channel(s)"
        return signed


def resize_crop_to_signed(resolution: int, channels: int) -> ResizeCrop:
    """The transform ResizeCrop(resolution, channels), a picklable callable for DataLoader workers."""
    return ResizeCrop(resolution, channels)
