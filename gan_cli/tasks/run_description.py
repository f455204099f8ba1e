"""A run described once: its composed config, its typed settings, its task, its data and latent layout.

    run = describe_run(cfg)                  # gan-train: gan_cli/training/validation.py, after every check
    run = RunDescription.of(config, task)    # a checkpoint's run (gan-eval), from its stored config
    run.trainer.steps, run.eval.every        # gan-train's own keys, typed (gan_cli/run_settings.py)
    run.model, run.optim, run.loss           # the config groups, each option's own keys
    run.data.dataset                         # built once, shared by the batches, previews and evaluators

The code below the commands receives a RunDescription, or the part it needs, never the root config;
only the checkpoint writer and the run record keep `run.config`, to store what ran.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from gan_cli.run_settings import AugmentSettings, EvalRequest, RegularizerSettings, RunSettings, TrainerSettings

if TYPE_CHECKING:  # the task's base module builds a checkpoint's description: no import back
    from gan_cli.tasks.base import Task


@dataclass(frozen=True, eq=False)
class RunDescription:
    config: DictConfig         # the composed config: what checkpoints and the run record store
    settings: RunSettings      # trainer.*, regularizers.*, augment.*, eval.*, resume, objective
    task: Task
    data: object               # gan_cli.data.DataSource: the data node and its dataset, built once

    @classmethod
    def of(cls, config: DictConfig, task: Task) -> RunDescription:
        """The description of a config whose task is known (its settings checked and typed here)."""
        from gan_cli.data import DataSource

        return cls(config, RunSettings.from_config(config), task, DataSource(config.data))

    @property
    def trainer(self) -> TrainerSettings:
        return self.settings.trainer

    @property
    def regularizers(self) -> RegularizerSettings:
        return self.settings.regularizers

    @property
    def augment(self) -> AugmentSettings:
        return self.settings.augment

    @property
    def eval(self) -> EvalRequest:
        return self.settings.eval

    @property
    def resume(self) -> str | None:
        return self.settings.resume

    @property
    def model(self) -> DictConfig:
        return self.config.model

    @property
    def loss(self) -> DictConfig:
        return self.config.loss

    @property
    def optim(self) -> DictConfig:
        return self.config.optim

    @property
    def name(self) -> str:
        """model on data, for log lines."""
        return f"{self.model.name} on {self.data.name}"

    @functools.cached_property
    def latent_layout(self):
        """What the generator takes besides its weights (gan_cli/latent_layout.py); None without a latent space."""
        if not self.task.latent_space:
            return None
        from gan_cli.latent_layout import LatentLayout

        return LatentLayout.from_config(self.config)
