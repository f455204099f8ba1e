"""gan-interp: latent walks between seeds (grid PNG + GIF), InfoGAN code walks, latent arithmetic."""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from PIL import Image

from gan_cli import visuals
from gan_cli.errors import UserError, exit_with
from gan_cli.generate import (
    LatentSpec,
    generate,
    infogan_code_walk,
    interpolation_path,
    load_generator,
    seed_mean,
)
from gan_cli.sample import default_output
from gan_cli.validation import resolve_device

MODES = ("auto", "walk", "codes", "arithmetic")


def _labels_for(spec: LatentSpec, n: int, label) -> torch.Tensor | None:
    if not spec.num_classes:
        spec.check_label(label)
        return None
    label = 0 if label is None else label
    spec.check_label(label)
    return torch.full((n,), label, dtype=torch.long)


def interpolate_to_files(ckpt, method: str = "slerp", steps: int = 8, seeds=(0, 1, 2, 3, 4), out=None,
                         frames: int = 24, fps: int = 24, gif_size: int = 128, ema: bool = True,
                         device="cpu", label=None) -> tuple[Path, Path]:
    """Rows walking from each seed's noise to the next (grid PNG), and a looping GIF through all seeds."""
    generator, checkpoint = _image_generator(ckpt, ema, device)
    spec = LatentSpec(checkpoint["config"])
    seeds = list(seeds)
    out = Path(out) if out else default_output(ckpt, f"interp_{method}.png")
    rows = interpolation_path(seeds, spec.noise_dim, steps, method).flatten(0, 1)
    images = generate(generator, spec.with_codes(rows), _labels_for(spec, len(rows), label))
    grid_path = visuals.save_grid(images, out, nrow=steps)

    # The GIF: one image walking through every seed and back to the first, `frames` per leg.
    path = interpolation_path(seeds, spec.noise_dim, frames + 1, method, closed=True)[:, :-1].flatten(0, 1)
    walk = generate(generator, spec.with_codes(path), _labels_for(spec, len(path), label))
    gif_path = out.with_suffix(".gif")
    save_gif(walk, gif_path, fps, gif_size)
    return grid_path, gif_path


def code_walk_to_file(ckpt, seed: int = 0, steps: int = 8, code: int = 0, out=None, ema: bool = True,
                      device="cpu") -> Path:
    """InfoGAN: rows = values of the categorical code, columns = continuous code `code` from -2 to 2."""
    generator, checkpoint = _image_generator(ckpt, ema, device)
    spec = LatentSpec(checkpoint["config"])
    if spec.code_dim == 0:
        raise UserError(f"mode=codes walks InfoGAN latent codes, but {ckpt} has none (model="
                        f"{checkpoint['config']['model'].get('name')}); use mode=walk or mode=arithmetic.")
    latents = infogan_code_walk(spec, seed, steps, code)
    images = generate(generator, latents.flatten(0, 1))
    out = Path(out) if out else default_output(ckpt, f"codes_seed{seed}_c{code}.png")
    return visuals.save_grid(images, out, nrow=steps)


def arithmetic_to_file(ckpt, a, b, c, out=None, ema: bool = True, device="cpu", label=None) -> Path:
    """G(z_a), G(z_b), G(z_c) and G(z_a - z_b + z_c) in a row (Radford 2016); a, b, c are seeds or
    lists of seeds whose latents are averaged."""
    if a is None or b is None or c is None:
        raise UserError("mode=arithmetic needs three seeds (or lists of seeds): a=SEED b=SEED c=SEED, giving "
                        "G(z_a - z_b + z_c), e.g. a=[1,2,3] b=[4,5,6] c=[7,8,9].")
    generator, checkpoint = _image_generator(ckpt, ema, device)
    spec = LatentSpec(checkpoint["config"])
    z_a, z_b, z_c = (seed_mean(s, spec.noise_dim) for s in (a, b, c))
    noise = torch.stack([z_a, z_b, z_c, z_a - z_b + z_c])
    images = generate(generator, spec.with_codes(noise), _labels_for(spec, 4, label))
    out = Path(out) if out else default_output(ckpt, "arithmetic.png")
    return visuals.save_grid(images, out, nrow=4)


def save_gif(images: torch.Tensor, path: Path, fps: int, size: int) -> None:
    scale = max(1, -(-size // images.shape[-1]))
    images = F.interpolate(images, scale_factor=scale, mode="nearest")
    pictures = [Image.fromarray(frame.permute(1, 2, 0).squeeze(-1).numpy()) for frame in visuals.to_uint8(images)]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=max(1, 1000 // fps), loop=0)


def _image_generator(ckpt, ema, device):
    generator, checkpoint = load_generator(ckpt, use_ema=ema, device=device)
    if len(generator.data_shape) != 3:
        raise UserError(f"{ckpt} was trained on {generator.data_shape[0]}-D points, not images; gan-interp draws "
                        f"image walks. Use gan-sample ckpt={ckpt} for a scatter plot of its samples.")
    return generator, checkpoint


def _seed_or_seeds(value, key: str):
    value = OmegaConf.to_container(value) if OmegaConf.is_list(value) else value
    ok = isinstance(value, int) or (isinstance(value, list) and value and all(isinstance(s, int) for s in value))
    if value is not None and not ok:
        raise UserError(f"{key}={value!r} must be a seed or a list of seeds, e.g. {key}=3 or {key}=[1,2,3].")
    return value


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="interp")
def main(cfg: DictConfig) -> None:
    try:
        if OmegaConf.is_missing(cfg, "ckpt"):
            raise UserError("ckpt= is required: the path of a checkpoint written by gan-train, e.g. "
                            "ckpt=outputs/<run>/checkpoints/last.pt.")
        if cfg.mode not in MODES:
            raise UserError(f"mode={cfg.mode} is not a gan-interp mode; use walk (between seeds), codes (InfoGAN "
                            f"codes), arithmetic (G(z_a - z_b + z_c)) or auto (codes for InfoGAN, else walk).")
        device = resolve_device(cfg.device)
        mode = cfg.mode
        if mode == "auto":
            mode = "codes" if LatentSpec(load_generator(cfg.ckpt)[1]["config"]).code_dim else "walk"
        if mode == "codes":
            print(f"wrote {code_walk_to_file(cfg.ckpt, cfg.seed, cfg.steps, cfg.code, cfg.out, cfg.ema, device)}")
            return
        if mode == "arithmetic":
            a, b, c = (_seed_or_seeds(cfg[k], k) for k in ("a", "b", "c"))
            print(f"wrote {arithmetic_to_file(cfg.ckpt, a, b, c, cfg.out, cfg.ema, device, cfg.label)}")
            return
        seeds = _seed_or_seeds(cfg.seeds, "seeds")
        if not isinstance(seeds, list):
            raise UserError(f"seeds={seeds!r} must be a list of whole numbers, e.g. seeds=[0,1,2,3].")
        grid, gif = interpolate_to_files(cfg.ckpt, cfg.method, cfg.steps, seeds, cfg.out, cfg.frames, cfg.fps,
                                         cfg.gif_size, cfg.ema, device, cfg.label)
    except UserError as error:
        exit_with(error)
    print(f"wrote {grid} and {gif}")


if __name__ == "__main__":
    main()
