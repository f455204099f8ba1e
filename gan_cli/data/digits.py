"""scikit-learn's bundled handwritten digits: the offline default dataset.

1797 real 8x8 digits ship inside scikit-learn, so a first run needs no download and finishes on
a laptop CPU; they are upsampled so the same 32x32 architectures as MNIST apply.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_cli.data.transforms import check_image_args

# load_digits() pixels are counts of set pixels in 4x4 blocks of the original 32x32 bitmaps.
_DIGITS_MAX_VALUE = 16.0


def digits(resolution: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """All 1797 digits as (images N x 1 x R x R in [-1, 1], labels N long in 0..9)."""
    check_image_args(resolution)
    # Imported here so that importing gan_cli.data does not pay for scikit-learn.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1)
    images = images / _DIGITS_MAX_VALUE * 2.0 - 1.0
    if resolution != images.shape[-1]:
        # Plain bilinear upsampling interpolates between pixels, so values stay in [-1, 1].
        images = F.interpolate(
            images, size=(resolution, resolution), mode="bilinear", align_corners=False
        )
    labels = torch.as_tensor(bunch.target, dtype=torch.long)
    return images.contiguous(), labels
