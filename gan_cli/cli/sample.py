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
from gan_cli.distributed.devices import resolve_device
from gan_cli.inference.sampling import sample_to_files


def sample(cfg: DictConfig) -> None:
    ckpt = required_checkpoint(cfg)
    n, seed = whole_number(cfg, "n", 1), whole_number(cfg, "seed")
    nrow = whole_number(cfg, "nrow", 1, optional=True)
    paths = sample_to_files(ckpt, n, seed, output_path(cfg), nrow, cfg.individual, cfg.ema,
                            resolve_device(cfg.device), label=cfg.label)
    more = f" and {len(paths) - 1} more file(s) in {paths[1].parent}" if len(paths) > 1 else ""
    print(f"wrote {paths[0]}{more}")


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="sample")
def main(cfg: DictConfig) -> None:
    run_command(lambda: sample(cfg))


if __name__ == "__main__":
    main()
