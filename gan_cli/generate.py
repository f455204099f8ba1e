"""Plain functions for using a trained generator: load it from a checkpoint, pick latents by seed,
sample, interpolate. The gan-sample and gan-interp commands are thin layers over these."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
from hydra.utils import instantiate
from omegaconf import OmegaConf

from gan_cli.checkpoint import load_checkpoint
from gan_cli.errors import UserError

ALLOWED_TARGET_PREFIX = "gan_cli.models."


def load_generator(path, use_ema: bool = True, device="cpu") -> tuple[nn.Module, dict]:
    """The generator stored in a checkpoint (its EMA weights when present and use_ema), in eval mode."""
    checkpoint = load_checkpoint(path)
    config = OmegaConf.create(checkpoint["config"])
    target = str(config.model.generator.get("_target_", ""))
    # The config travels inside the file: only build classes of this package, never arbitrary callables.
    if not target.startswith(ALLOWED_TARGET_PREFIX):
        raise UserError(f"{path} names generator class {target!r}, which is not one of gan-cli's "
                        f"({ALLOWED_TARGET_PREFIX}*); refusing to build it from a checkpoint.")
    generator = instantiate(config.model.generator)
    weights = checkpoint["ema"] if use_ema and checkpoint.get("ema") is not None else checkpoint["generator"]
    generator.load_state_dict(weights)
    return generator.to(device).eval().requires_grad_(False), checkpoint


def seed_latent(seed: int, dim: int) -> torch.Tensor:
    """z for one seed, the same on every device (drawn on the CPU)."""
    return torch.randn(dim, generator=torch.Generator().manual_seed(int(seed)))


def seed_latents(seeds, dim: int) -> torch.Tensor:
    return torch.stack([seed_latent(s, dim) for s in seeds])


def batch_latents(n: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(int(seed)))


@torch.no_grad()
def generate(generator: nn.Module, latents: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """G(z) for any number of latents, in batches, returned on the CPU."""
    device = next(generator.parameters()).device
    outputs = [generator(z.to(device)).float().cpu() for z in latents.split(batch_size)]
    return torch.cat(outputs)


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    return torch.lerp(a, b, t)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation (White 2016): stays on the shell where Gaussian latents live."""
    a_unit, b_unit = a / a.norm(), b / b.norm()
    omega = torch.arccos((a_unit * b_unit).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    if omega.abs() < 1e-6:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


INTERPOLATIONS = {"slerp": slerp, "lerp": lerp}


def interpolation_path(seeds, dim: int, steps: int, method: str, closed: bool = False) -> torch.Tensor:
    """Latents walking from each seed to the next, `steps` per leg (both ends included).

    Returns (legs, steps, dim); with closed=True the last seed walks back to the first.
    """
    if method not in INTERPOLATIONS:
        raise UserError(f"method={method!r} is not an interpolation; use slerp (spherical, the default) or lerp (linear).")
    if steps < 2:
        raise UserError(f"steps={steps} must be at least 2 (the two end points).")
    seeds = list(seeds)
    if len(seeds) < 2:
        raise UserError(f"seeds={seeds} must list at least two seeds to walk between, e.g. seeds=[0,1,2].")
    z = seed_latents(seeds, dim)
    ends = list(range(len(seeds))) + ([0] if closed else [])
    interpolate = INTERPOLATIONS[method]
    return torch.stack([
        torch.stack([interpolate(z[i], z[j], t / (steps - 1)) for t in range(steps)])
        for i, j in zip(ends[:-1], ends[1:])
    ])


def grid_rows(n: int) -> int:
    return math.ceil(math.sqrt(n))
