"""DiffAugment (Zhao et al. 2020): random, differentiable augmentations of D's inputs.

The same kind of transform is applied to real and fake images before D (each sample drawn on its
own), and gradients flow through it to G, so D cannot overfit a small dataset by memorizing it while
G still learns the un-augmented distribution. Images are (B, C, H, W) in [-1, 1]; 2-D points pass
through unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_cli.errors import UserError

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy) -> list[str]:
    """'color,translation' or ['color', 'translation'] -> the list of names; unknown names are errors."""
    names = policy.split(",") if isinstance(policy, str) else list(policy or [])
    names = [str(name).strip() for name in names if str(name).strip()]
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise UserError(
            f"DiffAugment policy {policy!r} has unknown augmentation(s) {', '.join(map(repr, unknown))}; use a "
            f"comma-separated subset of {', '.join(POLICIES)} (the paper's full policy: color,translation,cutout)."
        )
    return names


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One U[0, 1) number per sample, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device, generator=generator)


def _offsets(x: torch.Tensor, low: int, high: int, generator: torch.Generator | None) -> torch.Tensor:
    """One integer in [low, high) per sample."""
    return torch.randint(low, high, (x.shape[0],), device=x.device, generator=generator)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x[0, 2]) and contrast (x[0.5, 1.5]) per sample."""
    x = x + (_uniform(x, generator) - 0.5)
    if x.shape[1] > 1:  # saturation needs colour channels
        gray = x.mean(dim=1, keepdim=True)
        x = gray + (x - gray) * (2 * _uniform(x, generator))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (x - mean) * (_uniform(x, generator) + 0.5)


def translation(x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by up to ratio * size pixels along each axis; uncovered pixels become 0."""
    batch, _, height, width = x.shape
    max_dy, max_dx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = _offsets(x, -max_dy, max_dy + 1, generator)
    dx = _offsets(x, -max_dx, max_dx + 1, generator)
    # Output pixel (i, j) reads input pixel (i - dy, j - dx) of the zero-padded image.
    padded = F.pad(x, [max_dx, max_dx, max_dy, max_dy]).permute(0, 2, 3, 1)  # (B, H', W', C)
    rows = torch.arange(height, device=x.device)[None, :] + max_dy - dy[:, None]  # (B, H)
    cols = torch.arange(width, device=x.device)[None, :] + max_dx - dx[:, None]   # (B, W)
    batch_index = torch.arange(batch, device=x.device)[:, None, None]
    shifted = padded[batch_index, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return shifted.permute(0, 3, 1, 2)  # channels-last in memory, which convolutions take as is


def cutout(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero a (ratio * size)-sided square centred at a random pixel of each image (clipped at the border)."""
    _, _, height, width = x.shape
    cut_h, cut_w = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = _offsets(x, 0, height, generator) - cut_h // 2
    left = _offsets(x, 0, width, generator) - cut_w // 2
    rows = torch.arange(height, device=x.device)[None, :] - top[:, None]   # (B, H): row within the square
    cols = torch.arange(width, device=x.device)[None, :] - left[:, None]   # (B, W)
    inside = ((rows >= 0) & (rows < cut_h))[:, :, None] & ((cols >= 0) & (cols < cut_w))[:, None, :]
    return x * (~inside)[:, None].to(x.dtype)


def diff_augment(
    x: torch.Tensor,
    policy="color,translation,cutout",       # comma-separated names or a list, applied in this order
    generator: torch.Generator | None = None,  # on x's device; a seeded one makes the result repeatable
) -> torch.Tensor:
    """Apply the policy's augmentations to a batch; differentiable with respect to x."""
    names = parse_policy(policy)
    if x.ndim == 2:  # 2-D points: nothing to augment
        return x
    if x.ndim != 4:
        raise UserError(
            f"DiffAugment works on image batches (B, C, H, W) or points (B, 2), not on shape {tuple(x.shape)}.")
    for name in names:
        if name == "color":
            x = color(x, generator)
        elif name == "translation":
            x = translation(x, generator=generator)
        else:
            x = cutout(x, generator=generator)
    return x


class DiffAugment:
    """The augmentation as a configurable object: DiffAugment('color,translation')(images)."""

    def __init__(self, policy="color,translation,cutout"):
        self.names = parse_policy(policy)
        self.policy = ",".join(self.names)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return diff_augment(x, self.names, generator)

    def __repr__(self) -> str:
        return f"DiffAugment(policy={self.policy!r})"
