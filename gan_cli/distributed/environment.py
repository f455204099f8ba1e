"""Where this process sits in a multi-process job, read from the environment its launcher set.

torchrun, srun (directly or through submitit on SLURM) and submitit's local executor each start
one process per rank and describe it in environment variables, each launcher in its own names.
`process_group_env` reads them into one form; `apply_process_group_env` exports that form as the
variables torch.distributed's `env://` rendezvous reads (RANK, WORLD_SIZE, MASTER_ADDR, ...).

Standard library only, and no torch: the functions are pure and are tested on plain dicts.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, MutableMapping
from typing import TypedDict

from gan_cli.errors import UserError

# Ports derived from a job id fall in [PORT_BASE, PORT_BASE + PORT_SPAN): above the registered
# ports most services use, below torchrun's default 29500 and below Linux's ephemeral range
# (32768+), where an outgoing connection of another program may already hold the port.
PORT_BASE = 15000
PORT_SPAN = 14000

_TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
# A task that srun started (itself, or for submitit) carries the step's variables; a batch script
# or an salloc shell carries the job's SLURM_NTASKS without being one of those tasks.
_SLURM_STEP_MARKERS = ("SLURM_STEP_NUM_TASKS", "SLURM_STEP_ID", "SLURM_STEPID")
_SLURM_NODE_LISTS = ("SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST")


class ProcessGroupEnv(TypedDict):
    rank: int           # global rank, 0 .. world_size - 1
    world_size: int     # number of processes in the job (> 1)
    local_rank: int     # rank on this machine: the GPU index to use
    master_addr: str    # host of rank 0, where the rendezvous store listens
    master_port: int
    source: str         # "torchrun", "slurm" or "submitit_local": who started the processes


class LaunchEnvError(UserError):
    """The launcher's environment variables are incomplete or malformed."""


def is_other_rank(environ: Mapping[str, str]) -> bool:
    """Whether this process is a rank other than 0 of a job its launcher started (torchrun, srun): every
    rank meets the same bad input, and rank 0 says it."""
    try:
        settings = process_group_env(environ)
    except LaunchEnvError:  # a malformed launcher environment: each process says so
        return False
    return bool(settings) and settings["rank"] != 0


def process_group_env(environ: Mapping[str, str]) -> ProcessGroupEnv | None:
    """The rendezvous settings of this process, or None when the job is a single process.

    torchrun's variables win over SLURM's (torchrun may run inside a SLURM allocation), and
    SLURM's over submitit's local executor. MASTER_ADDR and MASTER_PORT, when set, override the
    address and port derived from SLURM (or the local executor).
    """
    if "RANK" in environ or "WORLD_SIZE" in environ:
        settings = _torchrun_env(environ)
    elif any(name in environ for name in _SLURM_STEP_MARKERS):
        settings = _slurm_env(environ)
    elif environ.get("SUBMITIT_EXECUTOR") == "local" and "SUBMITIT_LOCAL_NTASKS" in environ:
        settings = _submitit_local_env(environ)
    else:
        return None
    if settings is None or settings["world_size"] == 1:
        return None  # a job of one process needs no process group
    _check_ranks(settings)
    return settings


def apply_process_group_env(settings: ProcessGroupEnv, environ: MutableMapping[str, str] = os.environ) -> None:
    """Export the settings as torchrun's variables, for init_process_group(init_method="env://")."""
    environ.update(
        RANK=str(settings["rank"]),
        WORLD_SIZE=str(settings["world_size"]),
        LOCAL_RANK=str(settings["local_rank"]),
        MASTER_ADDR=settings["master_addr"],
        MASTER_PORT=str(settings["master_port"]),
    )


def port_for_job(job_id: str | int) -> int:
    """A rendezvous port that every task of one job derives alike, and other jobs most likely not."""
    number = _as_int("the job id", str(job_id))
    if number < 0:
        raise LaunchEnvError(f"The job id must be a non-negative integer, not {job_id!r}.")
    return PORT_BASE + number % PORT_SPAN


def expand_hostlist(hostlist: str) -> list[str]:
    """SLURM's compressed host list as host names, in order.

    `node[001-003,007],gpu-a[1-2]` -> node001 node002 node003 node007 gpu-a1 gpu-a2. A range keeps
    the width of its first number (`[08-10]` -> 08 09 10), and several brackets in one name
    expand to every combination (`rack[1-2]-n[1-2]` -> rack1-n1 rack1-n2 rack2-n1 rack2-n2).
    """
    if not hostlist or not hostlist.strip():
        raise LaunchEnvError("The SLURM node list is empty.")
    hosts = []
    for name in _split_outside_brackets(hostlist.strip(), hostlist):
        # Alternate literal text and bracket contents: "a[1-2]b[3]" -> ["a", "1-2", "b", "3", ""].
        parts = re.split(r"\[([^\[\]]*)\]", name)
        if any("[" in text or "]" in text for text in parts[::2]):
            raise LaunchEnvError(f"Unbalanced or nested brackets in the SLURM node list {hostlist!r}.")
        choices = [[text] if i % 2 == 0 else _expand_ranges(text, hostlist) for i, text in enumerate(parts)]
        hosts += ["".join(combination) for combination in itertools.product(*choices)]
    return hosts


def first_host(hostlist: str) -> str:
    return expand_hostlist(hostlist)[0]


def _torchrun_env(environ: Mapping[str, str]) -> ProcessGroupEnv | None:
    missing = [name for name in _TORCHRUN_VARIABLES[:3] if name not in environ]
    if missing:
        raise LaunchEnvError(
            f"RANK/WORLD_SIZE are set but {', '.join(missing)} not: start the processes with torchrun "
            f"(which sets {', '.join(_TORCHRUN_VARIABLES)}), or unset RANK and WORLD_SIZE for a single process."
        )
    world_size = _as_int("WORLD_SIZE", environ["WORLD_SIZE"])
    if world_size == 1:
        return None
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not environ.get(name)]
    if missing:
        raise LaunchEnvError(f"WORLD_SIZE={world_size} needs {' and '.join(missing)} (torchrun sets them).")
    return ProcessGroupEnv(
        rank=_as_int("RANK", environ["RANK"]),
        world_size=world_size,
        local_rank=_as_int("LOCAL_RANK", environ["LOCAL_RANK"]),
        master_addr=environ["MASTER_ADDR"],
        master_port=_port("MASTER_PORT", environ["MASTER_PORT"]),
        source="torchrun",
    )


def _slurm_env(environ: Mapping[str, str]) -> ProcessGroupEnv | None:
    tasks_variable = "SLURM_STEP_NUM_TASKS" if "SLURM_STEP_NUM_TASKS" in environ else "SLURM_NTASKS"
    world_size = _as_int(tasks_variable, _require(environ, tasks_variable, "the number of tasks"))
    if world_size == 1:
        return None
    node_list = next((environ[name] for name in _SLURM_NODE_LISTS if environ.get(name)), None)
    if environ.get("MASTER_ADDR"):
        master_addr = environ["MASTER_ADDR"]
    elif node_list is not None:
        master_addr = first_host(node_list)  # tasks fill nodes in order: rank 0 runs on the first
    else:
        raise LaunchEnvError(f"None of {', '.join(_SLURM_NODE_LISTS)} is set: cannot tell where rank 0 runs "
                             f"(set MASTER_ADDR to its host).")
    if environ.get("MASTER_PORT"):
        master_port = _port("MASTER_PORT", environ["MASTER_PORT"])
    else:
        master_port = port_for_job(_require(environ, "SLURM_JOB_ID", "the rendezvous port (or set MASTER_PORT)"))
    return ProcessGroupEnv(
        rank=_as_int("SLURM_PROCID", _require(environ, "SLURM_PROCID", "this task's rank")),
        world_size=world_size,
        local_rank=_as_int("SLURM_LOCALID", _require(environ, "SLURM_LOCALID", "this task's rank on its node")),
        master_addr=master_addr,
        master_port=master_port,
        source="slurm",
    )


def _submitit_local_env(environ: Mapping[str, str]) -> ProcessGroupEnv:
    """submitit's local executor: several tasks on this machine (hydra/launcher=slurm_local)."""
    job_id = _require(environ, "SUBMITIT_LOCAL_JOB_ID", "the rendezvous port (or set MASTER_PORT)")
    return ProcessGroupEnv(
        rank=_as_int("SUBMITIT_LOCAL_GLOBALID", _require(environ, "SUBMITIT_LOCAL_GLOBALID", "this task's rank")),
        world_size=_as_int("SUBMITIT_LOCAL_NTASKS", environ["SUBMITIT_LOCAL_NTASKS"]),
        local_rank=_as_int("SUBMITIT_LOCAL_LOCALID", _require(environ, "SUBMITIT_LOCAL_LOCALID", "this task's rank")),
        master_addr=environ.get("MASTER_ADDR") or "127.0.0.1",
        master_port=_port("MASTER_PORT", environ["MASTER_PORT"]) if environ.get("MASTER_PORT") else port_for_job(job_id),
        source="submitit_local",
    )


def _check_ranks(settings: ProcessGroupEnv) -> None:
    source, world_size = settings["source"], settings["world_size"]
    if world_size < 1:
        raise LaunchEnvError(f"{source}: the world size must be at least 1, not {world_size}.")
    for key in ("rank", "local_rank"):
        if not 0 <= settings[key] < world_size:
            raise LaunchEnvError(f"{source}: {key} {settings[key]} is outside 0..{world_size - 1} "
                                 f"for a world size of {world_size}.")


def _require(environ: Mapping[str, str], name: str, purpose: str) -> str:
    value = environ.get(name)
    if value is None or not value.strip():
        raise LaunchEnvError(f"{name} is not set; it gives {purpose}.")
    return value


def _as_int(name: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise LaunchEnvError(f"{name} must be an integer, not {value!r}.") from None


def _port(name: str, value: str) -> int:
    port = _as_int(name, value)
    if not 1 <= port <= 65535:
        raise LaunchEnvError(f"{name} must be a port number in 1..65535, not {port}.")
    return port


def _split_outside_brackets(text: str, hostlist: str) -> list[str]:
    names, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth not in (0, 1):
            raise LaunchEnvError(f"Unbalanced or nested brackets in the SLURM node list {hostlist!r}.")
        if char == "," and depth == 0:
            names.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise LaunchEnvError(f"Unbalanced brackets in the SLURM node list {hostlist!r}.")
    names.append(text[start:])
    if any(not name.strip() for name in names):
        raise LaunchEnvError(f"Empty host name in the SLURM node list {hostlist!r}.")
    return [name.strip() for name in names]


def _expand_ranges(ranges: str, hostlist: str) -> list[str]:
    """`001-003,007` -> 001 002 003 007 (the width of the first number of each range is kept)."""
    numbers = []
    for item in ranges.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", item)
        if not match:
            raise LaunchEnvError(f"Bad range {item!r} in the SLURM node list {hostlist!r}: "
                                 f"expected numbers such as [1-4,7] or [001-016].")
        low, high = match.group(1), match.group(2) or match.group(1)
        if int(high) < int(low):
            raise LaunchEnvError(f"Descending range {item!r} in the SLURM node list {hostlist!r}.")
        numbers += [str(n).zfill(len(low)) for n in range(int(low), int(high) + 1)]
    return numbers
