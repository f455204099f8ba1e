"""A trained generator from a checkpoint, built only from gan-cli's own model classes."""

from __future__ import annotations

import torch.nn as nn
from hydra.utils import instantiate

from gan_cli.errors import UserError
from gan_cli.inference.latents import LatentLayout
from gan_cli.runs.checkpoints import load_checkpoint, load_weights, require_keys
from gan_cli.runs.config import stored_config

GENERATOR_PREFIX = "gan_cli.models."


def load_generator(path, use_ema: bool = True, device="cpu") -> tuple[nn.Module, dict]:
    """The generator stored in a checkpoint (its EMA weights when present and use_ema), in eval mode."""
    checkpoint = load_checkpoint(path)
    require_keys(checkpoint, ("generator",), path)
    config = stored_config(checkpoint, path)  # only gan-cli's own classes, never arbitrary callables
    generator = build_generator(config.model.generator, path)
    use_ema = use_ema and checkpoint.get("ema") is not None
    load_weights(generator, checkpoint["ema" if use_ema else "generator"], "ema" if use_ema else "generator", path)
    return generator.to(device).eval().requires_grad_(False), checkpoint


def build_generator(node, path) -> nn.Module:
    """A generator from a checkpoint's config node, only if it names one of gan-cli's model classes."""
    target = str(node.get("_target_", ""))
    if not target.startswith(GENERATOR_PREFIX):
        raise UserError(f"{path} names generator class {target!r}, which is not one of gan-cli's "
                        f"({GENERATOR_PREFIX}*); refusing to build it from a checkpoint.")
    return instantiate(node)


def checkpoint_layout(checkpoint: dict, path="the checkpoint") -> LatentLayout:
    """What the checkpoint's generator takes: noise, labels, InfoGAN codes."""
    return LatentLayout.from_config(stored_config(checkpoint, path))
