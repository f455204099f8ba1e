"""Walks through a generator's latent space (gan-interp): between seeds and along InfoGAN codes, each
written as a grid PNG and a looping GIF beside it; and latent arithmetic (not a walk: one PNG)."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from gan_cli.errors import UserError
from gan_cli.inference import images
from gan_cli.inference.loading import generator_of
from gan_cli.inference.sampling import default_output, generate, seed_latents
from gan_cli.latent_layout import LatentLayout
from gan_cli.runs.config import ReadCheckpoint, read_checkpoint
from gan_cli.seeds import latent_generator


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


def seed_mean(seeds, dim: int) -> torch.Tensor:
    """The mean latent of one seed or a list of seeds (the DCGAN paper averages three per concept)."""
    seeds = seeds if isinstance(seeds, (list, tuple)) else [seeds]
    return seed_latents(seeds, dim).mean(0)


def infogan_code_walk(layout: LatentLayout, seed: int, steps: int, code: int = 0, low: float = -2.0,
                      high: float = 2.0) -> torch.Tensor:
    """The InfoGAN disentanglement figure's latents: a row per value of the first categorical code,
    a column per value of continuous code `code` from low to high; the noise and other codes fixed."""
    if not layout.categorical:
        raise UserError("mode=codes walks InfoGAN codes, but this checkpoint has no categorical code; "
                        "use mode=walk (seeds) instead.")
    if not layout.continuous or not 0 <= code < layout.continuous:
        raise UserError(f"code={code} is not a continuous code of this InfoGAN; it has {layout.continuous} "
                        f"(use 0 to {layout.continuous - 1}).")
    generator = latent_generator(seed, "code_walk")
    noise = torch.randn(1, layout.noise_dim, generator=generator)
    base = layout.sample_codes(1, generator, "cpu")
    first, continuous_start = layout.categorical[0], sum(layout.categorical)
    rows = []
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


def interpolate_to_files(ckpt, method: str = "slerp", steps: int = 8, seeds=(0, 1, 2, 3, 4), out=None,
                         gif: images.GifSettings = images.GifSettings(), ema: bool = True, device="cpu",
                         label=None) -> tuple[Path, Path]:
    """Rows walking from each seed's noise to the next (grid PNG), and a looping GIF through all seeds."""
    read = read_checkpoint(ckpt)  # a path, or the checkpoint the command already read
    ckpt, (generator, layout) = read.path, image_generator(read, ema, device)
    seeds = list(seeds)
    out = Path(out) if out else default_output(ckpt, f"interp_{method}.png")
    rows = interpolation_path(seeds, layout.noise_dim, steps, method).flatten(0, 1)
    pictures = generate(generator, layout.with_codes(rows), layout.labels_for(len(rows), label))
    grid_path = images.save_grid(pictures, out, nrow=steps)

    # The GIF: one image walking through every seed and back to the first, `frames` per leg.
    path = interpolation_path(seeds, layout.noise_dim, gif.frames + 1, method, closed=True)[:, :-1].flatten(0, 1)
    walk = generate(generator, layout.with_codes(path), layout.labels_for(len(path), label))
    gif_path = images.save_gif(walk, out.with_suffix(".gif"), gif.fps, gif.size)
    return grid_path, gif_path


def code_walk_to_files(ckpt, seed: int = 0, steps: int = 8, code: int = 0, out=None,
                       gif: images.GifSettings = images.GifSettings(), ema: bool = True,
                       device="cpu") -> tuple[Path, Path]:
    """InfoGAN: rows = values of the categorical code, columns = continuous code `code` from -2 to 2
    (grid PNG); and a looping GIF of every categorical value in a square grid as the code sweeps -2 -> 2 -> -2."""
    read = read_checkpoint(ckpt)  # a path, or the checkpoint the command already read
    ckpt, (generator, layout) = read.path, image_generator(read, ema, device)
    if layout.code_dim == 0:
        raise UserError(f"mode=codes walks InfoGAN latent codes, but {ckpt} has none; "
                        f"use mode=walk or mode=arithmetic.")
    latents = infogan_code_walk(layout, seed, steps, code)
    pictures = generate(generator, latents.flatten(0, 1))
    out = Path(out) if out else default_output(ckpt, f"codes_seed{seed}_c{code}.png")
    grid_path = images.save_grid(pictures, out, nrow=steps)

    sweep = infogan_code_walk(layout, seed, gif.frames + 1, code)  # (values, frames + 1, latent)
    there_and_back = torch.cat([sweep[:, :-1], sweep.flip(1)[:, :-1]], dim=1).transpose(0, 1)
    frames = generate(generator, there_and_back.flatten(0, 1)).view(*there_and_back.shape[:2], *pictures.shape[1:])
    gif_path = images.save_grid_gif(list(frames), math.ceil(math.sqrt(len(sweep))), out.with_suffix(".gif"), gif.fps,
                                    gif.size)
    return grid_path, gif_path


def arithmetic_to_file(ckpt, a, b, c, out=None, ema: bool = True, device="cpu", label=None) -> Path:
    """G(z_a), G(z_b), G(z_c) and G(z_a - z_b + z_c) in a row (Radford 2016); a, b, c are seeds or
    lists of seeds whose latents are averaged."""
    if a is None or b is None or c is None:
        raise UserError("mode=arithmetic needs three seeds (or lists of seeds): a=SEED b=SEED c=SEED, giving "
                        "G(z_a - z_b + z_c), e.g. a=[1,2,3] b=[4,5,6] c=[7,8,9].")
    read = read_checkpoint(ckpt)  # a path, or the checkpoint the command already read
    ckpt, (generator, layout) = read.path, image_generator(read, ema, device)
    z_a, z_b, z_c = (seed_mean(s, layout.noise_dim) for s in (a, b, c))
    noise = torch.stack([z_a, z_b, z_c, z_a - z_b + z_c])
    pictures = generate(generator, layout.with_codes(noise), layout.labels_for(4, label))
    out = Path(out) if out else default_output(ckpt, "arithmetic.png")
    return images.save_grid(pictures, out, nrow=4)


def image_generator(read: ReadCheckpoint, ema: bool = True, device="cpu"):
    """(generator, latent layout) of a checkpoint trained on images; 2-D points have no walks to draw."""
    generator = generator_of(read.checkpoint, read.config, read.path, ema, device)
    ckpt = read.path
    if len(generator.data_shape) != 3:
        raise UserError(f"{ckpt} was trained on {generator.data_shape[0]}-D points, not images; gan-interp draws "
                        f"image walks. Use gan-sample ckpt={ckpt} for a scatter plot of its samples.")
    return generator, LatentLayout.from_config(read.config)
