"""Stopping a run cleanly: Ctrl-C, SIGTERM and SLURM's SIGUSR2 end it at the next step boundary."""

from __future__ import annotations

import contextlib
import signal
import sys
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class StopFlag:
    requested: bool = False
    # Called once the checkpoint of a stopped run is written (hands SIGUSR2 on to submitit).
    after_checkpoint: Callable[[], None] = field(default=lambda: None)


@contextlib.contextmanager
def stop_on_signal():
    """First Ctrl-C/SIGTERM: finish the step, checkpoint, stop. A second Ctrl-C stops at once
    (status 130, no traceback; checkpoints are written atomically, so the newest one is whole).

    SIGUSR2 (the warning submitit/SLURM sends before a time limit or preemption) stops the same
    way; once the checkpoint is written, `flag.after_checkpoint()` hands the signal to the
    handler that was there before (submitit's, which requeues the job).
    """
    flag = StopFlag()
    previous = {}

    def request_stop(signum, frame):
        if flag.requested and signum == signal.SIGINT:
            print("Stopped at once (second Ctrl-C): this step was not saved; the newest checkpoint in "
                  "checkpoints/ is complete.", file=sys.stderr, flush=True)
            raise SystemExit(130)
        flag.requested = True
        handler = previous.get(signum)
        if signum == signal.SIGUSR2 and callable(handler):
            flag.after_checkpoint = lambda: handler(signum, frame)

    with contextlib.suppress(ValueError):  # not the main thread: no handlers, no graceful stop
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR2):
            previous[sig] = signal.signal(sig, request_stop)
    try:
        yield flag
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
