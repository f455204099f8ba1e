"""Penalties on D's loss and constraints on D's weights, applied by the training loop."""

from __future__ import annotations

import torch
import torch.nn as nn

from gan_cli.errors import UserError


class GradientPenalty:
    """WGAN-GP (Gulrajani 2017): weight * E[(||grad_x D(x_hat)|| - 1)^2] on random interpolates."""

    name = "gradient_penalty"
    forbids_batch_norm = True  # BN mixes samples, so per-sample input gradients lose their meaning

    def __init__(self, weight: float = 10.0, target_norm: float = 1.0):
        self.weight, self.target_norm = weight, target_norm

    def __call__(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels=None) -> torch.Tensor:
        eps = torch.rand([real.shape[0]] + [1] * (real.ndim - 1), device=real.device, dtype=real.dtype)
        interpolates = torch.lerp(fake.detach(), real.detach(), eps).requires_grad_(True)
        scores = discriminator(interpolates, labels)
        (grad,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
        grad_norm = grad.flatten(1).norm(2, dim=1)
        return self.weight * (grad_norm - self.target_norm).square().mean()


class WeightClip:
    """WGAN (Arjovsky 2017): clamp every critic parameter to [-limit, limit] after each update."""

    name = "weight_clip"
    forbids_batch_norm = False

    def __init__(self, limit: float = 0.01):
        self.limit = limit

    @torch.no_grad()
    def __call__(self, discriminator: nn.Module) -> None:
        for p in discriminator.parameters():
            p.clamp_(-self.limit, self.limit)


def build_regularizers(settings) -> tuple[list, list]:
    """(penalties added to D's loss, constraints applied to D's weights) from the `regularizers` config."""
    penalties, constraints = [], []
    for key in ("gradient_penalty", "weight_clip"):
        value = settings.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
            raise UserError(f"regularizers.{key}={value!r} must be a positive number, or null to turn it off.")
    gradient_penalty, weight_clip = settings.get("gradient_penalty"), settings.get("weight_clip")
    if gradient_penalty and weight_clip:
        raise UserError(
            f"regularizers.gradient_penalty={gradient_penalty} and regularizers.weight_clip={weight_clip} are both "
            f"set; choose one way to keep the critic Lipschitz: the gradient penalty (WGAN-GP, "
            f"regularizers.weight_clip=null) or weight clipping (WGAN, regularizers.gradient_penalty=null)."
        )
    if gradient_penalty:
        penalties.append(GradientPenalty(float(gradient_penalty)))
    if weight_clip:
        constraints.append(WeightClip(float(weight_clip)))
    return penalties, constraints
