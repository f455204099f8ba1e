"""How the networks run, apart from what they are: device, precision, memory format, and the
wrappers the training step calls (DDP under a process group, torch.compile when asked).

    trainer.precision=32|bf16|fp16   autocast (fp16 with a gradient scaler)
    trainer.channels_last=auto       channels-last images and weights: on for GPUs
    trainer.compile=true             torch.compile G and D
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import torch
import torch.nn as nn

from gan_cli import distributed
from gan_cli.errors import UserError
from gan_cli.models.capabilities import Growing

log = logging.getLogger("gan_cli")

PRECISIONS = {"32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def parse_precision(value) -> str:
    key = str(value)
    if key not in PRECISIONS:
        raise UserError(f"trainer.precision={value} is not a precision gan-cli knows; use 32 (float32), bf16 "
                        f"(bfloat16 autocast) or fp16 (float16 autocast with a gradient scaler).")
    return key


@dataclass(frozen=True)
class Execution:
    device: torch.device
    precision: str = "32"          # a key of PRECISIONS
    channels_last: bool = False    # image batches and conv weights in channels-last memory format
    compile: bool = False          # torch.compile the networks the step calls

    @classmethod
    def from_settings(cls, trainer, device: torch.device, data_shape) -> Execution:
        """From the trainer's settings (gan_cli/run_settings.py TrainerSettings, or its config node)."""
        return cls(device, parse_precision(trainer.precision),
                   use_channels_last(trainer.channels_last, device, data_shape), bool(trainer.compile))

    def autocast(self):
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def make_scaler(self) -> torch.amp.GradScaler:
        """A loss scaler for fp16 (float16 gradients underflow without it); a no-op otherwise."""
        return torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")

    def place(self, module: nn.Module) -> nn.Module:
        """The module on this device, in this memory format."""
        module = module.to(self.device)
        return module.to(memory_format=torch.channels_last) if self.channels_last else module

    def layout(self, images: torch.Tensor) -> torch.Tensor:
        """A batch in the memory format the networks expect."""
        if self.channels_last and images.ndim == 4:
            return images.contiguous(memory_format=torch.channels_last)
        return images

    def for_training(self, module: nn.Module, eager_because: str | None = None) -> nn.Module:
        """The module as the training step calls it: in a DDP wrapper under a process group, then
        compiled if asked, unless `eager_because` names what torch.compile cannot do for it."""
        wrapped = module
        if distributed.world_size() > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            # A growing network (ProGAN) leaves the layers of later stages without gradients for a while.
            unused = isinstance(module, Growing) and module.has_unused_parameters
            wrapped = DDP(module, device_ids=ids, find_unused_parameters=unused)  # BN buffers follow rank 0
        if self.compile:
            if eager_because:
                log.info(f"trainer.compile: {type(module).__name__} stays eager ({eager_because})")
            else:
                wrapped = torch.compile(wrapped)
        return wrapped


def has_spectral_norm(module: nn.Module) -> bool:
    return any(hasattr(m, "parametrizations") and "weight" in m.parametrizations for m in module.modules())


def use_channels_last(setting, device: torch.device, data_shape) -> bool:
    """channels-last memory format: on by default on GPUs (faster convolutions), off on the CPU."""
    if len(data_shape) != 3:
        return False
    return device.type == "cuda" if setting == "auto" else bool(setting)
