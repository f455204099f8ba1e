"""Mode metrics for the 2-D Gaussian mixtures, the protocol of VEEGAN (Srivastava et al. 2017) and
PacGAN (Lin et al. 2018, Table 1).

A generated point is high quality when it lies within `quality_stds` standard deviations of its
nearest mode centre; a mode is captured when at least one high-quality point is nearest to it; the
reverse KL compares the histogram of high-quality points over modes with the uniform distribution.
"""

from __future__ import annotations

import math

import torch

from gan_cli.data.mixtures import GaussianMixture2D

NUM_SAMPLES = 2500   # the protocol's number of generated points
QUALITY_STDS = 3.0   # "high quality": within 3 standard deviations of the nearest mode


def mode_metrics(points: torch.Tensor, mixture: GaussianMixture2D, quality_stds: float = QUALITY_STDS) -> dict[str, float]:
    """modes (captured), high_quality (fraction of points) and reverse_kl for points (N, 2).

    reverse_kl is KL(high-quality mode histogram || uniform) in nats; it is inf when no point is
    high quality (there is no histogram to compare).
    """
    assert points.ndim == 2 and points.shape[1] == 2, points.shape
    points = points.detach().double().cpu()
    centers = mixture.centers.double()
    distances = torch.cdist(points, centers)                      # (N, K)
    nearest_distance, nearest_mode = distances.min(dim=1)
    high_quality = nearest_distance <= quality_stds * mixture.std
    counts = torch.bincount(nearest_mode[high_quality], minlength=mixture.num_modes).double()
    num_high_quality = counts.sum().item()
    if num_high_quality == 0:
        reverse_kl = math.inf
    else:
        p = counts / num_high_quality
        present = p > 0  # 0 log 0 = 0
        reverse_kl = (p[present] * (p[present] * mixture.num_modes).log()).sum().item()
    return {
        "modes": float((counts > 0).sum().item()),
        "high_quality": float(high_quality.double().mean().item()),
        "reverse_kl": float(reverse_kl),
    }


def mode_protocol(mixture: GaussianMixture2D, num_samples: int, seed: int, quality_stds: float = QUALITY_STDS) -> dict:
    return {
        "protocol": "VEEGAN/PacGAN 2-D mixture",
        "num_modes": mixture.num_modes,
        "mode_std": mixture.std,
        "num_generated": num_samples,
        "high_quality_radius": f"{quality_stds:g} std = {quality_stds * mixture.std:g}",
        "reverse_kl": "KL(histogram of high-quality samples over nearest modes || uniform), nats",
        "seed": seed,
    }
