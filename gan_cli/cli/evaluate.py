"""gan-eval: the metrics of a checkpoint's generator, each printed and written with its protocol."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from gan_cli.cli.command_options import check_arguments, check_command
from gan_cli.cli.wrapper import output_path, run_command


def evaluate(cfg: DictConfig) -> None:
    check_command("gan-eval", cfg)  # every key and value, before the checkpoint is read
    output_path(cfg)
    # torch: after the command line is checked.
    from gan_cli.distributed.devices import resolve_device
    from gan_cli.eval.checkpoint_report import print_report
    from gan_cli.tasks import load_for_task

    loaded = load_for_task(cfg.ckpt)  # the checkpoint's task says what its report holds
    report, out = loaded.task.evaluate_checkpoint(loaded, cfg, resolve_device(cfg.device))
    print_report(report, out)


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="eval")
def evaluate_command(cfg: DictConfig) -> None:
    run_command(lambda: evaluate(cfg))


def main() -> None:
    check_arguments("gan-eval", sys.argv[1:])
    evaluate_command()


if __name__ == "__main__":
    main()
