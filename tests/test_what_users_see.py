"""What a new user sees on the console and in the files (an issue filed by one): an error said once,
KID in the unit papers use with its floor explained, a GIF beside every walk's grid, a line saying what
gan-sample did to the user's own images, and held-out grids named by what they hold. (The issue's
last item, D(G(z)) in the log lines of models without z, was fixed before: Task.fake_label.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "checkpoints"
BAD_BATCH = "data.batch_size='abc' is not valid"


def fixture(family: str, tmp_path: Path) -> Path:
    """A copy of a family's checkpoint fixture in a run folder of its own (its samples/ beside it)."""
    ckpt = tmp_path / "run" / "checkpoints" / f"{family}.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / f"{family}.pt", ckpt)
    return ckpt


# An error is said once on the console, and recorded in the run folder.

@pytest.mark.parametrize("processes", [[], ["trainer.devices=2", "trainer.device=cpu"]], ids=["one", "spawned"])
def test_a_failing_run_says_its_error_once_and_records_it(processes, tmp_path):
    run = tmp_path / "run"
    result = run_cli("gan-train", "data.batch_size=abc", *processes, f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 2
    assert (result.stdout + result.stderr).count(BAD_BATCH) == 1, result.stdout + result.stderr
    assert result.stderr.startswith(f"error: {BAD_BATCH}") and "Terminating process" not in result.stderr
    assert (run / "train.log").read_text().count(BAD_BATCH) == 1
    assert BAD_BATCH in json.loads((run / "status.json").read_text())["error"]


def test_a_failing_sweep_logs_each_job_once_and_ends_without_a_traceback(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli("gan-train", "-m", "data.batch_size=abc,xyz", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert output.count(BAD_BATCH) == 1 and output.count("data.batch_size='xyz' is not valid") == 1
    last = next(line for line in result.stderr.splitlines() if line.startswith("error: "))
    assert last.startswith(f"error: job {sweep / '0'} failed on a bad input") and str(sweep / "summary.md") in last
    assert BAD_BATCH in (sweep / "0" / "train.log").read_text()
