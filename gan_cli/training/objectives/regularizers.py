"""Penalties on D's loss and constraints on D's weights, applied by the adversarial objective."""

from __future__ import annotations

import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.models.biggan import orthogonal_penalty
from gan_cli.run_settings import RegularizerSettings
from gan_cli.training.objectives.auxiliary import split_output


def input_gradient(discriminator: nn.Module, inputs: torch.Tensor, labels=None,
                   scaler: torch.amp.GradScaler | None = None) -> torch.Tensor:
    """d(sum of D's scores)/d(inputs), in float32, kept in the graph (the penalty is trained through)."""
    inputs = inputs.detach().requires_grad_(True)
    scores = split_output(discriminator(inputs, labels))[0].float().sum()
    if scaler is not None and scaler.is_enabled():
        # fp16: take the gradient of the scaled scores (no underflow), then unscale it.
        (grad,) = torch.autograd.grad(scaler.scale(scores), inputs, create_graph=True)
        return grad.float() / scaler.get_scale()
    (grad,) = torch.autograd.grad(scores, inputs, create_graph=True)
    return grad.float()


class Penalty:
    """A term added to D's loss. Most are computed from D's inputs every `interval` updates; one that
    sets on_real_logits is computed from the scores D already gave the real batch."""

    name = ""
    forbids_batch_norm = False
    on_real_logits = False
    interval = 1


class GradientPenalty(Penalty):
    """WGAN-GP (Gulrajani 2017): weight * E[(||grad_x D(x_hat)|| - 1)^2] on random interpolates."""

    name = "gradient_penalty"
    forbids_batch_norm = True  # BN mixes samples, so per-sample input gradients lose their meaning

    def __init__(self, weight: float = 10.0, target_norm: float = 1.0):
        self.weight, self.target_norm = weight, target_norm

    def __call__(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels=None,
                 scaler: torch.amp.GradScaler | None = None) -> torch.Tensor:
        eps = torch.rand([real.shape[0]] + [1] * (real.ndim - 1), device=real.device, dtype=real.dtype)
        interpolates = torch.lerp(fake.detach().to(real.dtype), real.detach(), eps)
        grad_norm = input_gradient(discriminator, interpolates, labels, scaler).flatten(1).norm(2, dim=1)
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


def build_regularizers(settings: RegularizerSettings) -> tuple[list, list]:
    """(penalties added to D's loss, constraints applied to D's weights) from the run's regularizer
    settings (each value already checked positive or null: gan_cli/run_settings.py)."""
    penalties, constraints = [], []
    if settings.gradient_penalty and settings.weight_clip:
        raise UserError(
            f"regularizers.gradient_penalty={settings.gradient_penalty:g} and regularizers.weight_clip="
            f"{settings.weight_clip:g} are both set; choose one way to keep the critic Lipschitz: the gradient "
            f"penalty (WGAN-GP, regularizers.weight_clip=null) or weight clipping (WGAN, "
            f"regularizers.gradient_penalty=null)."
        )
    if settings.gradient_penalty:
        penalties.append(GradientPenalty(settings.gradient_penalty))
    if settings.r1:
        penalties.append(R1Penalty(settings.r1, settings.r1_interval))
    if settings.weight_clip:
        constraints.append(WeightClip(settings.weight_clip))
    if settings.drift:
        penalties.append(DriftPenalty(settings.drift))
    return penalties, constraints


def build_generator_regularizers(settings: RegularizerSettings) -> list:
    """Penalties added to G's loss, from the run's regularizer settings (orthogonal: BigGAN's beta)."""
    return [OrthogonalPenalty(settings.orthogonal)] if settings.orthogonal else []


class DriftPenalty(Penalty):
    """ProGAN (Karras 2018): epsilon * E[D(x_real)^2], which keeps a WGAN-GP critic's scores near 0."""

    name = "drift"
    forbids_batch_norm = False
    on_real_logits = True   # computed from the scores D already gave the real batch

    def __init__(self, epsilon: float = 0.001):
        self.epsilon = epsilon

    def __call__(self, real_logits: torch.Tensor) -> torch.Tensor:
        return self.epsilon * real_logits.float().square().mean()


class OrthogonalPenalty:
    """BigGAN (Brock 2019): beta / 2 * sum ||W W^T * (1 - I)||_F^2 over G's raw weights (not its class
    embedding), whose gradient is the official code's beta * 2 (W W^T * (1 - I)) W."""

    name = "orthogonal"

    def __init__(self, beta: float = 1e-4):
        self.beta = beta

    def __call__(self, generator: nn.Module) -> torch.Tensor:
        return 0.5 * self.beta * orthogonal_penalty(generator)


class R1Penalty(Penalty):
    """R1 (Mescheder 2018): weight/2 * E[||grad_x D(x)||^2] on real data.

    Lazy (Karras 2020): computed every `interval` D updates and scaled by `interval`, which keeps
    its average strength while skipping most of its cost.
    """

    name = "r1"
    forbids_batch_norm = True

    def __init__(self, weight: float = 10.0, interval: int = 1):
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise UserError(f"regularizers.r1_interval={interval!r} must be a positive whole number (1 = every D step, "
                            f"16 = the lazy schedule of StyleGAN2).")
        self.weight, self.interval = weight, interval

    def __call__(self, discriminator: nn.Module, real: torch.Tensor, fake: torch.Tensor, labels=None,
                 scaler: torch.amp.GradScaler | None = None) -> torch.Tensor:
        grad = input_gradient(discriminator, real, labels, scaler)
        return self.interval * 0.5 * self.weight * grad.flatten(1).square().sum(1).mean()
