"""2D Gaussian mixtures: the mode-collapse benchmarks of VEEGAN and PacGAN.

A generator that covers every mode puts samples near each of the K centres; later code counts the
modes hit and the share of high-quality samples (within a few std of a centre) from `centers`
and `std`.
"""

from __future__ import annotations

import math

import torch


class GaussianMixture2D:
    """Equal-weight mixture of isotropic Gaussians in the plane."""

    def __init__(self, centers: torch.Tensor, std: float):
        centers = torch.as_tensor(centers, dtype=torch.float32)
        if centers.ndim != 2 or centers.shape[1] != 2 or centers.shape[0] < 1:
            raise ValueError(f"centers must be K x 2 with K >= 1, got {tuple(centers.shape)}")
        if not std > 0:
            raise ValueError(f"std must be positive, got {std}")
        self.centers = centers
        self.std = float(std)

    @property
    def num_modes(self) -> int:
        return self.centers.shape[0]

    def sample_with_modes(
        self, n: int, generator: torch.Generator | None = None, device=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """n points (n x 2) and the mode each came from (n, long), modes drawn uniformly.

        Drawn on the CPU so that the same generator gives the same points on any device.
        """
        modes = torch.randint(self.num_modes, (n,), generator=generator)
        noise = torch.randn(n, 2, generator=generator) * self.std
        points = self.centers[modes] + noise
        return points.to(device), modes.to(device)

    def sample(self, n: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """n points (n x 2)."""
        return self.sample_with_modes(n, generator, device)[0]

    def __repr__(self) -> str:
        return f"GaussianMixture2D(num_modes={self.num_modes}, std={self.std})"


def ring(num_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> GaussianMixture2D:
    """num_modes Gaussians equally spaced on a circle (the first at angle 0)."""
    angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
    centers = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) * radius
    return GaussianMixture2D(centers.float(), std)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture2D:
    """side x side Gaussians on a square grid centred at the origin ({-4,-2,0,2,4}^2 by default)."""
    coordinates = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xs, ys = torch.meshgrid(coordinates, coordinates, indexing="ij")
    centers = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)
    return GaussianMixture2D(centers, std)
