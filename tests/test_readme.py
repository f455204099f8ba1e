"""README cannot go stale: its tables of config groups, models, experiments, datasets and presets are
made from conf/ (scripts/readme_tables.py), every config name it writes exists, and the run times and
quality figures it gives were measured at today's defaults."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
sys.path.insert(0, str(ROOT / "scripts"))

import readme_tables  # noqa: E402

from gan_cli.config_catalog import GROUPS, option_names  # noqa: E402


def test_readme_tables_are_made_from_the_configs_of_today():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_tables.py"), "--check"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_check_fails_when_a_config_is_missing_from_readme():
    text = README.read_text()
    stale = re.sub(r"\n\| `progan` \|[^\n]*", "", text, count=1)  # a model row dropped
    stale = stale.replace("| `wgan_gp_grid` |", "| `wgan_gp_toy` |", 1)  # an experiment renamed in README only
    _, changed = readme_tables.rendered(stale)
    assert "models" in changed and "experiments" in changed
    _, changed = readme_tables.rendered(text)
    assert changed == []


def test_every_option_of_every_group_is_in_readme():
    text = README.read_text()
    for group in GROUPS:
        for name in option_names(group):
            assert f"`{name}`" in text, f"{group}={name}"


GROUP_MENTION = re.compile(r"(?<![\w.+])(" + "|".join(GROUPS) + r")=([A-Za-z_]\w*)")


def test_every_config_name_readme_writes_exists():
    named = {(group, name) for group, name in GROUP_MENTION.findall(README.read_text())}
    unknown = sorted(f"{group}={name}" for group, name in named
                     if name not in option_names(group) and name not in ("NAME", "null"))
    assert unknown == []


def test_measured_default_runs_are_at_todays_defaults():
    """A default run's CPU minutes hold for its steps and batch only: change a default, measure again
    (python scripts/bench_quality.py --models NAME, or bench_audio.py), then readme_tables.py."""
    runs = readme_tables.measured_runs()
    assert runs, "docs/default_runs.json is empty"
    stale = {model: ((run["steps"], run["batch_size"]), readme_tables.default_run(model))
             for model, run in runs.items() if (run["steps"], run["batch_size"]) != readme_tables.default_run(model)}
    assert stale == {}


def quality_rows() -> dict[str, tuple[int, int]]:
    block = README.read_text().split("<!-- quality-table -->", 1)[1].split("<!-- /quality-table -->", 1)[0]
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^\| (\w+) \| (\d+) \| (\d+) \|", block, re.MULTILINE)}


def test_readme_quality_table_was_measured_at_todays_defaults():
    rows = quality_rows()
    assert len(rows) >= 10
    stale = {model: (shown, readme_tables.default_run(model)) for model, shown in rows.items()
             if shown != readme_tables.default_run(model)}
    assert stale == {}


@pytest.mark.parametrize("option", ["stylegan2", "hifigan", "pix2pix"])
def test_gan_train_help_says_what_each_model_is(option, tmp_path):
    shown = subprocess.run(["gan-train", "--help"], capture_output=True, text=True, timeout=120, check=True,
                           cwd=tmp_path).stdout
    models = shown.split("== Models", 1)[1].split("\n== ", 1)[0]
    for name in option_names("model"):
        assert re.search(rf"^  {name} ", models, re.MULTILINE), name
    line = next(line for line in models.splitlines() if line.startswith(f"  {option} "))
    assert "20" in line and "data=" in line  # the paper's year, the default data
