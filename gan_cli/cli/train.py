"""gan-train: compose a run from config groups and train it (gan_cli.training.job)."""

from __future__ import annotations

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from gan_cli import distributed
from gan_cli.cli.wrapper import run_command
from gan_cli.training.job import run_training_job


def run_stamp(fmt: str = "%Y-%m-%d_%H-%M-%S") -> str:
    """The run folder's timestamp, agreed by all ranks of a torchrun/SLURM job (train.yaml's hydra.run.dir)."""
    return distributed.agreed_timestamp(fmt)


OmegaConf.register_new_resolver("run_stamp", run_stamp, use_cache=True, replace=True)


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    return run_command(lambda: run_training_job(cfg, HydraConfig.get()))


if __name__ == "__main__":
    main()
