"""Start-up time of gan-cli's commands, end to end, as a user runs them.

    python scripts/bench_startup.py                      # trains a 2-step digits DCGAN first
    python scripts/bench_startup.py --ckpt outputs/<run>/checkpoints/last.pt --runs 9
    python scripts/bench_startup.py --json startup.json

Each command is a fresh process from its start to its exit (interpreter, imports, Hydra's config,
the work itself): `gan-sample ckpt=<digits run> n=64`, and `--help` of gan-train, gan-interp,
gan-eval and gan-sample; and `python -c 'import torch'`, the floor of every command that uses
torch, measured alike so that a slow or busy machine shows in it too. The commands take turns
(A B C ... A B C ...) after one warm-up round that is not counted, so that the drift of a shared
machine's speed hits them alike. For each: the median, min and max wall seconds; the median CPU
seconds (user + system of the process and its children); and the total of `python -X importtime`
(the seconds spent importing modules, from one extra run). The load average is printed before and
after: figures taken on a busy machine are slower than its idle speed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGETS = {"gan-sample n=64": 3.0, "gan-train --help": 2.0}  # seconds, median wall (issue 18)
# A digits DCGAN at the preset's sizes, trained for 2 steps: what `gan-sample ckpt=<digits run>` loads.
TRAIN = ["model=dcgan", "data=digits", "trainer.device=cpu", "trainer.steps=2", "trainer.log_every=1",
         "trainer.sample_every=2", "trainer.checkpoint_every=2"]


def commands(ckpt: Path, folder: Path) -> dict[str, list[str]]:
    return {
        "gan-sample n=64": [str(BIN / "gan-sample"), f"ckpt={ckpt}", "n=64", f"out={folder / 'grid.png'}"],
        "gan-train --help": [str(BIN / "gan-train"), "--help"],
        "gan-interp --help": [str(BIN / "gan-interp"), "--help"],
        "gan-eval --help": [str(BIN / "gan-eval"), "--help"],
        "gan-sample --help": [str(BIN / "gan-sample"), "--help"],
        # The yardstick: what any command that uses torch pays before its own work, on this machine now.
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
    }


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run; a failed run stops the benchmark with its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_seconds(command: list[str], cwd: Path) -> float:
    """The total of `python -X importtime` for one run: every module's own import time, added up."""
    script = command[1:] if command[0] == sys.executable else command  # a console script, or python's own args
    result = subprocess.run([sys.executable, "-X", "importtime", *script], cwd=cwd, capture_output=True, text=True)
    return sum(int(us) for us in re.findall(r"^import time:\s+(\d+) \|", result.stderr, re.MULTILINE)) / 1e6


def train_checkpoint(folder: Path) -> Path:
    run = folder / "digits_run"
    subprocess.run([str(BIN / "gan-train"), *TRAIN, f"hydra.run.dir={run}"], cwd=folder, check=True,
                   capture_output=True)
    return run / "checkpoints" / "last.pt"


def measure(ckpt: Path | None, runs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ckpt = ckpt or train_checkpoint(folder)
        table = commands(ckpt.absolute(), folder)
        load_before = os.getloadavg()
        for command in table.values():  # warm-up: page cache, first-run costs
            timed(command, folder)
        walls, cpus = {name: [] for name in table}, {name: [] for name in table}
        for _ in range(runs):
            for name, command in table.items():
                wall, cpu = timed(command, folder)
                walls[name].append(wall)
                cpus[name].append(cpu)
        imports = {name: import_seconds(command, folder) for name, command in table.items()}
        load_after = os.getloadavg()
    rows = [{"command": name, "median_s": statistics.median(walls[name]), "min_s": min(walls[name]),
             "max_s": max(walls[name]), "cpu_median_s": statistics.median(cpus[name]),
             "import_total_s": imports[name], "target_s": TARGETS.get(name)} for name in table]
    return {"machine": machine(), "runs": runs, "load_before": load_before, "load_after": load_after, "rows": rows}


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
            f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', 'unset')}")


def print_table(results: dict) -> None:
    load = " / ".join(f"{a:.2f} {b:.2f} {c:.2f}" for a, b, c in (results["load_before"], results["load_after"]))
    print(f"Machine: {results['machine']}\nLoad average (1, 5, 15 min) before / after: {load}")
    print(f"| command | median of {results['runs']} | min | max | CPU (median) | -X importtime total | target |")
    print("|---|---|---|---|---|---|---|")
    for row in results["rows"]:
        target = f"≤ {row['target_s']:g} s" if row["target_s"] else "-"
        print(f"| `{row['command']}` | {row['median_s']:.2f} s | {row['min_s']:.2f} | {row['max_s']:.2f} | "
              f"{row['cpu_median_s']:.2f} s | {row['import_total_s']:.2f} s | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, help="a digits checkpoint to sample from (default: train one, 2 steps)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.ckpt is not None and not args.ckpt.is_file():
        parser.error(f"--ckpt {args.ckpt}: no such checkpoint file")
    results = measure(args.ckpt, args.runs)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
