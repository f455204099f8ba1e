"""gan-sample: draw samples from a checkpoint as a grid PNG (and optionally one file each)."""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from gan_cli.cli.command_options import check_arguments, check_command
from gan_cli.cli.wrapper import output_path, run_command
from gan_cli.errors import UserError

# torch and the sampling code are imported once the command line is read, so that --help answers at once.


def sample(cfg: DictConfig) -> None:
    check_command("gan-sample", cfg)  # every key and value, before the checkpoint is read
    out = output_path(cfg)
    # torch: after the command line is checked.
    from gan_cli.distributed.devices import resolve_device
    from gan_cli.tasks import load_for_task

    loaded = load_for_task(cfg.ckpt)  # what gan-sample draws is the checkpoint's task's to say
    if cfg.text is not None and not loaded.task.takes_text:
        raise UserError(f"text= draws images of captions, but {loaded.path} holds model={loaded.model_name}, a "
                        f"{loaded.task.name} model ({loaded.task.summary}): drop text= (or give a text-to-image "
                        f"checkpoint: model=stackgan).")
    print(loaded.task.sample(loaded, cfg, out, resolve_device(cfg.device)))


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="sample")
def sample_command(cfg: DictConfig) -> None:
    run_command(lambda: sample(cfg))


def main() -> None:
    check_arguments("gan-sample", sys.argv[1:])
    sample_command()


if __name__ == "__main__":
    main()
