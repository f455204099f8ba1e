"""What the config files under conf/ offer, read as data: every option of every config group, its
summary (the first sentence of the file's header comment), and for models and data the task they
belong to and (models) the data they train on by default.

    for entry in options("model"): entry.name, entry.summary, entry.task, entry.default_data

It reads the YAML files themselves (no Hydra composition, no torch), so gan-train --help lists the
models from it at once, and scripts/readme_tables.py builds README's tables from it: a config added,
renamed or described anew shows up in both without anyone editing a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

GROUPS = ("model", "data", "loss", "optim", "trainer", "experiment", "hparams_search", "debug")

# The end of a sentence: a full stop before a capital letter (not "et al. 2017", "e.g. 10"), or the end.
_SENTENCE_END = re.compile(r"(?<!\.)\.(?!\.)(?=\s+[A-Z(`\"]|\s*$)")


@dataclass(frozen=True)
class ConfigOption:
    group: str
    name: str
    header: str          # the file's leading comment, as one paragraph per blank-comment-separated block
    task: str | None     # model and data: the task the config names (None: the default task)
    default_data: str | None  # model: the data config it trains on by default
    usage: tuple[str, ...] = ()  # the header's example command lines ("gan-train experiment=...")

    @property
    def summary(self) -> str:
        """The header's first sentence, its full stop kept."""
        first = self.header.split("\n\n", 1)[0]
        match = _SENTENCE_END.search(first)
        return first[:match.end()].strip() if match else first.strip()

    @property
    def title(self) -> str:
        """What the summary names before its colon: the paper, as "DCGAN (Radford 2016)"."""
        return self.summary.split(": ", 1)[0].rstrip(".")


def conf_root() -> Path:
    """The installed configs (gan_cli.conf, the top-level conf/ of the source tree)."""
    return Path(str(resources.files("gan_cli.conf")))


@lru_cache(maxsize=None)
def options(group: str) -> tuple[ConfigOption, ...]:
    """Every option of a config group, by name."""
    folder = conf_root() / group
    return tuple(_read(group, path) for path in sorted(folder.glob("*.yaml")))


def option_names(group: str) -> list[str]:
    return [option.name for option in options(group)]


@lru_cache(maxsize=None)
def default_option(group: str) -> str | None:
    """The option train.yaml's defaults list picks for a group (data: digits)."""
    for entry in _load((conf_root() / "train.yaml").read_text()).get("defaults", []):
        if isinstance(entry, dict) and group in entry:
            return entry[group]
    return None


def _read(group: str, path: Path) -> ConfigOption:
    text = path.read_text()
    header, usage = _header(text)
    task = default_data = None
    if group in ("model", "data"):
        node = _load(text) or {}
        body = node.get("model") if group == "model" else node
        task = str(body["task"]) if isinstance(body, dict) and body.get("task") else None
    if group == "model":  # the data its defaults list overrides, else train.yaml's
        overrides = [entry["override /data"] for entry in node.get("defaults", [])
                     if isinstance(entry, dict) and "override /data" in entry]
        default_data = overrides[0] if overrides else default_option("data")
    return ConfigOption(group, path.stem, header, task, default_data, usage)


def _load(text: str):
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml's when built with it


def _header(text: str) -> tuple[str, tuple[str, ...]]:
    """The leading comment lines (the @package line left out) joined into paragraphs, and the command
    lines among them (a line of its own that starts with gan-train)."""
    paragraphs, lines, usage = [], [], []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        content = line.lstrip("#").strip()
        if content.startswith("@package"):
            continue
        if content.startswith("gan-train "):
            usage.append(content)
        # An indented line (a command, a list's item) is a block of its own, out of the sentences' flow.
        if not content or content.startswith("gan-train ") or line.startswith("#   "):
            if lines:
                paragraphs.append(" ".join(lines))
            lines = []
            continue
        lines.append(content)
    if lines:
        paragraphs.append(" ".join(lines))
    return "\n\n".join(paragraphs), tuple(usage)
