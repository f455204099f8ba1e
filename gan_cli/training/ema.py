"""Exponential moving average of the generator's weights (Karras 2018, Yazici 2019)."""

from __future__ import annotations

import copy

import torch
import torch.nn as nn


def make_ema(generator: nn.Module) -> nn.Module:
    ema = copy.deepcopy(generator).eval()
    ema.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, decay: float) -> None:
    """ema = decay * ema + (1 - decay) * generator, for parameters; buffers (BN stats) are copied."""
    ema_params = list(ema.parameters())
    torch._foreach_lerp_(ema_params, [p.detach() for p in generator.parameters()], 1.0 - decay)
    for ema_buffer, buffer in zip(ema.buffers(), generator.buffers()):
        ema_buffer.copy_(buffer)
