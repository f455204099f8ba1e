"""A checkpoint's stored config: brought up to date, and checked before anything is built from it.

A checkpoint carries the config it was trained with (`config`, resolved) and its source
(`config_source`, interpolations kept, for resume). A checkpoint written by an older gan-cli may
name classes that have moved since, and lack keys added since; `upgrade_config` renames the moved
targets and fills the missing keys from the packaged YAML defaults, so that old checkpoints still
sample, evaluate and resume. The defaults themselves are spelled only in conf/.

A checkpoint is data, never code: `stored_config` refuses an interpolation that would run a
resolver, and any `_target_` that is not one of gan-cli's registered classes and factories, or that
sits where no target belongs (gan_cli/registry.py builds them, without hydra.utils.instantiate).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from gan_cli.errors import UserError
from gan_cli.registry import check_config

# Classes that moved to another module, by old module prefix.
MOVED_TARGETS = {
    "gan_cli.losses.": "gan_cli.training.objectives.losses.",
    "gan_cli.auxiliary.": "gan_cli.training.objectives.auxiliary.",
    "gan_cli.training.objectives.stylegan2.": "gan_cli.training.objectives.style_based.",
}
# Top-level nodes of train.yaml that every run has.
RUN_NODES = ("regularizers", "augment", "resume", "eval", "objective")
# The optimizer keys that say the learning-rate schedule (conf/optim/*.yaml).
SCHEDULE_KEYS = ("schedule", "decay_start", "schedule_steps")
# Model keys every model config sets; dcgan.yaml's values are the defaults of the z -> image family.
MODEL_KEYS = ("conditional", "auxiliary", "ema_decay", "objective")


def packaged_config(name: str) -> DictConfig:
    """A YAML file of the packaged conf/ (e.g. "train.yaml", "trainer/default.yaml")."""
    return OmegaConf.create(resources.files("gan_cli.conf").joinpath(name).read_text())


@functools.lru_cache(maxsize=1)
def config_defaults() -> DictConfig:
    """Every key a run reads that a config from an older gan-cli may lack, with today's default.

    Read once per process (and only read after: OmegaConf.merge copies its inputs)."""
    # Copied unresolved: schedule_steps stays ${trainer.steps}, resolved in the run's own config.
    return OmegaConf.merge(
        OmegaConf.masked_copy(packaged_config("train.yaml"), list(RUN_NODES)),
        {"trainer": packaged_config("trainer/default.yaml")},
        {"optim": OmegaConf.masked_copy(packaged_config("optim/adam.yaml"), list(SCHEDULE_KEYS))},
        {"model": OmegaConf.masked_copy(packaged_config("model/dcgan.yaml").model, list(MODEL_KEYS))},
    )


def upgrade_config(stored) -> DictConfig:
    """A stored config (dict or DictConfig) with moved targets renamed and missing keys filled in."""
    config = OmegaConf.create(stored) if not OmegaConf.is_config(stored) else stored.copy()
    _rename_targets(config)
    defaults = config_defaults()
    # Only keys the stored config lacks come from the defaults: what the run used is kept.
    return OmegaConf.merge(defaults, config)


def _rename_targets(node) -> None:
    if OmegaConf.is_dict(node):
        for key in list(node.keys()):
            value = node._get_node(key)
            if key == "_target_" and isinstance(node[key], str):
                for old, new in MOVED_TARGETS.items():
                    if node[key].startswith(old):
                        node[key] = new + node[key][len(old):]
            elif OmegaConf.is_config(value):
                _rename_targets(value)
    elif OmegaConf.is_list(node):
        for item in node:
            if OmegaConf.is_config(item):
                _rename_targets(item)


def stored_config(checkpoint: dict, path, source: bool = False) -> DictConfig:
    """A checkpoint's config, upgraded and checked: its resolved `config`, or with source=True the
    `config_source` a resume continues from (interpolations kept).

    Checked as data before anything reads it: its interpolations may only copy other values (no
    resolver runs but the data root's `oc.env:GAN_CLI_*`), and every `_target_` must be one of
    gan-cli's registered classes at a place where one belongs (gan_cli/registry.py)."""
    stored = checkpoint.get("config_source") if source else None
    stored = stored or checkpoint["config"]
    check_interpolations(stored, path)
    try:
        config = upgrade_config(stored)
    except Exception as error:  # noqa: BLE001 - whatever OmegaConf makes of a damaged mapping
        raise UserError(f"{path} holds a config that is not a valid gan-cli config ({type(error).__name__}: "
                        f"{str(error).splitlines()[0] if str(error) else ''}); use a checkpoint written by gan-train.") from None
    check_targets(config, path)
    return config


def check_targets(config, path) -> None:
    """Refuse a config read from a file that names anything but gan-cli's own classes to build."""
    check_config(config, str(path))


# An interpolation a stored config may hold: a reference to another value (${trainer.steps},
# ${..resolution}), or the data root's environment variable (${oc.env:GAN_CLI_DATA,data}).
_REFERENCE = r"\$\{\.*[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\])*\}"
_DATA_ENV = r"\$\{oc\.env:GAN_CLI_[A-Z0-9_]+(?:,[^${}\\]*)?\}"
_SAFE_INTERPOLATION = re.compile(f"{_REFERENCE}|{_DATA_ENV}")


def check_interpolations(stored, path, where: str = "") -> None:
    """A stored config is data: an interpolation that would run a resolver (oc.decode, oc.create,
    a custom one) or build a value from parts is refused before OmegaConf ever resolves it."""
    if isinstance(stored, dict):
        for key, value in stored.items():
            if not isinstance(key, (str, int)) or "${" in str(key):
                raise UserError(f"{path} holds a config key {key!r} under {where or '<root>'}, which is not a plain "
                                f"name; use a checkpoint written by gan-train.")
            check_interpolations(value, path, f"{where}.{key}" if where else str(key))
    elif isinstance(stored, (list, tuple)):
        for index, item in enumerate(stored):
            check_interpolations(item, path, f"{where}[{index}]")
    elif isinstance(stored, str) and "${" in _SAFE_INTERPOLATION.sub("", stored):
        raise UserError(f"{path} sets {where}={stored!r}, an interpolation that would run code or a resolver "
                        f"when read; a stored config may only refer to its own values (${{trainer.steps}}). "
                        f"Use a checkpoint written by gan-train.")


@dataclass(frozen=True)
class ReadCheckpoint:
    """A checkpoint read once (allow-listed loader), with its checked config: what gan-sample,
    gan-interp and gan-eval hand to every function that needs it, so none reads the file again."""

    path: Path
    checkpoint: dict
    config: DictConfig

    @property
    def model_name(self) -> str:
        return str(self.config.model.name)


def read_checkpoint(source) -> ReadCheckpoint:
    """A checkpoint path read once, or a ReadCheckpoint as it is."""
    if isinstance(source, ReadCheckpoint):
        return source
    from gan_cli.runs.checkpoints import load_checkpoint  # torch: only once a checkpoint is read

    checkpoint = load_checkpoint(source)
    return ReadCheckpoint(Path(source), checkpoint, stored_config(checkpoint, source))
