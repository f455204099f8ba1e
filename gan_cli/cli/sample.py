"""gan-sample: draw samples from a checkpoint as a grid PNG (and optionally one file each)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from gan_cli.cli.wrapper import required_checkpoint, run_command
from gan_cli.distributed.devices import resolve_device
from gan_cli.inference.sampling import sample_to_files


def sample(cfg: DictConfig) -> None:
    paths = sample_to_files(required_checkpoint(cfg), cfg.n, cfg.seed, cfg.out, cfg.nrow, cfg.individual, cfg.ema,
                            resolve_device(cfg.device), label=cfg.label)
    more = f" and {len(paths) - 1} more file(s) in {paths[1].parent}" if len(paths) > 1 else ""
    print(f"wrote {paths[0]}{more}")


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="sample")
def main(cfg: DictConfig) -> None:
    run_command(lambda: sample(cfg))


if __name__ == "__main__":
    main()
