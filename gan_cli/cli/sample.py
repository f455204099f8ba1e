"""gan-sample: draw samples from a checkpoint as a grid PNG (and optionally one file each)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from gan_cli.cli.wrapper import (
    output_path,
    required_checkpoint,
    run_command,
    whole_number,
)
from gan_cli.errors import UserError
from gan_cli.tasks import GENERATION

# torch and the sampling code are imported once the command line is read, so that --help answers at once.

SAMPLES, HELDOUT_EXAMPLES = 64, 8  # n's default: samples of a generator; held-out rows of a translation model


def sample(cfg: DictConfig) -> None:
    ckpt = required_checkpoint(cfg)
    n, seed = whole_number(cfg, "n", 1, optional=True), whole_number(cfg, "seed")
    nrow = whole_number(cfg, "nrow", 1, optional=True)
    from gan_cli.distributed.devices import resolve_device
    from gan_cli.inference.sampling import sample_to_files
    from gan_cli.inference.translation import checkpoint_task

    task, name = checkpoint_task(ckpt)
    if task != GENERATION:
        return translate(cfg, ckpt, n or HELDOUT_EXAMPLES, seed)
    if cfg.input is not None:
        raise UserError(f"input={cfg.input} translates images, but {ckpt} holds model={name}, which generates "
                        f"from noise: drop input= (or give an image-to-image checkpoint: pix2pix, cyclegan, srgan).")
    paths = sample_to_files(ckpt, n or SAMPLES, seed, output_path(cfg), nrow, cfg.individual, cfg.ema,
                            resolve_device(cfg.device), label=cfg.label,
                            truncation=cfg.truncation)
    more = f" and {len(paths) - 1} more file(s) in {paths[1].parent}" if len(paths) > 1 else ""
    print(f"wrote {paths[0]}{more}")


def translate(cfg: DictConfig, ckpt, n: int, seed: int) -> None:
    """Image-to-image checkpoints: translate input= files, or show n held-out examples."""
    from gan_cli.distributed.devices import resolve_device
    from gan_cli.inference.translate_files import heldout_grid_to_file, translate_to_files

    device = resolve_device(cfg.device)
    if cfg.input is None:
        path = heldout_grid_to_file(ckpt, n, seed, output_path(cfg), cfg.direction, device, cfg.ema)
        print(f"wrote {path} (held-out examples: input | output | target per row)")
        return
    paths = translate_to_files(ckpt, cfg.input, output_path(cfg), cfg.direction, device, cfg.ema)
    more = f" and {len(paths) - 1} more in {paths[1].parent}" if len(paths) > 1 else ""
    print(f"wrote {paths[0]}{more}")


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="sample")
def main(cfg: DictConfig) -> None:
    run_command(lambda: sample(cfg))


if __name__ == "__main__":
    main()
