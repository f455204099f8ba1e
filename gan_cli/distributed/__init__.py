"""Running one job in several processes.

    environment.py    where this process sits, read from torchrun's / SLURM's / submitit's variables
    process_group.py  joining the group, rank, world size, the few collectives training needs
    spawn.py          trainer.devices=N: N worker processes on this machine
    devices.py        trainer.device and trainer.devices, checked

`from gan_cli import distributed` gives the process-group functions (distributed.rank(), ...).
"""

# The process-group functions, imported on first use: they need torch, and environment.py (which
# the commands' error path reads to say an error on one rank only) must not.
__all__ = [
    "agreed_timestamp", "all_gather_objects", "all_reduce_max", "all_reduce_mean", "any_rank", "barrier",
    "broadcast_object", "cpu_group", "environment_world_size", "init_from_env", "is_main", "local_device_index",
    "local_rank", "rank", "shutdown", "world_size",
]


def __getattr__(name: str):
    if name in __all__:
        from gan_cli.distributed import process_group

        return getattr(process_group, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
