"""gan-interp: walks (between seeds in z or W, between classes, along InfoGAN codes) and style mixing,
each a grid PNG and a looping GIF; latent arithmetic, one PNG."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig, OmegaConf

from gan_cli.cli.command_options import ARITHMETIC_SEEDS, INTERP_OPTIONS, check_arguments, check_command
from gan_cli.cli.wrapper import output_path, run_command
from gan_cli.errors import UserError
from gan_cli.models.capabilities import ClassEmbedded, StyleBased
from gan_cli.options import check_value


def interpolate(cfg: DictConfig) -> None:
    check_command("gan-interp", cfg)  # every key and value, before the checkpoint is read
    output_path(cfg)
    ckpt = cfg.ckpt
    from gan_cli.tasks import load_for_task

    loaded = load_for_task(ckpt)  # read once: every walk below gets it, not the path
    loaded.task.require_latent_space(loaded)
    ckpt = loaded.read
    # torch: after the command line is checked.
    from gan_cli.distributed.devices import resolve_device
    from gan_cli.inference.images import GifSettings
    from gan_cli.inference.interpolation import (
        arithmetic_to_file,
        code_walk_to_files,
        interpolate_to_files,
    )
    from gan_cli.latent_layout import LatentLayout

    device = resolve_device(cfg.device)
    written = loaded.task.interpolate(loaded, cfg, device)  # a task that draws its own walks (audio)
    if written is not None:
        print(written)
        return
    mode = cfg.mode
    if mode == "auto":
        mode = "codes" if LatentLayout.from_config(loaded.config).code_dim else "walk"
    if cfg.space == "w" and mode in ("codes", "arithmetic", "classes"):
        raise UserError(f"space=w walks StyleGAN2's W between seeds (mode=walk), but mode={mode} works on the "
                        f"generator's own inputs: drop space=w, or use mode=walk space=w.")
    gif = GifSettings(cfg.frames, cfg.fps, cfg.gif_size)
    if mode == "arithmetic":  # one picture, not a walk: no GIF
        for key in ("a", "b"):
            check_value(ARITHMETIC_SEEDS[key], cfg[key])
        a, b, c = (_plain(cfg[k]) for k in ("a", "b", "c"))
        print(f"wrote {arithmetic_to_file(ckpt, a, b, c, cfg.out, cfg.ema, device, cfg.label)}")
        return
    if mode in ("style_mixing", "classes") or cfg.space == "w":
        grid, animation = style_pictures(cfg, ckpt, mode, gif, device)
    elif mode == "codes":
        grid, animation = code_walk_to_files(ckpt, cfg.seed, cfg.steps, cfg.code, cfg.out, gif, cfg.ema, device)
    else:
        grid, animation = interpolate_to_files(ckpt, cfg.method, cfg.steps, _plain(cfg.seeds), cfg.out, gif, cfg.ema,
                                               device, cfg.label)
    print(f"wrote {grid} and {animation}")


def style_pictures(cfg: DictConfig, read, mode: str, gif, device):
    """StyleGAN2's style mixing and walks in W, and walks between classes (gan_cli/inference/styles.py),
    from the checkpoint the command read: (grid PNG, GIF)."""
    from gan_cli.inference.loading import load_generator
    from gan_cli.inference.styles import (
        class_walk_to_files,
        style_mixing_to_files,
        w_walk_to_files,
    )

    generator, _ = load_generator(read, use_ema=cfg.ema, device=device)
    ckpt = read.path
    check_checkpoint_ranges(cfg, generator, ckpt, mode)
    psi = 1.0 if cfg.truncation is None else float(cfg.truncation)
    if mode == "style_mixing":
        return style_mixing_to_files(ckpt, generator, cfg.rows, cfg.cols, cfg.crossover, cfg.out, gif, psi)
    if mode == "classes":
        return class_walk_to_files(ckpt, generator, cfg.seed, cfg.classes, cfg.steps, cfg.out, gif)
    return w_walk_to_files(ckpt, generator, _plain(cfg.seeds), cfg.steps, cfg.out, gif, psi)


def check_checkpoint_ranges(cfg: DictConfig, generator, ckpt, mode: str) -> None:
    """The keys whose range the checkpoint sets: crossover below the generator's number of style
    inputs, classes among its classes. Checked once it is loaded, before any image is made."""
    if mode == "style_mixing" and isinstance(generator, StyleBased):
        check_value(INTERP_OPTIONS["crossover"], cfg.crossover, high=generator.num_ws - 1,
                    why=f" ({ckpt}'s generator has {generator.num_ws} style inputs)")
    if mode == "classes" and isinstance(generator, ClassEmbedded):
        classes = generator.num_classes
        check_value(INTERP_OPTIONS["classes"], cfg.classes, high=classes - 1,
                    why=f" ({ckpt}'s generator draws {classes} classes)")


def _plain(value):
    """A seed or a list of seeds (the table checked them) as plain Python values."""
    return OmegaConf.to_container(value) if OmegaConf.is_list(value) else value


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="interp")
def interp_command(cfg: DictConfig) -> None:
    run_command(lambda: interpolate(cfg))


def main() -> None:
    check_arguments("gan-interp", sys.argv[1:])
    interp_command()


if __name__ == "__main__":
    main()
