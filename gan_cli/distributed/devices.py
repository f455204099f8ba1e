"""trainer.device and trainer.devices, checked before any work."""

from __future__ import annotations

import torch

from gan_cli.distributed import process_group
from gan_cli.errors import UserError


def resolve_device(name: str) -> torch.device:
    """auto, cpu, cuda or cuda:N as a torch device; each process of a group takes its own GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and process_group.world_size() > 1:
        name = f"cuda:{process_group.local_device_index()}"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"trainer.device={name!r} is not a device; use auto, cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"trainer.device={name} was asked for, but this machine has no CUDA GPU that torch can use; "
                        f"use trainer.device=cpu (or auto).")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise UserError(f"trainer.device={name} names GPU {device.index}, but this machine has "
                        f"{torch.cuda.device_count()} (cuda:0 to cuda:{torch.cuda.device_count() - 1}).")
    if device.type not in ("cpu", "cuda"):
        raise UserError(f"trainer.device={name!r} is not supported; use auto, cpu, cuda or cuda:N.")
    return device


def check_devices(devices, device_setting: str) -> int:
    """trainer.devices: the number of processes to run on this machine."""
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise UserError(f"trainer.devices={devices!r} must be a positive whole number of processes (GPUs).")
    wants_cuda = str(device_setting).startswith("cuda") or (device_setting == "auto" and torch.cuda.is_available())
    # Without any GPU, resolve_device explains that trainer.device=cuda cannot work.
    if wants_cuda and torch.cuda.is_available() and devices > torch.cuda.device_count():
        raise UserError(f"trainer.devices={devices} asks for more GPUs than this machine has "
                        f"({torch.cuda.device_count()}); use at most that many, or trainer.device=cpu for "
                        f"gloo processes on the CPU.")
    return devices
