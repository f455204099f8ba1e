"""Running one training job in several processes on this machine (`trainer.devices=N`).

The parent (the Hydra job) picks the run folder and a free port, spawns N workers that join one
process group (gloo on CPU, NCCL on GPUs) and call `train`, and waits. Rank 0 writes the single
run folder's logs and checkpoints. When a worker dies, the others are stopped and the parent exits
with a message saying which rank died and where the last checkpoint is.
"""

from __future__ import annotations

import datetime
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp
from omegaconf import OmegaConf

from gan_cli import distributed
from gan_cli.errors import UserError

log = logging.getLogger("gan_cli")
LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


class WorkerFailed(UserError):
    """A worker process ended badly; its own message (if any) was printed by the worker."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def check_devices(devices, device_setting: str) -> int:
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise UserError(f"trainer.devices={devices!r} must be a positive whole number of processes (GPUs).")
    wants_cuda = str(device_setting).startswith("cuda") or (device_setting == "auto" and torch.cuda.is_available())
    # Without any GPU, resolve_device explains that trainer.device=cuda cannot work.
    if wants_cuda and torch.cuda.is_available() and devices > torch.cuda.device_count():
        raise UserError(f"trainer.devices={devices} asks for more GPUs than this machine has "
                        f"({torch.cuda.device_count()}); use at most that many, or trainer.device=cpu for "
                        f"gloo processes on the CPU.")
    return devices


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_stamp(fmt: str = "%Y-%m-%d_%H-%M-%S") -> str:
    """A timestamp for the run folder that every rank of a torchrun/SLURM job agrees on.

    Each rank resolves Hydra's run folder on its own; rank 0's clock decides, sent to the others
    over the process group (which this joins early for that purpose).
    """
    stamp = datetime.datetime.now().strftime(fmt)
    if distributed.environment_world_size() > 1:
        distributed.init_from_env()
        stamp = distributed.broadcast_object(stamp)
    return stamp


OmegaConf.register_new_resolver("run_stamp", run_stamp, use_cache=True, replace=True)


def launch_processes(cfg, run_dir: Path, devices: int) -> dict:
    """Train in `devices` processes; return rank 0's final values."""
    from gan_cli.training_loop import StopRequested

    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    port = free_port()
    container = OmegaConf.to_container(cfg)
    interrupts = {"count": 0}

    def on_interrupt(signum, frame):
        # The workers got the same Ctrl-C and stop at their next step boundary; a second one kills them.
        interrupts["count"] += 1
        if interrupts["count"] > 1:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        processes = mp.start_processes(_worker, args=(container, str(run_dir), devices, port, results),
                                       nprocs=devices, start_method="spawn", join=False)
        try:
            while not processes.join():
                pass
        except mp.ProcessExitedException as exited:
            code = exited.exit_code
            if code == 130:  # Ctrl-C/SIGTERM: every rank stopped at the same step, rank 0 says which
                stopped = results.get() if not results.empty() else {}
                raise StopRequested(stopped.get("stopped_at", "?")) from None
            if code in (2, 3):  # the worker printed its own one-paragraph error
                raise WorkerFailed("", exit_code=code) from None
            how = f"was killed by {exited.signal_name}" if exited.signal_name else f"exited with status {code}"
            raise WorkerFailed(
                f"Training process of rank {exited.error_index} {how}; the other ranks were stopped. "
                f"The newest checkpoint (if any) is in {run_dir / 'checkpoints'}; continue with "
                f"gan-train resume={run_dir / 'checkpoints' / 'last.pt'}.", exit_code=1) from None
        except mp.ProcessRaisedException as raised:
            raise WorkerFailed(f"A training process failed:\n{raised}", exit_code=1) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    return results.get() if not results.empty() else {}


def _setup_worker_logging(run_dir: Path, rank: int) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    if rank == 0:
        root.setLevel(logging.INFO)
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(logging.Formatter(LOG_FORMAT))
        run_dir.mkdir(parents=True, exist_ok=True)
        log_file = logging.FileHandler(run_dir / "train.log")
        log_file.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(console)
        root.addHandler(log_file)
    else:
        root.setLevel(logging.WARNING)
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(f"[rank {rank}]{LOG_FORMAT}"))
        root.addHandler(console)


def _worker(rank: int, container: dict, run_dir: str, world_size: int, port: int, results) -> None:
    from gan_cli.errors import exit_with
    from gan_cli.train import train
    from gan_cli.training_loop import StopRequested

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    cfg = OmegaConf.create(container)
    _setup_worker_logging(Path(run_dir), rank)
    if not torch.cuda.is_available() or cfg.trainer.device == "cpu":
        # Share the cores instead of every process starting one thread per core.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    try:
        distributed.init_from_env(timeout_s=cfg.trainer.get("ddp_timeout_s", 300))
        final = train(cfg, run_dir)
        if rank == 0:
            results.put(final)
    except UserError as error:
        if rank == 0:
            exit_with(error)
        sys.exit(error.exit_code)
    except StopRequested as stop:
        if rank == 0:
            results.put({"stopped_at": stop.args[0]})
        sys.exit(130)
    except (RuntimeError, torch.distributed.DistBackendError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"error: rank {rank} lost the process group ({first_line}); another rank has probably died. "
              f"Stopping.", file=sys.stderr, flush=True)
        os._exit(1)  # do not wait in the group's teardown for peers that are gone
    finally:
        distributed.shutdown()
