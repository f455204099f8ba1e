"""A checkpoint's stored config: brought up to date, and checked before anything is built from it.

A checkpoint carries the config it was trained with (`config`, resolved) and its source
(`config_source`, interpolations kept, for resume). A checkpoint written by an older gan-cli may
name classes that have moved since, and lack keys added since; `upgrade_config` renames the moved
targets and fills the missing keys from the packaged YAML defaults, so that old checkpoints still
sample, evaluate and resume. The defaults themselves are spelled only in conf/.

A checkpoint is data, never code: `stored_config` refuses any `_target_` that is not one of
gan-cli's own networks, datasets or objectives, or one of torch's optimizers.
"""

from __future__ import annotations

import functools
from importlib import resources

from omegaconf import DictConfig, OmegaConf

from gan_cli.errors import UserError

# Classes that moved to another module, by old module prefix.
MOVED_TARGETS = {
    "gan_cli.losses.": "gan_cli.training.objectives.losses.",
    "gan_cli.auxiliary.": "gan_cli.training.objectives.auxiliary.",
}
# What a stored config may build: gan-cli's own classes and functions, and torch's optimizers.
ALLOWED_TARGET_PREFIXES = ("gan_cli.models.", "gan_cli.data.", "gan_cli.training.objectives.")
ALLOWED_TARGETS = frozenset({"torch.optim.Adam", "torch.optim.AdamW", "torch.optim.RMSprop", "torch.optim.SGD"})
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
    `config_source` a resume continues from (interpolations kept)."""
    stored = checkpoint.get("config_source") if source else None
    config = upgrade_config(stored or checkpoint["config"])
    check_targets(config, path)
    return config


def check_targets(config, path) -> None:
    """Refuse a config read from a file that names anything but gan-cli's own classes to build."""
    for key, target in _targets(config, ""):
        if target not in ALLOWED_TARGETS and not target.startswith(ALLOWED_TARGET_PREFIXES):
            raise UserError(
                f"{path} names {key}._target_={target!r}, which is not one of gan-cli's own classes or functions "
                f"({', '.join(p + '*' for p in ALLOWED_TARGET_PREFIXES)}, or torch's optimizers {', '.join(sorted(ALLOWED_TARGETS))}); "
                f"refusing to build it from a checkpoint. Use a checkpoint written by gan-train."
            )


def _targets(node, prefix: str):
    """(key, _target_) of every node that has one, at any depth."""
    if OmegaConf.is_dict(node):
        for key in node.keys():
            child = node._get_node(key)
            where = f"{prefix}.{key}" if prefix else str(key)
            if key == "_target_":
                yield prefix or "<root>", str(node[key])
            elif OmegaConf.is_config(child):
                yield from _targets(child, where)
    elif OmegaConf.is_list(node):
        for index, item in enumerate(node):
            if OmegaConf.is_config(item):
                yield from _targets(item, f"{prefix}[{index}]")
