"""Small building blocks shared by the architectures."""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils import parametrizations

from gan_cli.errors import UserError

NORMS = ("batch", "layer", "instance", "none")


def norm_2d(kind: str, channels: int) -> nn.Module:
    """A normalization layer for conv feature maps; `layer` normalizes over (C, H, W) per sample."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise UserError(f"norm={kind!r} is not a normalization gan-cli knows; use one of {', '.join(NORMS)}.")


def spectral(module: nn.Module, enabled: bool) -> nn.Module:
    """Wrap a layer in spectral normalization (Miyato 2018) when enabled."""
    return parametrizations.spectral_norm(module) if enabled else module


def pack(samples: torch.Tensor, packing: int) -> torch.Tensor:
    """PacGAN (Lin et al. 2018): every `packing` consecutive samples become one input of D.

    (B, C, ...) -> (B / packing, packing * C, ...): channels of images, features of points.
    """
    if packing == 1:
        return samples
    if samples.shape[0] % packing:
        raise UserError(
            f"model.discriminator.packing={packing} makes D judge {packing} samples at a time, but a batch of "
            f"{samples.shape[0]} samples reached it: set data.batch_size to a multiple of {packing} "
            f"(per process under DDP)."
        )
    return samples.reshape(samples.shape[0] // packing, packing * samples.shape[1], *samples.shape[2:])


def check_packing(packing) -> int:
    if isinstance(packing, bool) or not isinstance(packing, int) or packing < 1:
        raise UserError(f"model.discriminator.packing={packing!r} must be a whole number >= 1 (1: no packing; "
                        f"PacGAN uses 2 to 4).")
    return packing


def require_image_shape(data_shape, network: str) -> tuple[int, int]:
    """Check that data_shape is (C, R, R) with R a power of two >= 16; return (C, R)."""
    shape = tuple(int(s) for s in data_shape)
    if len(shape) != 3:
        raise UserError(
            f"{network} is a convolutional network for images of shape (channels, size, size), but the "
            f"data has shape {list(shape)} (2-D points for data=ring|grid). Use model=gan, whose fully "
            f"connected networks work on points, e.g. `gan-train model=gan data=ring`, and pick the "
            f"objective with loss=bce|lsgan|wasserstein|hinge."
        )
    channels, height, width = shape
    if height != width or height < 16 or height & (height - 1):
        raise UserError(
            f"{network} needs square images whose size is a power of two of at least 16 (16, 32, 64, "
            f"128, ...), but the data gives {height}x{width}; set data.resolution to one of those."
        )
    return channels, height


def judged_at_scales(discriminators, pool: nn.Module, audio: torch.Tensor) -> list:
    """A multi-scale audio D: each sub-D's output on the waveform, then on it pooled once more per scale."""
    assert audio.ndim == 3 and audio.shape[1] == 1, audio.shape
    outputs = []
    for index, discriminator in enumerate(discriminators):
        if index:
            audio = pool(audio)
        outputs.append(discriminator(audio))
    return outputs
