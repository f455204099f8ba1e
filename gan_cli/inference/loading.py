"""A trained generator from a checkpoint, built only from gan-cli's own model classes."""

from __future__ import annotations

import torch.nn as nn

from gan_cli.latent_layout import LatentLayout
from gan_cli.registry import build
from gan_cli.runs.checkpoints import load_weights, require_keys
from gan_cli.runs.config import read_checkpoint, stored_config


def load_generator(source, use_ema: bool = True, device="cpu") -> tuple[nn.Module, dict]:
    """The generator stored in a checkpoint (its EMA weights when present and use_ema), in eval mode;
    `source` is its path or the checkpoint already read (gan_cli.runs.config.ReadCheckpoint)."""
    read = read_checkpoint(source)  # only gan-cli's own classes, never arbitrary callables
    return generator_of(read.checkpoint, read.config, read.path, use_ema, device), read.checkpoint


def generator_of(checkpoint: dict, config, path, use_ema: bool = True, device="cpu") -> nn.Module:
    """The generator of a checkpoint already read, built from its checked config (`path` for messages)."""
    require_keys(checkpoint, ("generator",), path)
    generator = build_generator(config.model, "generator")
    use_ema = use_ema and checkpoint.get("ema") is not None
    load_weights(generator, checkpoint["ema" if use_ema else "generator"], "ema" if use_ema else "generator", path)
    return generator.to(device).eval().requires_grad_(False)


def build_generator(model_cfg, key: str = "generator") -> nn.Module:
    """A generator (model.<key>) of a checkpoint's checked config, built only as one of gan-cli's
    registered networks (gan_cli/registry.py)."""
    return build(model_cfg[key], f"model.{key}")


def checkpoint_layout(checkpoint: dict, path="the checkpoint") -> LatentLayout:
    """What the checkpoint's generator takes: noise, labels, InfoGAN codes."""
    return LatentLayout.from_config(stored_config(checkpoint, path))
