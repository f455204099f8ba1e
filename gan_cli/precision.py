"""Mixed precision: autocast contexts and gradient scalers for trainer.precision=32|bf16|fp16."""

from __future__ import annotations

import contextlib

import torch

from gan_cli.errors import UserError

PRECISIONS = {"32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def parse_precision(value) -> str:
    key = str(value)
    if key not in PRECISIONS:
        raise UserError(f"trainer.precision={value} is not a precision gan-cli knows; use 32 (float32), bf16 "
                        f"(bfloat16 autocast) or fp16 (float16 autocast with a gradient scaler).")
    return key


def autocast(precision: str, device: torch.device):
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def make_scaler(precision: str, device: torch.device) -> torch.amp.GradScaler:
    """A loss scaler for fp16 (float16 gradients underflow without it); a no-op otherwise."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
