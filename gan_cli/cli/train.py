"""gan-train: compose a run from config groups and train it (gan_cli.training.job).

Before Hydra composes anything: `resume=PATH` continues in the checkpoint's own run folder (unless
hydra.run.dir= names another), and a run or sweep folder that cannot be made is a clean error.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from gan_cli.cli.command_options import check_arguments
from gan_cli.cli.wrapper import run_command
from gan_cli.distributed.environment import is_other_rank
from gan_cli.errors import UserError, exit_with
from gan_cli.runs.files import check_folder_path
from gan_cli.runs.paths import RunPaths
from gan_cli.runs.status import override_key, override_value

# torch and the training code are imported when a run starts, so that --help answers at once.

MULTIRUN_FLAGS = ("-m", "--multirun")


_stamps: dict[str, str] = {}  # one stamp per format for the process's life, however often it is resolved


def run_stamp(fmt: str = "%Y-%m-%d_%H-%M-%S", *, _root_) -> str:
    """The run folder's timestamp (train.yaml's hydra.run.dir), agreed by all ranks of a torchrun/SLURM
    job over a process group joined with the run's own timeout and backend."""
    if fmt not in _stamps:
        from gan_cli import distributed

        trainer = _root_.get("trainer") or {}
        try:
            _stamps[fmt] = distributed.agreed_timestamp(fmt, timeout_s=trainer.get("ddp_timeout_s", 300),
                                                        device=trainer.get("device", "auto"))
        except UserError as error:  # a bad trainer.ddp_timeout_s, met while Hydra names the run folder
            exit_with(error, say=not is_other_rank(os.environ))  # every rank meets it; rank 0 says it
    return _stamps[fmt]


OmegaConf.register_new_resolver("run_stamp", run_stamp, replace=True)


def prepared_arguments(argv: list[str]) -> list[str]:
    """The command line Hydra sees: resume=PATH gets hydra.run.dir=<the checkpoint's run folder>."""
    values = {override_key(arg): override_value(arg) for arg in argv[1:] if "=" in arg}
    multirun = any(arg in MULTIRUN_FLAGS for arg in argv[1:])
    key, default = ("hydra.sweep.dir", "multirun") if multirun else ("hydra.run.dir", "outputs")
    check_folder_path(values.get(key, default), key)
    resume = values.get("resume", "")
    if multirun or resume in ("", "auto", "null") or "hydra.run.dir" in values or not Path(resume).is_file():
        return argv  # a missing checkpoint is reported by the run, with its message
    return [*argv, f"hydra.run.dir={_quoted(str(RunPaths.of_checkpoint(resume).root))}"]


def _quoted(value: str) -> str:
    """A value for Hydra's override grammar: quoted unless it is plainly safe."""
    if re.fullmatch(r"[\w./\-:]+", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="train")
def train_command(cfg: DictConfig) -> float | None:
    from gan_cli.training.job import run_training_job

    return run_command(lambda: run_training_job(cfg, HydraConfig.get()))


def main() -> None:
    check_arguments("gan-train", sys.argv[1:])
    try:
        sys.argv = prepared_arguments(sys.argv)
    except UserError as error:
        exit_with(error, say=not is_other_rank(os.environ))  # torchrun/SLURM: rank 0 says it
    train_command()


if __name__ == "__main__":
    main()
