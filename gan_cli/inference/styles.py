"""Pictures only a style-based or class-conditional generator can make (gan-interp):

    walk in W       StyleGAN2: the seeds' w = mapping(z), interpolated linearly in W (space=w)
    style mixing    StyleGAN2: coarse styles (the first `crossover` w's) from the row seeds, fine ones
                    from the column seeds; the top row and left column are the seeds' own images
    class walk      BigGAN and other conditional generators: the class embedding interpolated
                    between classes, the noise fixed

Each is written as a grid PNG and a looping GIF beside it (the walks loop back to their start; style
mixing's GIF moves the crossover from the coarsest style input to the finest).

Noise inputs are the generator's constant ones in eval mode, so the same seeds give the same picture.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gan_cli.errors import UserError
from gan_cli.inference import images
from gan_cli.inference.sampling import default_output, seed_latents
from gan_cli.models.capabilities import ClassEmbedded, StyleBased


def require_styles(generator, ckpt, what: str) -> None:
    if not isinstance(generator, StyleBased):
        raise UserError(f"{what} needs a style-based generator (model=stylegan2), but {ckpt} holds a "
                        f"{type(generator).__name__}; use mode=walk (space=z) for this model.")


@torch.no_grad()
def seed_ws(generator, seeds, labels=None, truncation_psi: float = 1.0) -> torch.Tensor:
    """w (len(seeds), num_ws, w_dim) of each seed's z, on the CPU."""
    device = next(generator.parameters()).device
    z = seed_latents(seeds, generator.latent_dim).to(device)
    labels = labels.to(device) if labels is not None else None
    return generator.mapping(z, labels, truncation_psi=truncation_psi).cpu()


@torch.no_grad()
def synthesize(generator, ws: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    device = next(generator.parameters()).device
    return torch.cat([generator.synthesis(chunk.to(device), noise_mode="const").float().cpu()
                      for chunk in ws.split(batch_size)])


def w_walk(generator, seeds, steps: int, labels=None, truncation_psi: float = 1.0, closed: bool = False) -> torch.Tensor:
    """Images walking linearly in W from each seed to the next: (legs, steps, C, H, W)."""
    ws = seed_ws(generator, seeds, None if labels is None else labels[: len(seeds)], truncation_psi)
    ends = list(range(len(ws))) + ([0] if closed else [])
    path = torch.stack([torch.lerp(ws[i], ws[j], t / (steps - 1))
                        for i, j in zip(ends[:-1], ends[1:]) for t in range(steps)])
    pictures = synthesize(generator, path)
    return pictures.view(len(ends) - 1, steps, *pictures.shape[1:])


def w_walk_to_files(ckpt, generator, seeds, steps: int, out=None, gif: images.GifSettings = images.GifSettings(),
                    truncation_psi: float = 1.0) -> tuple[Path, Path]:
    """space=w: a grid row per leg between consecutive seeds, and a looping GIF through every seed's w."""
    require_styles(generator, ckpt, "space=w")
    out = Path(out) if out else default_output(ckpt, "interp_w.png")
    grid_path = images.save_grid(w_walk(generator, seeds, steps, truncation_psi=truncation_psi).flatten(0, 1), out,
                                 nrow=steps)
    loop = w_walk(generator, seeds, gif.frames + 1, truncation_psi=truncation_psi, closed=True)[:, :-1]
    return grid_path, images.save_gif(loop.flatten(0, 1), out.with_suffix(".gif"), gif.fps, gif.size)


def style_mixing_grid(generator, rows, cols, crossover: int, labels=None, truncation_psi: float = 1.0) -> torch.Tensor:
    """The StyleGAN figure: (1 + len(rows)) x (1 + len(cols)) images, the corner blank (white)."""
    if not 1 <= crossover < generator.num_ws:
        raise UserError(f"crossover={crossover} must be a layer in 1..{generator.num_ws - 1}: the first `crossover` "
                        f"of the {generator.num_ws} style inputs (the coarse ones) come from the row seeds.")
    row_ws = seed_ws(generator, rows, labels, truncation_psi)
    col_ws = seed_ws(generator, cols, labels, truncation_psi)
    mixed = torch.stack([torch.cat([r[:crossover], c[crossover:]]) for r in row_ws for c in col_ws])
    row_images, col_images = synthesize(generator, row_ws), synthesize(generator, col_ws)
    mixed_images = synthesize(generator, mixed).view(len(rows), len(cols), *row_images.shape[1:])
    blank = torch.ones_like(row_images[:1])
    top = torch.cat([blank, col_images])
    body = [torch.cat([row_images[i:i + 1], mixed_images[i]]) for i in range(len(rows))]
    return torch.cat([top, *body])


def style_mixing_to_files(ckpt, generator, rows, cols, crossover: int | None, out=None,
                          gif: images.GifSettings = images.GifSettings(),
                          truncation_psi: float = 1.0) -> tuple[Path, Path]:
    """The style-mixing figure at `crossover` (grid PNG), and a looping GIF of the figure as the
    crossover moves from the coarsest style input to the finest, each held for gif.frames frames."""
    require_styles(generator, ckpt, "mode=style_mixing")
    rows, cols = _seed_list(rows, "rows"), _seed_list(cols, "cols")
    crossover = generator.num_ws // 2 if crossover is None else crossover
    grid = style_mixing_grid(generator, rows, cols, crossover, truncation_psi=truncation_psi)
    out = Path(out) if out else default_output(ckpt, f"style_mixing_crossover{crossover}.png")
    grid_path = images.save_grid(grid, out, nrow=len(cols) + 1)
    figures = [style_mixing_grid(generator, rows, cols, k, truncation_psi=truncation_psi)
               for k in range(1, generator.num_ws)]
    gif_path = images.save_grid_gif(figures, len(cols) + 1, out.with_suffix(".gif"), gif.fps, gif.size,
                                    hold=gif.frames)
    return grid_path, gif_path


@torch.no_grad()
def class_walk(generator, seed: int, classes, steps: int, closed: bool = False) -> torch.Tensor:
    """The noise of `seed` with the class embedding walking from each class to the next: (legs, steps, C, H, W)."""
    if not isinstance(generator, ClassEmbedded):
        raise UserError(f"mode=classes walks between classes, which needs a class-conditional generator with a "
                        f"class embedding (model=biggan); {type(generator).__name__} has none.")
    device = next(generator.parameters()).device
    classes = _seed_list(classes, "classes")
    embedded = generator.class_embedding(torch.tensor(classes, device=device))
    ends = list(range(len(classes))) + ([0] if closed else [])
    path = torch.stack([torch.lerp(embedded[i], embedded[j], t / (steps - 1))
                        for i, j in zip(ends[:-1], ends[1:]) for t in range(steps)])
    z = seed_latents([seed], generator.latent_dim).to(device).expand(len(path), -1)
    pictures = generator(z, path).float().cpu()
    return pictures.view(len(ends) - 1, steps, *pictures.shape[1:])


def class_walk_to_files(ckpt, generator, seed: int, classes, steps: int, out=None,
                        gif: images.GifSettings = images.GifSettings()) -> tuple[Path, Path]:
    """mode=classes: a grid row per leg between consecutive classes, and a looping GIF through every class."""
    out = Path(out) if out else default_output(ckpt, f"classes_seed{seed}.png")
    grid_path = images.save_grid(class_walk(generator, seed, classes, steps).flatten(0, 1), out, nrow=steps)
    loop = class_walk(generator, seed, classes, gif.frames + 1, closed=True)[:, :-1]
    return grid_path, images.save_gif(loop.flatten(0, 1), out.with_suffix(".gif"), gif.fps, gif.size)


def _seed_list(value, key: str) -> list[int]:
    value = list(value) if value is not None and not isinstance(value, (int, str)) else value
    if not isinstance(value, list) or len(value) < 1 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                                 for v in value):
        raise UserError(f"{key}={value!r} must be a list of whole numbers, e.g. {key}=[1,2,3].")
    return value
