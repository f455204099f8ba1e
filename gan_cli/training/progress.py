"""What a user sees between log lines: the first steps' time, logged once, and a live progress line
on a terminal (trainer.progress).

The progress line is rewritten in place ("\\r", the text, clear to the end of the line) at most a few
times a second by wall time, so a step costs one clock reading. Its losses are those of the last
log interval (RunningStats keeps them on the device until LogHook flushes them): it adds no host
sync. While it is shown, the console's log handlers clear it before each record and draw it again
after, so log lines stay whole on their own lines; the file handler (train.log) never sees it.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
import warnings
from typing import Callable, TextIO

import torch

from gan_cli import distributed

# Logged values shown on the log and progress lines, with their short names.
PROGRESS_VALUES = (("loss/d", "d_loss"), ("loss/g", "g_loss"), ("D/real", "D(x)"), ("D/fake", "D(fake)"),
                   ("loss/gradient_penalty", "gp"), ("wasserstein_estimate", "W"), ("loss/l1", "l1"),
                   ("loss/cycle_a", "cycle_a"), ("loss/cycle_b", "cycle_b"), ("loss/pixel", "pixel"),
                   ("loss/content", "content"), ("loss/mel", "mel"), ("loss/feature_matching", "fm"))
REFRESH_S = 0.25   # the least time between two redraws of the progress line
PACE_STEPS = 5     # steps after the first whose mean time gives the run's estimate
PACE_WAIT_S = 5.0  # ... or fewer, once they have taken this long
CLEAR = "\r\x1b[K"  # back to the line's start, erase to its end


def shown_values(values: dict[str, float], fake_label: str = "D(G(z))") -> list[str]:
    """The logged losses and D's scores by their short names (D(fake) named as the task's fakes)."""
    return [f"{fake_label if label == 'D(fake)' else label} {values[key]:.4f}" for key, label in PROGRESS_VALUES
            if key in values]


def duration(seconds: float) -> str:
    """41s, 9m30s, 2h05m."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def step_time(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


def rate_text(per_second: float) -> str:
    digits = 0 if per_second >= 100 else 1 if per_second >= 10 else 2
    return f"{per_second:.{digits}f}"


class FirstSteps:
    """A hook that times the run's first step (warm-up: allocations, cuDNN's search, compilation) and
    the few after it, and logs once what the run's steps take at that pace (also after a resume).
    On a GPU it waits for the device at the two moments it measures, and never again."""

    def __init__(self, log: Callable[[str], None], start_step: int, total: int, device: torch.device):
        self.log, self.start_step, self.total, self.device = log, start_step, total, device
        self.started = time.perf_counter()
        self.first: tuple[float, float] | None = None  # (the first step's seconds, when it ended)
        self.finished = False

    def __call__(self, step: int) -> None:
        if self.finished:
            return
        done = step - self.start_step
        if self.first is None:
            now = self._now()
            self.first = (now - self.started, now)
            if step < self.total:
                return
        elif done <= PACE_STEPS and step < self.total and time.perf_counter() - self.first[1] < PACE_WAIT_S:
            return
        self.finished = True
        self.log(self.message(done, self._now()))

    def message(self, done: int, now: float) -> str:
        first, first_end = self.first
        text = f"first step took {step_time(first)} (includes warm-up)"
        if done < 2:
            return text
        pace = (now - first_end) / (done - 1)
        steps = self.total - self.start_step
        estimate = duration(first + pace * (steps - 1))
        run = (f"the run of {steps:,} steps takes" if self.start_step == 0
               else f"the {steps:,} steps left (to {self.total:,}) take")
        return f"{text}; the next {done - 1} took {step_time(pace)} each: at this pace {run} about {estimate}"

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # the queued kernels are part of the step
        return time.perf_counter()


def console_stream() -> TextIO:
    """The stream the console log handler writes to (Hydra's: stdout), where the progress line goes."""
    handlers = _console_handlers()
    return handlers[0].stream if handlers else sys.stdout


def wants_progress(setting: str | bool, stream: TextIO, sweep_job: bool) -> bool:
    """trainer.progress: true and false as said; auto: on rank 0, on a terminal, outside a sweep."""
    if not distributed.is_main() or setting is False:
        return False
    if setting is True:
        return True
    return not sweep_job and _is_terminal(stream) and os.environ.get("TERM") != "dumb"


class ProgressLine:
    """A hook (due every step) that keeps one line up to date: step/total, it/s, elapsed and ETA, and the
    latest logged losses. As a context manager it holds the console for the loop's time and clears
    the line when the loop ends, however it ends."""

    def __init__(self, stream: TextIO, start_step: int, total: int, values: Callable[[], dict[str, float]],
                 fake_label: str = "D(G(z))"):
        self.stream, self.total, self.values, self.fake_label = stream, total, values, fake_label
        self.step = start_step
        self.started = time.perf_counter()
        self.first_end: tuple[float, int] | None = None  # (when the first step ended, its step): the pace starts there
        self.visible = False
        self.last_draw = -math.inf
        self.shown: dict | None = None
        self._swapped: list[tuple[logging.Handler, logging.Handler]] = []
        self._showwarning = None

    def __call__(self, step: int) -> None:
        now = time.perf_counter()
        self.step = step
        if self.first_end is None:
            self.first_end = (now, step)
        values = self.values()
        if now - self.last_draw >= REFRESH_S or values is not self.shown:  # new losses are shown at once
            self.shown = values
            self.draw(now)

    def text(self, now: float) -> str:
        parts = [f"step {self.step}/{self.total}"]
        if self.first_end is None:
            parts.append("first step (warm-up)")
        elif self.step > self.first_end[1]:
            rate = (self.step - self.first_end[1]) / max(now - self.first_end[0], 1e-9)
            parts.append(f"{rate_text(rate)} it/s")
            parts.append(f"elapsed {duration(now - self.started)}, eta {duration((self.total - self.step) / rate)}")
        else:
            parts.append(f"elapsed {duration(now - self.started)}")
        losses = shown_values(self.values(), self.fake_label)
        if losses:
            parts.append(" ".join(losses))
        text = " | ".join(parts)
        width = _terminal_width(self.stream)
        return text[:width - 1] if width else text

    def draw(self, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        self.last_draw = now
        self.visible = self._write("\r" + self.text(now) + "\x1b[K")

    def clear(self) -> bool:
        """Erase the line; whether it was shown."""
        if not self.visible:
            return False
        self._write(CLEAR)
        self.visible = False
        return True

    def __enter__(self) -> ProgressLine:
        root = logging.getLogger()
        for handler in _console_handlers():
            if handler.stream is self.stream:
                wrapper = _AroundLine(handler, self)
                root.removeHandler(handler)
                root.addHandler(wrapper)
                self._swapped.append((handler, wrapper))
        self._showwarning = warnings.showwarning
        warnings.showwarning = self._show_warning
        self.draw()
        return self

    def __exit__(self, *exc) -> None:
        self.clear()
        root = logging.getLogger()
        for handler, wrapper in self._swapped:
            root.removeHandler(wrapper)
            root.addHandler(handler)
        self._swapped.clear()
        warnings.showwarning = self._showwarning

    def _show_warning(self, *args, **kwargs) -> None:
        shown = self.clear()
        try:
            self._showwarning(*args, **kwargs)
        finally:
            if shown:
                self.draw()

    def _write(self, text: str) -> bool:
        try:
            self.stream.write(text)
            self.stream.flush()
            return True
        except (OSError, ValueError):  # a closed console: the run goes on without the line
            return False


class _AroundLine(logging.Handler):
    """A console handler whose records are written with the progress line out of the way."""

    def __init__(self, handler: logging.Handler, line: ProgressLine):
        super().__init__(handler.level)
        self.handler, self.line = handler, line

    def handle(self, record):
        shown = self.line.clear()
        try:
            return self.handler.handle(record)
        finally:
            if shown:
                self.line.draw()


def _console_handlers() -> list[logging.StreamHandler]:
    return [handler for handler in logging.getLogger().handlers
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)]


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width(stream) -> int:
    """The terminal's columns (80 when it does not say); 0 when the stream is no terminal (no cut)."""
    if not _is_terminal(stream):
        return 0
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80
