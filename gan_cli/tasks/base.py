"""What every task answers: the networks and data it needs, its preview, its evaluator, and what
gan-sample, gan-interp and gan-eval do with its checkpoints.

Shared code holds a Task and asks it; it never compares a task's name. A task's module imports the
layers below it (eval, inference, runs, data) inside its methods, so that choosing a task costs no
torch import (the commands answer --help at once).
"""

from __future__ import annotations

from dataclasses import dataclass

from gan_cli.errors import UserError


@dataclass(frozen=True, eq=False)
class Loaded:
    """A checkpoint read once (gan_cli.runs.config.ReadCheckpoint: path, contents, checked config) and
    its task: what a command hands to the functions that use it."""

    read: object
    task: Task

    @property
    def path(self):
        return self.read.path

    @property
    def checkpoint(self) -> dict:
        return self.read.checkpoint

    @property
    def config(self):
        return self.read.config

    @property
    def model_name(self) -> str:
        return str(self.config.model.name)


class Task:
    """One kind of model: what it makes from what. Subclasses set the facts and implement the methods."""

    name: str = ""
    summary: str = ""              # "noise -> image"
    is_default: bool = False       # a model or data config without a task key is of this task
    extra_data: tuple[str, ...] = ()  # data configs of another task that it also reads (data.task=<name>)
    # Checkpoint keys of the networks its models may define (each a model.<key> config node).
    networks: tuple[str, ...] = ("generator", "discriminator")
    latent_space: bool = False     # whether its generator draws from noise (latent stream, walks)
    fake_label: str = "D(G(z))"    # D's score of the fakes, as the log line names it
    takes_text: bool = False       # whether its samples are drawn from captions (gan-sample text=)

    def __repr__(self) -> str:
        return f"<task {self.name}>"

    def owns(self, option) -> bool:
        """Whether a model or data config (gan_cli.config_catalog.ConfigOption) is of this task."""
        return option.task == self.name or (option.task is None and self.is_default)

    @property
    def models(self) -> str:
        """The model presets that learn it (conf/model), for messages and help."""
        from gan_cli.config_catalog import options

        return ", ".join(option.name for option in options("model") if self.owns(option))

    @property
    def data(self) -> str:
        """The data configs that hold it (conf/data), its models' default data first."""
        from gan_cli.config_catalog import options

        models = [option for option in options("model") if self.owns(option)]
        defaults = [option.default_data for option in models]
        names = [option.name for option in options("data") if self.owns(option)] + list(self.extra_data)
        return ", ".join(sorted(dict.fromkeys(names), key=lambda name: (-defaults.count(name), name)))

    def help_line(self) -> str:
        """Its line in gan-train --help: what it makes, the presets that learn it, the data that hold it."""
        return f"  {self.name:17s}{self.summary}: model={self.models}; data={self.data}"

    # --- a run -----------------------------------------------------------------------------------
    # `run` is the run's description (gan_cli/tasks/run_description.py): its typed settings, data, config.
    def accepts_data(self, data_cfg) -> bool:
        """Whether it also trains on a data config of another task (text-to-image: captioned images)."""
        return False

    def check_config(self, cfg) -> None:
        """The task's own checks of a run's config (before anything is built)."""

    def batches(self, run, device, seed: int, rank: int, world_size: int):
        """The run's real batches on `device`, this rank's share (the data's own, by default)."""
        from gan_cli.data import build_batches

        return build_batches(run.data, device=device, seed=seed, rank=rank, world_size=world_size)

    def prepare_networks(self, networks: dict, run) -> None:
        """Anything the networks need before training starts (Stage II: the Stage-I weights)."""

    def model_batches(self, batches, networks: dict, run):
        """The batch source the networks train on: the data's (the default), or the data's turned into what
        the networks make (SpecGAN: spectrograms of the real clips)."""
        return batches

    def preview(self, state, run_log, run, device):
        """A callable(step) that writes the training preview (grids, comparison rows)."""
        raise NotImplementedError

    def evaluator(self, run, device):
        """The evaluator of the task's metrics (called on what `evaluated` gives), for a run in training
        or a checkpoint's (Loaded.run)."""
        raise NotImplementedError

    def evaluated(self, state, run):
        """What the evaluator judges during training: the sampling generator, or a translator."""
        raise NotImplementedError

    # --- a checkpoint ----------------------------------------------------------------------------
    def evaluate_checkpoint(self, loaded: Loaded, options, device) -> tuple[dict, object]:
        """gan-eval: (the report, the JSON file it was written to)."""
        raise NotImplementedError

    def sample(self, loaded: Loaded, cfg, out, device) -> str:
        """gan-sample: write what the command's options ask; the line that says what was written."""
        raise NotImplementedError

    def interpolate(self, loaded: Loaded, cfg, device) -> str | None:
        """gan-interp, when the task draws its own walks (audio: a WAV of clips); None: the image walks."""
        return None

    def require_latent_space(self, loaded: Loaded) -> None:
        """gan-interp: refuse a checkpoint whose generator has no latent space to walk."""
        if not self.latent_space:
            raise UserError(f"ckpt={loaded.path} holds model={loaded.model_name}, a {self.name} model ({self.summary}) "
                            f"without a latent space, so there is nothing to interpolate.")
