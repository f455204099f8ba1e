"""Sampling a trained generator: latents by seed, batched generation, sample files (gan-sample)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.inference import images
from gan_cli.inference.loading import generator_of
from gan_cli.latent_layout import LatentLayout
from gan_cli.models.capabilities import Truncating
from gan_cli.runs.config import read_checkpoint
from gan_cli.runs.paths import RunPaths
from gan_cli.seeds import latent_generator


def seed_latent(seed: int, dim: int) -> torch.Tensor:
    """z for one seed, the same on every device (drawn on the CPU)."""
    return torch.randn(dim, generator=latent_generator(seed, "seed_latent"))


def seed_latents(seeds, dim: int) -> torch.Tensor:
    return torch.stack([seed_latent(s, dim) for s in seeds])


def batch_latents(n: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dim, generator=latent_generator(seed))


@torch.no_grad()
def generate(generator: nn.Module, latents: torch.Tensor, labels: torch.Tensor | None = None,
             batch_size: int = 256, **options) -> torch.Tensor:
    """G(z, labels, **options) for any number of latents, in batches, returned on the CPU."""
    device = next(generator.parameters()).device
    label_batches = labels.split(batch_size) if labels is not None else [None] * len(latents.split(batch_size))
    outputs = [generator(z.to(device), None if y is None else y.to(device), **options).float().cpu()
               for z, y in zip(latents.split(batch_size), label_batches)]
    return torch.cat(outputs)


def truncated_normal(shape, threshold: float, seed: int) -> torch.Tensor:
    """N(0, 1) values with every |value| > threshold drawn again until it is within (BigGAN's truncation)."""
    generator = latent_generator(seed, "truncation")
    values = torch.randn(shape, generator=generator)
    outside = values.abs() > threshold
    while outside.any():
        values[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = values.abs() > threshold
    return values


def truncation_options(generator: nn.Module, truncation, z: torch.Tensor, seed: int, name: str):
    """(z, forward options) for gan-sample's truncation=: towards the average W (StyleGAN2), or z
    resampled within [-truncation, truncation] (BigGAN); other models have none."""
    if truncation is None:
        return z, {}
    kind = generator.truncation if isinstance(generator, Truncating) else None
    if kind is None:
        raise UserError(f"truncation={truncation} does not apply to model={name}: only StyleGAN2 (psi towards the "
                        f"average W) and BigGAN (z resampled within a threshold) have a truncation trick.")
    if isinstance(truncation, bool) or not isinstance(truncation, (int, float)) or not (
            0 <= truncation <= 1 if kind == "w_average" else truncation > 0):
        valid = "psi in [0, 1] (1 = none, 0 = the average image)" if kind == "w_average" else "a threshold > 0 such as 0.5"
        raise UserError(f"truncation={truncation!r} is not valid for model={name}: give {valid}.")
    if kind == "w_average":
        return z, {"truncation_psi": float(truncation)}
    return truncated_normal(z.shape, float(truncation), seed + 1), {}


def default_output(ckpt, name: str) -> Path:
    """<run>/samples/<name> for a checkpoint at <run>/checkpoints/x.pt."""
    return RunPaths.of_checkpoint(ckpt).samples / name


def sample_to_files(ckpt, n: int = 64, seed: int = 0, out=None, nrow=None, individual: bool = False,
                    ema: bool = True, device="cpu", label: int | None = None, truncation=None) -> list[Path]:
    """Write n samples; return the paths written (the grid or scatter plot first).

    A conditional model makes class `label`, or without it one grid row per class."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise UserError(f"n={n!r} must be a positive whole number of samples.")
    read = read_checkpoint(ckpt)  # once: a path, or the checkpoint the command already read
    ckpt, checkpoint, config = read.path, read.checkpoint, read.config
    generator = generator_of(checkpoint, config, ckpt, ema, device)
    z, labels, rows_nrow = LatentLayout.from_config(config).grid(n, seed, label)
    z, options = truncation_options(generator, truncation, z, seed, config.model.name)
    samples = generate(generator, z, labels, **options)
    nrow = nrow or rows_nrow
    name = (f"sample_seed{seed}_n{n}" + (f"_label{label}" if label is not None else "")
            + (f"_trunc{truncation:g}" if truncation is not None else ""))
    out = Path(out) if out else default_output(ckpt, f"{name}.png")
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError(f"out={out} must end in .png or .jpg (the grid image).")
    if samples.ndim == 2:  # 2-D points: a scatter plot over the real data, and the raw values
        raw = out.with_suffix(".npy")
        raw.parent.mkdir(parents=True, exist_ok=True)
        np.save(raw, samples.numpy())
        from gan_cli.data import real_samples

        real = real_samples(config.data, 1000, seed=seed)
        title = f"{n} samples, seed {seed}, step {checkpoint['step']}"
        return [images.save_scatter(samples, out, real=real, title=title), raw]
    written = [images.save_grid(samples, out, nrow)]
    if individual:
        written += images.save_images(samples, out.with_suffix(""), prefix=f"seed{seed}_")
    return written
