"""Pixel conversions shared by the dataset factories.

Every image set hands the training loop float images in [-1, 1] (the range of a tanh generator),
shaped (C, R, R). Small sets are converted in one batched op; streamed sets per image with PIL.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchvision import transforms

from gan_cli.errors import UserError


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


def resize_crop_to_signed(resolution: int, channels: int) -> transforms.Compose:
    """PIL image -> float tensor (C, R, R) in [-1, 1]: shorter side to R, then the centre square.

    This is the DCGAN reference preprocessing; on CelebA's 178x218 aligned faces it keeps the face
    and drops some forehead and chin.
    """
    return transforms.Compose(
        [
            transforms.Resize(resolution),
            transforms.CenterCrop(resolution),
            transforms.ToTensor(),
            transforms.Normalize([0.5] * channels, [0.5] * channels),
        ]
    )
