"""gan-interp: latent walks between seeds (grid PNG + GIF), InfoGAN code walks, latent arithmetic."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig, OmegaConf

from gan_cli.cli.wrapper import (
    output_path,
    required_checkpoint,
    run_command,
    whole_number,
)
from gan_cli.errors import UserError

MODES = ("auto", "walk", "codes", "arithmetic", "style_mixing", "classes")
SPACES = ("z", "w")


def interpolate(cfg: DictConfig) -> None:
    ckpt = required_checkpoint(cfg)
    from gan_cli.inference.translation import checkpoint_task

    task, name = checkpoint_task(ckpt)
    if task != "generation":
        raise UserError(f"ckpt={ckpt} holds model={name}, an image-to-image model ({task}) without a latent space, "
                        f"so there is nothing to interpolate; translate images with gan-sample ckpt={ckpt} input=<image>.")
    if cfg.mode not in MODES:
        raise UserError(f"mode={cfg.mode} is not a gan-interp mode; use walk (between seeds), codes (InfoGAN "
                        f"codes), arithmetic (G(z_a - z_b + z_c)), style_mixing (StyleGAN2), classes (BigGAN: "
                        f"between classes) or auto (codes for InfoGAN, else walk).")
    if cfg.space not in SPACES:
        raise UserError(f"space={cfg.space} is not a latent space; use z (the noise) or w (StyleGAN2's "
                        f"intermediate latent space).")
    for key, minimum in (("seed", 0), ("steps", 2), ("frames", 1), ("fps", 1), ("gif_size", 1), ("code", 0)):
        whole_number(cfg, key, minimum)
    output_path(cfg)
    # torch: after the command line is checked.
    from gan_cli.distributed.devices import resolve_device
    from gan_cli.inference.interpolation import (
        arithmetic_to_file,
        code_walk_to_file,
        interpolate_to_files,
    )
    from gan_cli.inference.loading import checkpoint_layout
    from gan_cli.runs.checkpoints import load_checkpoint

    device = resolve_device(cfg.device)
    mode = cfg.mode
    if mode == "auto":
        mode = "codes" if checkpoint_layout(load_checkpoint(ckpt)).code_dim else "walk"
    if mode in ("style_mixing", "classes") or cfg.space == "w":
        print(f"wrote {style_picture(cfg, ckpt, mode, device)}")
    elif mode == "codes":
        print(f"wrote {code_walk_to_file(ckpt, cfg.seed, cfg.steps, cfg.code, cfg.out, cfg.ema, device)}")
    elif mode == "arithmetic":
        a, b, c = (_seed_or_seeds(cfg[k], k) for k in ("a", "b", "c"))
        print(f"wrote {arithmetic_to_file(ckpt, a, b, c, cfg.out, cfg.ema, device, cfg.label)}")
    else:
        seeds = _seed_or_seeds(cfg.seeds, "seeds")
        if not isinstance(seeds, list):
            raise UserError(f"seeds={seeds!r} must be a list of whole numbers, e.g. seeds=[0,1,2,3].")
        grid, gif = interpolate_to_files(ckpt, cfg.method, cfg.steps, seeds, cfg.out, cfg.frames, cfg.fps,
                                         cfg.gif_size, cfg.ema, device, cfg.label)
        print(f"wrote {grid} and {gif}")


def style_picture(cfg: DictConfig, ckpt, mode: str, device):
    """StyleGAN2's style mixing and walks in W, and walks between classes (gan_cli/inference/styles.py)."""
    from gan_cli.inference import images
    from gan_cli.inference.loading import load_generator
    from gan_cli.inference.sampling import default_output
    from gan_cli.inference.styles import (
        class_walk,
        require_styles,
        style_mixing_to_file,
        w_walk,
    )

    generator, _ = load_generator(ckpt, use_ema=cfg.ema, device=device)
    psi = 1.0 if cfg.truncation is None else float(cfg.truncation)
    if mode == "style_mixing":
        return style_mixing_to_file(ckpt, generator, cfg.rows, cfg.cols, cfg.crossover, cfg.out, psi)
    if mode == "classes":
        pictures = class_walk(generator, cfg.seed, cfg.classes, cfg.steps)
        return images.save_grid(pictures, cfg.out or default_output(ckpt, f"classes_seed{cfg.seed}.png"), nrow=cfg.steps)
    require_styles(generator, ckpt, "space=w")
    seeds = _seed_or_seeds(cfg.seeds, "seeds")
    if not isinstance(seeds, list) or len(seeds) < 2:
        raise UserError(f"seeds={seeds!r} must be a list of at least two seeds, e.g. seeds=[0,1,2,3].")
    pictures = w_walk(generator, seeds, cfg.steps, truncation_psi=psi)
    return images.save_grid(pictures, cfg.out or default_output(ckpt, "interp_w.png"), nrow=cfg.steps)


def _seed_or_seeds(value, key: str):
    value = OmegaConf.to_container(value) if OmegaConf.is_list(value) else value
    ok = isinstance(value, int) or (isinstance(value, list) and value and all(isinstance(s, int) for s in value))
    if value is not None and not ok:
        raise UserError(f"{key}={value!r} must be a seed or a list of seeds, e.g. {key}=3 or {key}=[1,2,3].")
    return value


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="interp")
def main(cfg: DictConfig) -> None:
    run_command(lambda: interpolate(cfg))


if __name__ == "__main__":
    main()
