"""gan-interp: walk the latent space between seeds; write a grid PNG (one row per leg) and a GIF."""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from gan_cli import visuals
from gan_cli.errors import UserError, exit_with
from gan_cli.generate import generate, interpolation_path, load_generator
from gan_cli.sample import default_output
from gan_cli.validation import resolve_device


def interpolate_to_files(ckpt, method: str = "slerp", steps: int = 8, seeds=(0, 1, 2, 3, 4), out=None,
                         frames: int = 24, fps: int = 24, gif_size: int = 128, ema: bool = True,
                         device="cpu") -> tuple[Path, Path]:
    generator, _ = load_generator(ckpt, use_ema=ema, device=device)
    if len(generator.data_shape) != 3:
        raise UserError(f"{ckpt} was trained on {generator.data_shape[0]}-D points, not images; gan-interp draws "
                        f"image walks. Use gan-sample ckpt={ckpt} for a scatter plot of its samples.")
    seeds = list(seeds)
    out = Path(out) if out else default_output(ckpt, f"interp_{method}.png")
    rows = interpolation_path(seeds, generator.latent_dim, steps, method)
    images = generate(generator, rows.flatten(0, 1))
    grid_path = visuals.save_grid(images, out, nrow=steps)

    # The GIF: one image walking through every seed and back to the first, `frames` per leg.
    path = interpolation_path(seeds, generator.latent_dim, frames + 1, method, closed=True)[:, :-1]
    walk = generate(generator, path.flatten(0, 1))
    scale = max(1, -(-gif_size // walk.shape[-1]))
    walk = F.interpolate(walk, scale_factor=scale, mode="nearest")
    pictures = [Image.fromarray(frame.permute(1, 2, 0).squeeze(-1).numpy()) for frame in visuals.to_uint8(walk)]
    gif_path = out.with_suffix(".gif")
    pictures[0].save(gif_path, save_all=True, append_images=pictures[1:], duration=max(1, 1000 // fps), loop=0)
    return grid_path, gif_path


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="interp")
def main(cfg: DictConfig) -> None:
    try:
        if OmegaConf.is_missing(cfg, "ckpt"):
            raise UserError("ckpt= is required: the path of a checkpoint written by gan-train, e.g. "
                            "ckpt=outputs/<run>/checkpoints/last.pt.")
        seeds = OmegaConf.to_container(cfg.seeds) if OmegaConf.is_list(cfg.seeds) else cfg.seeds
        if not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds):
            raise UserError(f"seeds={seeds!r} must be a list of whole numbers, e.g. seeds=[0,1,2,3].")
        grid, gif = interpolate_to_files(cfg.ckpt, cfg.method, cfg.steps, seeds, cfg.out, cfg.frames, cfg.fps,
                                         cfg.gif_size, cfg.ema, resolve_device(cfg.device))
    except UserError as error:
        exit_with(error)
    print(f"wrote {grid} and {gif}")


if __name__ == "__main__":
    main()
