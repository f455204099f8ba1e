"""gan-eval: the metrics of a checkpoint's generator, each printed and written with its protocol."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from gan_cli.cli.wrapper import output_path, required_checkpoint, run_command


def evaluate(cfg: DictConfig) -> None:
    from gan_cli.distributed.devices import (
        resolve_device,  # torch: after the command line is checked
    )
    from gan_cli.eval.report import evaluate_checkpoint, print_report

    ckpt = required_checkpoint(cfg)
    output_path(cfg)
    report, out = evaluate_checkpoint(ckpt, cfg, resolve_device(cfg.device))
    print_report(report, out)


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="eval")
def main(cfg: DictConfig) -> None:
    run_command(lambda: evaluate(cfg))


if __name__ == "__main__":
    main()
