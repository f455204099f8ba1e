"""A trained generator from a checkpoint, built only from gan-cli's own model classes."""

from __future__ import annotations

import torch.nn as nn
from hydra.utils import instantiate
from omegaconf import DictConfig

from gan_cli.errors import UserError
from gan_cli.inference.latents import LatentLayout
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.runs.config import upgrade_config

ALLOWED_TARGET_PREFIX = "gan_cli.models."


def load_generator(path, use_ema: bool = True, device="cpu") -> tuple[nn.Module, dict]:
    """The generator stored in a checkpoint (its EMA weights when present and use_ema), in eval mode."""
    checkpoint = load_checkpoint(path)
    config = stored_config(checkpoint)
    target = str(config.model.generator.get("_target_", ""))
    # The config travels inside the file: only build classes of this package, never arbitrary callables.
    if not target.startswith(ALLOWED_TARGET_PREFIX):
        raise UserError(f"{path} names generator class {target!r}, which is not one of gan-cli's "
                        f"({ALLOWED_TARGET_PREFIX}*); refusing to build it from a checkpoint.")
    generator = instantiate(config.model.generator)
    weights = checkpoint["ema"] if use_ema and checkpoint.get("ema") is not None else checkpoint["generator"]
    generator.load_state_dict(weights)
    return generator.to(device).eval().requires_grad_(False), checkpoint


def stored_config(checkpoint: dict) -> DictConfig:
    """The resolved config a checkpoint was trained with, brought up to date (gan_cli/runs/config.py)."""
    return upgrade_config(checkpoint["config"])


def checkpoint_layout(checkpoint: dict) -> LatentLayout:
    """What the checkpoint's generator takes: noise, labels, InfoGAN codes."""
    return LatentLayout.from_config(stored_config(checkpoint))
