"""One job in several processes on this machine (`trainer.devices=N`).

The parent (the Hydra job) picks the run folder and a free port, spawns N workers that join one
process group (gloo on CPU, NCCL on GPUs) and call the training function, and waits. Rank 0 writes the single
run folder's logs and checkpoints. When a worker dies, the others are stopped and the parent exits
with a message saying which rank died and where the last checkpoint is.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Callable

import torch
import torch.multiprocessing as mp
from omegaconf import OmegaConf

from gan_cli.distributed import process_group
from gan_cli.errors import StopRequested, UserError

log = logging.getLogger("gan_cli")
LOG_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"


class WorkerFailed(UserError):
    """A worker process ended badly: a bad input the workers met (their message), or a crash.

    The parent says it, like any error of the job: once on the console, and in train.log.
    """

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_processes(train: Callable, cfg, run_dir: Path, devices: int, log_file: Path) -> dict:
    """Run train(cfg, run_dir) in `devices` processes; return rank 0's result.

    `train` is a module-level function, or a functools.partial of one (the workers import it by name);
    rank 0 logs to the console and to `log_file`, the others only their warnings.
    """
    context = mp.get_context("spawn")
    results = context.SimpleQueue()
    port = free_port()
    container = OmegaConf.to_container(cfg)
    interrupts = {"count": 0}

    def on_interrupt(signum, frame):
        # The workers got the same Ctrl-C and stop at their next step boundary; a second one kills them.
        interrupts["count"] += 1
        if interrupts["count"] > 1:
            print("Stopped at once (second Ctrl-C).", file=sys.stderr, flush=True)
            raise SystemExit(130)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    # torch warns of each rank it stops once one has exited; the parent's own message says why.
    logging.getLogger("torch.multiprocessing.spawn").setLevel(logging.ERROR)
    try:
        processes = mp.start_processes(_worker, args=(train, container, str(run_dir), str(log_file), devices, port, results),
                                       nprocs=devices, start_method="spawn", join=False)
        try:
            while not processes.join():
                pass
        except mp.ProcessExitedException as exited:
            code = exited.exit_code
            if code == 130:  # Ctrl-C/SIGTERM: every rank stopped at the same step, rank 0 says which
                stopped = results.get() if not results.empty() else {}
                raise StopRequested(stopped.get("stopped_at", "?")) from None
            if code in (2, 3):  # a bad input: the ranks sent its one-paragraph message
                raise WorkerFailed(_worker_error(results), exit_code=code) from None
            how = f"was killed by {exited.signal_name}" if exited.signal_name else f"exited with status {code}"
            raise WorkerFailed(
                f"Training process of rank {exited.error_index} {how}; the other ranks were stopped.",
                exit_code=1) from None
        except mp.ProcessRaisedException as raised:
            raise WorkerFailed(f"A training process failed:\n{raised}", exit_code=1) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    return results.get() if not results.empty() else {}


def _worker_error(results) -> str:
    """The message of the UserError the ranks sent before they exited (rank 0's when it got to say it)."""
    messages = {}
    while not results.empty():
        item = results.get()
        if "error" in item:
            messages.setdefault(item["rank"], item["error"])
    return messages[min(messages)] if messages else ""


def _setup_worker_logging(log_file: Path, rank: int) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    if rank == 0:
        root.setLevel(logging.INFO)
        console = logging.StreamHandler(sys.stdout)
        console.setFormatter(logging.Formatter(LOG_FORMAT))
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_file)
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(console)
        root.addHandler(file_handler)
    else:
        root.setLevel(logging.WARNING)
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(f"[rank {rank}]{LOG_FORMAT}"))
        root.addHandler(console)


def _worker(rank: int, train: Callable, container: dict, run_dir: str, log_file: str, world_size: int,
            port: int, results) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_WORLD_SIZE=str(world_size), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    cfg = OmegaConf.create(container)
    _setup_worker_logging(Path(log_file), rank)
    if not torch.cuda.is_available() or cfg.trainer.device == "cpu":
        # Share the cores instead of every process starting one thread per core.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world_size))
    try:
        process_group.init_from_env(timeout_s=cfg.trainer.ddp_timeout_s, device=cfg.trainer.device)
        final = train(cfg, run_dir)
        if rank == 0:
            results.put(final)
    except UserError as error:
        results.put({"error": str(error), "rank": rank})  # every rank: the first to exit stops the others
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
        process_group.shutdown()
