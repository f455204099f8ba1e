"""Running one job in several processes.

    environment.py    where this process sits, read from torchrun's / SLURM's / submitit's variables
    process_group.py  joining the group, rank, world size, the few collectives training needs
    spawn.py          trainer.devices=N: N worker processes on this machine
    devices.py        trainer.device and trainer.devices, checked

`from gan_cli import distributed` gives the process-group functions (distributed.rank(), ...).
"""

from gan_cli.distributed.process_group import (
    agreed_timestamp,
    all_gather_objects,
    all_reduce_max,
    all_reduce_mean,
    any_rank,
    barrier,
    broadcast_object,
    cpu_group,
    environment_world_size,
    init_from_env,
    is_main,
    local_device_index,
    local_rank,
    rank,
    shutdown,
    world_size,
)

__all__ = [
    "agreed_timestamp", "all_gather_objects", "all_reduce_max", "all_reduce_mean", "any_rank", "barrier",
    "broadcast_object", "cpu_group", "environment_world_size", "init_from_env", "is_main", "local_device_index", "local_rank", "rank", "shutdown",
    "world_size",
]
