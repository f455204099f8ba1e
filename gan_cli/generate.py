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


class LatentSpec:
    """What a checkpoint's generator takes: noise, class labels (conditional), InfoGAN codes."""

    def __init__(self, config: dict):
        """`config`: a run's resolved config (a checkpoint's "config", or the training cfg)."""
        if not isinstance(config, dict):
            config = OmegaConf.to_container(config, resolve=True)
        model = config["model"]
        self.latent_dim = int(model["latent_dim"])
        self.num_classes = config["data"].get("num_classes") if model.get("conditional") else None
        self.auxiliary = None
        auxiliary = model.get("auxiliary")
        if auxiliary:
            if not str(auxiliary.get("_target_", "")).startswith("gan_cli.auxiliary."):
                raise UserError(f"the checkpoint names auxiliary objective {auxiliary.get('_target_')!r}, which is not "
                                f"one of gan-cli's (gan_cli.auxiliary.*); refusing to build it.")
            self.auxiliary = instantiate(auxiliary)
        self.code_dim = getattr(self.auxiliary, "code_dim", 0)
        self.noise_dim = self.latent_dim - self.code_dim

    def check_label(self, label) -> None:
        if label is None:
            return
        if not self.num_classes:
            raise UserError(f"label={label} was given, but this checkpoint's generator is not conditional; "
                            f"leave label out (conditional models: model=cgan, acgan, projection).")
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < self.num_classes:
            raise UserError(f"label={label} is not a class of this checkpoint; use 0 to {self.num_classes - 1}.")

    def inputs(self, n: int, seed: int, label: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
        """(z, labels, images per row): n latents by seed; for a conditional model without `label`,
        one row per class."""
        self.check_label(label)
        generator = torch.Generator().manual_seed(int(seed))
        labels, nrow = None, None
        if self.num_classes:
            if label is None:
                nrow = max(1, n // self.num_classes)
                labels = torch.arange(self.num_classes).repeat_interleave(nrow)
                n = len(labels)
            else:
                labels = torch.full((n,), label, dtype=torch.long)
        z = torch.randn(n, self.noise_dim, generator=generator)
        if self.code_dim:
            z = torch.cat([z, self.auxiliary.sample_codes(n, generator, "cpu")], dim=1)
        return z, labels, nrow

    def with_codes(self, noise: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Noise (N, noise_dim) completed with random codes, for interpolation of the noise alone."""
        if not self.code_dim:
            return noise
        codes = self.auxiliary.sample_codes(1, torch.Generator().manual_seed(int(seed)), "cpu")
        return torch.cat([noise, codes.expand(noise.shape[0], -1)], dim=1)


def seed_latent(seed: int, dim: int) -> torch.Tensor:
    """z for one seed, the same on every device (drawn on the CPU)."""
    return torch.randn(dim, generator=torch.Generator().manual_seed(int(seed)))


def seed_latents(seeds, dim: int) -> torch.Tensor:
    return torch.stack([seed_latent(s, dim) for s in seeds])


def batch_latents(n: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(int(seed)))


@torch.no_grad()
def generate(generator: nn.Module, latents: torch.Tensor, labels: torch.Tensor | None = None,
             batch_size: int = 256) -> torch.Tensor:
    """G(z, labels) for any number of latents, in batches, returned on the CPU."""
    device = next(generator.parameters()).device
    label_batches = labels.split(batch_size) if labels is not None else [None] * len(latents.split(batch_size))
    outputs = [generator(z.to(device), None if y is None else y.to(device)).float().cpu()
               for z, y in zip(latents.split(batch_size), label_batches)]
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


def infogan_code_walk(spec: LatentSpec, seed: int, steps: int, code: int = 0, low: float = -2.0,
                      high: float = 2.0) -> torch.Tensor:
    """The InfoGAN disentanglement figure's latents: a row per value of the first categorical code,
    a column per value of continuous code `code` from low to high; the noise and other codes fixed."""
    auxiliary = spec.auxiliary
    if not isinstance(getattr(auxiliary, "categorical", None), list) or not auxiliary.categorical:
        raise UserError("mode=codes walks InfoGAN codes, but this checkpoint has no categorical code; "
                        "use mode=walk (seeds) instead.")
    if not 0 <= code < max(auxiliary.continuous, 1) or not auxiliary.continuous:
        raise UserError(f"code={code} is not a continuous code of this InfoGAN; it has {auxiliary.continuous} "
                        f"(use 0 to {auxiliary.continuous - 1}).")
    generator = torch.Generator().manual_seed(int(seed))
    noise = torch.randn(1, spec.noise_dim, generator=generator)
    base = auxiliary.sample_codes(1, generator, "cpu")
    rows = []
    first = auxiliary.categorical[0]
    continuous_start = sum(auxiliary.categorical)
    for value in range(first):
        row = []
        for t in torch.linspace(low, high, steps):
            codes = base.clone()
            codes[0, :first] = 0
            codes[0, value] = 1
            codes[0, continuous_start + code] = t
            row.append(torch.cat([noise, codes], dim=1)[0])
        rows.append(torch.stack(row))
    return torch.stack(rows)


def seed_mean(seeds, dim: int) -> torch.Tensor:
    """The mean latent of one seed or a list of seeds (the DCGAN paper averages three per concept)."""
    seeds = seeds if isinstance(seeds, (list, tuple)) else [seeds]
    return seed_latents(seeds, dim).mean(0)


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
