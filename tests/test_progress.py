"""What gan-train shows while it trains: a live progress line on a terminal (a pseudo-terminal here),
none when piped, off by trainer.progress=false and in sweeps, never in train.log; the first steps'
time logged in every mode."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from conftest import TINY_COMMAND, run_cli

from gan_cli.training.progress import ProgressLine, duration

RUN = [*TINY_COMMAND, "trainer.steps=30", "trainer.log_every=10", "trainer.sample_every=30",
       "trainer.checkpoint_every=30"]
FIRST_STEP = re.compile(r"first step took [\d.]+ m?s \(includes warm-up\); the next \d+ took [\d.]+ m?s each: "
                        r"at this pace the run of 30 steps takes about \d+s")
LOG_LINE = re.compile(r"^\[[\d\- :,]+\]\[gan_cli\]\[INFO\] - step (\d+)/30 \| d_loss ")


def run_in_terminal(*args: str, cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """Run a gan-cli command with a pseudo-terminal (200 columns) as its stdout and stderr; its exit
    status and every byte it wrote. The terminal leaves newlines as they are (no \\r\\n), so each \\r
    in the output is the program's own."""
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    modes = termios.tcgetattr(terminal)
    modes[1] &= ~termios.ONLCR
    termios.tcsetattr(terminal, termios.TCSANOW, modes)
    command = [str(Path(sys.executable).parent / args[0]), *args[1:]]
    env = {**os.environ, "TERM": "xterm", "HYDRA_FULL_ERROR": "0"}
    process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    output, deadline = bytearray(), time.time() + timeout
    try:
        while time.time() < deadline:
            if not select.select([master], [], [], 1)[0]:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the command closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
    return process.wait(timeout=30), output.decode()


def run_piped(*args: str, cwd: Path, timeout: float = 120) -> tuple[int, str]:
    """Run a gan-cli command with pipes as its stdout and stderr (as run_cli, but the bytes as written:
    text mode would turn each \r into a newline); its exit status and its output, stderr after stdout."""
    command = [str(Path(sys.executable).parent / args[0]), *args[1:]]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, timeout=timeout, env=env)
    return result.returncode, (result.stdout + result.stderr).decode()


def screen(output: str) -> list[str]:
    """The lines a terminal shows for `output`: \\r goes back to the line's start, ESC[K erases to its end."""
    lines, line, column = [], [], 0
    for token in re.findall(r"\x1b\[K|\r|\n|[^\r\n\x1b]+", output):
        if token == "\n":
            lines.append("".join(line))
            line, column = [], 0
        elif token == "\r":
            column = 0
        elif token == "\x1b[K":
            del line[column:]
        else:
            line[column:column + len(token)] = token
            column += len(token)
    return lines + ["".join(line)]


def progress_lines(output: str) -> list[str]:
    """Each text the progress line was drawn with."""
    return re.findall(r"\r(step \d+/\d+ [^\r\n\x1b]*)\x1b\[K", output)


def test_a_terminal_shows_a_live_progress_line_and_whole_log_lines(tmp_path):
    run = tmp_path / "run"
    status, output = run_in_terminal("gan-train", *RUN, f"hydra.run.dir={run}", cwd=tmp_path)
    assert status == 0, output

    drawn = progress_lines(output)
    assert drawn and drawn[0].startswith("step 0/30 | first step (warm-up)")
    assert any(re.match(r"step \d+/30 \| [\d.]+ it/s \| elapsed \d+s, eta \d+s$", text) for text in drawn)
    # After the first log interval, the line shows its losses (no sync of its own: the log's values).
    assert any(re.match(r"step (1\d|2\d|30)/30 \| [\d.]+ it/s \| .* \| d_loss -?[\d.]+ g_loss -?[\d.]+ D\(x\)", text)
               for text in drawn)

    shown = screen(output)
    steps = [int(match.group(1)) for line in shown if (match := LOG_LINE.match(line))]
    assert steps == [10, 20, 30]  # every log line whole, on its own line, none overwritten by the progress line
    assert all(line.startswith("[") for line in shown[:-1] if line), shown
    assert any(FIRST_STEP.search(line) for line in shown)
    assert shown[-2].startswith("[") and "Done: 30 steps" in shown[-2] and shown[-1] == ""  # the line was cleared

    log = (run / "train.log").read_text()
    assert "\r" not in log and "\x1b" not in log and "it/s" not in log
    assert FIRST_STEP.search(log) and len(re.findall(r"step \d+/30 \| d_loss", log)) == 3


def test_piped_output_shows_no_progress_line_but_the_first_step_time_also_after_a_resume(tmp_path):
    status, output = run_piped("gan-train", *RUN, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert status == 0, output
    assert "\r" not in output and "\x1b" not in output and "it/s" not in output
    assert FIRST_STEP.search(output)
    assert len(re.findall(r"\[INFO\] - step \d+/30 \| d_loss", output)) == 3

    checkpoint = tmp_path / "run" / "checkpoints" / "last.pt"
    status, output = run_piped("gan-train", f"resume={checkpoint}", "trainer.steps=40", cwd=tmp_path)
    assert status == 0, output
    assert re.search(r"first step took [\d.]+ m?s \(includes warm-up\); the next 5 took [\d.]+ m?s each: at this pace "
                     r"the 10 steps left \(to 40\) take about \d+s", output)


def test_progress_true_draws_the_line_when_piped_and_false_hides_it_on_a_terminal(tmp_path):
    status, forced = run_piped("gan-train", *RUN, "trainer.progress=true", f"hydra.run.dir={tmp_path / 'forced'}",
                               cwd=tmp_path)
    assert status == 0, forced
    assert any(" it/s | " in text for text in progress_lines(forced))
    assert [int(match.group(1)) for line in screen(forced) if (match := LOG_LINE.match(line))] == [10, 20, 30]

    status, output = run_in_terminal("gan-train", *RUN, "trainer.progress=false", f"hydra.run.dir={tmp_path / 'off'}",
                                     cwd=tmp_path)
    assert status == 0, output
    assert "\r" not in output and "\x1b" not in output and "it/s" not in output
    assert FIRST_STEP.search(output)


def test_a_sweep_on_a_terminal_shows_no_progress_line(tmp_path):
    status, output = run_in_terminal("gan-train", "-m", *RUN, f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path)
    assert status == 0, output
    assert "\r" not in output and "\x1b" not in output and "it/s" not in output
    assert FIRST_STEP.search(output)


def test_bad_progress_value_is_named_before_any_work(tmp_path):
    result = run_cli("gan-train", "trainer.progress=sometimes", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2
    assert "trainer.progress='sometimes' is not one of the choices" in result.stderr


def test_durations_read_as_minutes_and_hours():
    assert [duration(s) for s in (0.4, 41, 570, 7500)] == ["0s", "41s", "9m30s", "2h05m"]


def test_progress_line_fits_the_terminal_width(tmp_path):
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 40, 0, 0))
    with os.fdopen(terminal, "w") as stream:
        line = ProgressLine(stream, 0, 100, lambda: {"loss/d": 1.0, "loss/g": 2.0, "D/real": 0.5, "D/fake": 0.5})
        line(1)
        line(2)
        assert len(line.text(time.perf_counter())) == 39
    os.close(master)
