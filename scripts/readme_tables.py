"""README's tables of what the configs offer, made from conf/ itself: the config groups and all their
options, every model (its paper, task, default data, default run and that run's measured CPU time),
every experiment= recipe, every dataset, every hparams_search= and debug= preset.

    python scripts/readme_tables.py            # rewrite the tables in README.md
    python scripts/readme_tables.py --check    # exit 1, naming the tables, when README is out of date

Each table sits between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->` in README.md.
The descriptions are the first sentence of each config file's header comment (gan_cli.config_catalog);
the default runs (steps, batch) are composed by Hydra as `gan-train model=NAME` composes them; the
CPU minutes are the ones the benchmarks measured at exactly those settings (docs/default_runs.json,
written by scripts/bench_quality.py and scripts/bench_audio.py). tests/test_readme.py runs --check.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from functools import lru_cache
from pathlib import Path

from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from gan_cli.config_catalog import conf_root, default_option, options
from gan_cli.tasks import task_owning

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DEFAULT_RUNS = ROOT / "docs" / "default_runs.json"
_GROUP_LINE = re.compile(r"^#\s{3}(\w+)\s{2,}(.+)$")


@lru_cache(maxsize=None)
def composed(*overrides: str):
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


def default_run(model: str) -> tuple[int, int]:
    """(steps, batch) of `gan-train model=<model>` with nothing else."""
    cfg = composed(f"model={model}")
    return int(cfg.trainer.steps), int(cfg.data.batch_size)


def measured_runs() -> dict:
    runs = json.loads(DEFAULT_RUNS.read_text()) if DEFAULT_RUNS.is_file() else {}
    return {model: run for model, run in runs.items() if not model.startswith("_")}


def record_default_run(model: str, steps: int, batch_size: int, cpu_minutes: float) -> None:
    """Keep a default run's measured CPU minutes (the benchmarks call it for runs with no overrides)."""
    runs = json.loads(DEFAULT_RUNS.read_text()) if DEFAULT_RUNS.is_file() else {}
    runs[model] = {"steps": steps, "batch_size": batch_size, "cpu_minutes": round(cpu_minutes, 1)}
    DEFAULT_RUNS.write_text(json.dumps(runs, indent=2) + "\n")


def _cell(text: str) -> str:
    """A table cell: pipes escaped, and words with <placeholders> as code (else markdown drops them as tags)."""
    parts = text.split("`")  # the even parts are outside code spans
    parts[::2] = [re.sub(r"(\S*<[\w.]+>\S*?)([.,;:)]*(?:\s|$))", r"`\1`\2", part) for part in parts[::2]]
    return "`".join(parts).replace("|", "\\|")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows])


def group_meanings() -> dict[str, str]:
    """What each group sets: train.yaml's header comment (`#   model   the GAN variant ...`)."""
    meanings = {}
    for line in (conf_root() / "train.yaml").read_text().splitlines():
        match = _GROUP_LINE.match(line)
        if match:
            meanings[match.group(1)] = match.group(2).strip()
    return meanings


def groups_table() -> str:
    rows = []
    for group, meaning in group_meanings().items():
        default = default_option(group)
        names = [f"**`{option.name}`**" if option.name == default else f"`{option.name}`" for option in options(group)]
        rows.append([f"`{group}`", ", ".join(names), meaning])
    return _table(["group", "options (**default**)", "what it sets"], rows)


def models_table() -> str:
    measured, rows = measured_runs(), []
    for option in options("model"):
        steps, batch = default_run(option.name)
        run = measured.get(option.name)
        minutes = f"{run['cpu_minutes']:.1f}" if run and (run["steps"], run["batch_size"]) == (steps, batch) else "-"
        rows.append([f"`{option.name}`", option.title, task_owning(option).name, f"`{option.default_data}`",
                     f"{steps:,} × {batch}", minutes])
    return _table(["`model=`", "paper", "task", "default data", "default run: steps × batch",
                   "its CPU minutes (one core)"], rows)


def experiments_table() -> str:
    rows = []
    for option in options("experiment"):
        cfg = composed(f"experiment={option.name}")
        usage = f"`{option.usage[0]}`" if option.usage else ""
        rows.append([f"`{option.name}`", f"`{cfg.model.name}`", f"`{cfg.data.name}`",
                     f"{int(cfg.trainer.steps):,} × {int(cfg.data.batch_size)}", option.summary, usage])
    return _table(["`experiment=`", "model", "data", "steps × batch", "the paper's setup", "command"], rows)


def datasets_table() -> str:
    rows = []
    for option in options("data"):
        node = composed(f"data={option.name}", *_task_model(option)).data
        rows.append([f"`{option.name}`", task_owning(option).name, option.summary, _setup(node, option)])
    return _table(["`data=`", "task", "what it is", "set-up"], rows)


def _setup(node, option) -> str:
    """None for the offline data; else data.root= (required, or its default) and the files it holds."""
    if "root" not in node.keys():  # (`in` is false for a ??? value)
        return "none: offline"
    root = ("`data.root=` (required)" if OmegaConf.is_missing(node, "root")
            else "`data.root=` (default `$GAN_CLI_DATA`, else `./data`)")
    files = re.search(r"(?:Files|Layout): (.*?\.)(?=\s+[A-Z]|\s*$)", option.header)
    return f"{root}; {files.group(1)}" if files else root


def _task_model(option) -> tuple[str, ...]:
    """A model of the data's task, for composing the data config as a run would."""
    return (f"model={task_owning(option).models.split(', ')[0]}",)


def presets_table(group: str) -> str:
    rows = [[f"`{option.name}`", option.summary, f"`{option.usage[0]}`" if option.usage else ""]
            for option in options(group)]
    return _table([f"`{group}=`", "what it does", "command"], rows)


TABLES = {
    "config-groups": groups_table,
    "models": models_table,
    "experiments": experiments_table,
    "datasets": datasets_table,
    "hparams-search": lambda: presets_table("hparams_search"),
    "debug": lambda: presets_table("debug"),
}


def block(name: str) -> re.Pattern:
    return re.compile(rf"(<!-- generated: {re.escape(name)} -->)(.*?)(<!-- end generated: {re.escape(name)} -->)",
                      re.DOTALL)


def rendered(text: str) -> tuple[str, list[str]]:
    """README's text with every generated table made anew, and the names of the tables that changed
    (or that README lacks)."""
    changed = []
    for name, make in TABLES.items():
        pattern = block(name)
        match = pattern.search(text)
        if match is None:
            changed.append(f"{name} (no <!-- generated: {name} --> block)")
            continue
        table = f"\n{make()}\n"
        if match.group(2) != table:
            changed.append(name)
            text = text[:match.start(2)] + table + text[match.end(2):]
    return text, changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only say whether README's tables are current")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args()
    text, changed = rendered(args.readme.read_text())
    if args.check:
        if changed:
            print(f"{args.readme}: out of date: {', '.join(changed)}; run python scripts/readme_tables.py")
            return 1
        print(f"{args.readme}: every generated table is current")
        return 0
    missing = [name for name in changed if "no <!--" in name]
    if missing:
        print(f"{args.readme} lacks the blocks of: {', '.join(missing)}", file=sys.stderr)
        return 1
    args.readme.write_text(text)
    print(f"{args.readme}: rewrote {', '.join(changed) or 'nothing (current)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
