"""Penalties on D's loss and constraints on D's weights, applied by the training loop."""

from __future__ import annotations

import torch
import torch.nn as nn


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
