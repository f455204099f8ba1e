"""gan-sample: draw samples from a checkpoint as a grid PNG (and optionally one file each)."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from gan_cli.cli.options import check_arguments, check_command
from gan_cli.cli.wrapper import output_path, run_command
from gan_cli.errors import UserError

# torch and the sampling code are imported once the command line is read, so that --help answers at once.

SAMPLES, HELDOUT_EXAMPLES = 64, 8  # n's default: samples of a generator; held-out rows of a translation model


def sample(cfg: DictConfig) -> None:
    check_command("gan-sample", cfg)  # every key and value, before the checkpoint is read
    output_path(cfg)
    # torch: after the command line is checked.
    from gan_cli.distributed.devices import resolve_device
    from gan_cli.inference.sampling import sample_to_files
    from gan_cli.inference.translation import checkpoint_task
    from gan_cli.tasks import GENERATION

    ckpt = cfg.ckpt
    task, name = checkpoint_task(ckpt)
    if task != GENERATION:
        return translate(cfg, ckpt, cfg.n or HELDOUT_EXAMPLES, cfg.seed)
    if cfg.input is not None:
        raise UserError(f"input={cfg.input} translates images, but {ckpt} holds model={name}, which generates "
                        f"from noise: drop input= (or give an image-to-image checkpoint: pix2pix, cyclegan, srgan).")
    paths = sample_to_files(ckpt, cfg.n or SAMPLES, cfg.seed, output_path(cfg), cfg.nrow, cfg.individual, cfg.ema,
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
def sample_command(cfg: DictConfig) -> None:
    run_command(lambda: sample(cfg))


def main() -> None:
    check_arguments("gan-sample", sys.argv[1:])
    sample_command()


if __name__ == "__main__":
    main()
