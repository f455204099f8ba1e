"""The process group: set-up from the environment, rank, world size, reductions.

A process takes its place from torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
MASTER_PORT) or from SLURM's (one task per GPU); without them it is rank 0 of 1 and nothing is
initialized. `trainer.devices=N` on one machine spawns N processes that set torchrun's variables.
"""

from __future__ import annotations

import datetime
import os

import torch
import torch.distributed as dist

from gan_cli.distributed.environment import apply_process_group_env, process_group_env
from gan_cli.numbers import check_number_range


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def local_device_index() -> int:
    """The GPU of this process: its local rank, wrapped when each process sees fewer GPUs."""
    return local_rank() % max(1, torch.cuda.device_count())


def is_main() -> bool:
    return rank() == 0


def environment_world_size() -> int:
    """The world size the environment asks for (torchrun or SLURM), before any initialization."""
    settings = _env_settings()
    return settings["world_size"] if settings else 1


def _env_settings():
    return process_group_env(os.environ)


def init_from_env(backend: str | None = None, timeout_s: float = 300.0, device: str = "auto") -> bool:
    """Join the process group the environment describes; False when this is a single process.

    gloo on CPU (trainer.device=cpu, or no GPU), NCCL when training on GPUs (unless `backend` says
    otherwise). Collectives time out after timeout_s, so a rank that dies makes the others fail
    instead of waiting forever.
    """
    if dist.is_initialized():
        return True
    settings = _env_settings()
    if not settings or settings["world_size"] <= 1:
        return False
    check_number_range(timeout_s, "trainer.ddp_timeout_s", "seconds")  # before timedelta() overflows
    apply_process_group_env(settings)
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() and str(device) != "cpu" else "gloo"
    if backend == "nccl":
        # One GPU per task (some SLURM set-ups) or all of a node's GPUs visible to each process.
        torch.cuda.set_device(settings["local_rank"] % torch.cuda.device_count())
        # Fail a collective that waits on a dead peer instead of hanging.
        os.environ.setdefault("TORCH_NCCL_ASYNC_ERROR_HANDLING", "1")
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))
    return True


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def all_reduce_mean(tensor: torch.Tensor) -> torch.Tensor:
    """Average a tensor over ranks (on a copy); identity on one process."""
    if world_size() == 1:
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor / world_size()


def all_reduce_max(tensor: torch.Tensor) -> torch.Tensor:
    if world_size() == 1:
        return tensor
    tensor = tensor.clone()
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tensor


def any_rank(flag: bool, group=None) -> bool:
    """True on every rank when `flag` is true on any, over `group` (the default group when None)."""
    if world_size() == 1:
        return flag
    tensor = torch.tensor([1 if flag else 0], dtype=torch.int32)
    if group is None and dist.get_backend() == "nccl":
        tensor = tensor.cuda()
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX, group=group)
    return bool(tensor.item())


def cpu_group():
    """A gloo group of all ranks for small host-side flags: a collective over it does not wait for the
    GPU's queued work, as one over NCCL would. Every rank must call this, at the same point."""
    if world_size() == 1:
        return None
    return dist.new_group(backend="gloo") if dist.get_backend() != "gloo" else dist.group.WORLD


def all_gather_objects(value) -> list:
    """Every rank's `value`, in rank order (a list of one on a single process)."""
    if world_size() == 1:
        return [value]
    gathered = [None] * world_size()
    dist.all_gather_object(gathered, value)
    return gathered


def broadcast_object(value, src: int = 0):
    if world_size() == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def agreed_timestamp(fmt: str = "%Y-%m-%d_%H-%M-%S", timeout_s: float = 300.0, device: str = "auto") -> str:
    """The time as `fmt`, the same on every rank of a torchrun/SLURM job: rank 0's clock decides.

    Each rank resolves Hydra's run folder on its own; this joins the process group early (with the
    run's collective timeout) so that they all name the same folder.
    """
    stamp = datetime.datetime.now().strftime(fmt)
    if environment_world_size() > 1:
        init_from_env(timeout_s=timeout_s, device=device)
        stamp = broadcast_object(stamp)
    return stamp
