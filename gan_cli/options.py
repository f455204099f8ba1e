"""Command options as data: one table per command of its keys, each with a kind, a range or its
choices and a one-line meaning, checked before any work and printed by --help.

A command's table lives beside it (gan_cli/cli/command_options.py for gan-sample, gan-interp, gan-eval and
gan-report; gan_cli/training/train_options.py for gan-train's own keys); this module holds what they
share: the Option record, the check of a value against it, unknown keys with their close match,
missing mandatory values (`???`), and the help text. It imports neither torch nor Hydra, so every
command can check its command line at once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Iterable

from omegaconf import DictConfig, ListConfig, OmegaConf

from gan_cli.errors import UserError
from gan_cli.numbers import RANGES, check_number_range

MISSING = "???"

KINDS = ("int", "float", "bool", "str", "path", "choice", "device", "ints", "seeds", "names", "texts")


@dataclass(frozen=True)
class Option:
    """One key of a command: what it is, what values it takes, what it means."""

    key: str                           # as typed on the command line: n, trainer.steps
    kind: str                          # one of KINDS
    help: str                          # one line: what the key means
    minimum: float | None = None       # int, float, ints, seeds: the smallest value allowed
    maximum: float | None = None       # the largest one
    above: float | None = None         # float: values must be greater than this
    choices: tuple = ()                # choice: the values; names: the names a list may hold
    optional: bool = False             # null is allowed (its meaning is in help)
    auto: bool = False                 # the word auto is allowed (its meaning is in help)
    min_length: int = 0                # ints, seeds, names given as a list: at least this many
    comma_separated: bool = False      # names: 'a,b' is the list [a, b]
    example: str | None = None         # a typical KEY=VALUE, said when a required value is missing
    dtype: str | None = None           # what a number becomes (gan_cli.numbers.RANGES): seed, seconds;
                                       # default int64 for whole numbers, float32 for the others

    def __post_init__(self):
        assert self.kind in KINDS, (self.key, self.kind)
        assert (self.kind in ("choice", "names")) == bool(self.choices), self.key
        assert self.dtype is None or self.dtype in RANGES, (self.key, self.dtype)

    @property
    def number_type(self) -> str:
        return self.dtype or ("float32" if self.kind == "float" else "int64")


def table(*options: Option) -> dict[str, Option]:
    """A command's options by key."""
    found = {option.key: option for option in options}
    assert len(found) == len(options), "a key appears twice in an option table"
    return found


# What would be valid: the phrase after "must be".


def _number(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def _bounds(option: Option, low: float | None = None, high: float | None = None) -> str:
    low = option.minimum if low is None else low
    high = option.maximum if high is None else high
    if option.kind in ("int", "ints", "seeds"):
        if high is None:  # (and within what it becomes, gan_cli.numbers, which names its range)
            return f"of at least {_number(low)}" if low is not None else ""
        return f"from {_number(low)} to {_number(high)}" if low is not None else f"of at most {_number(high)}"
    parts = []
    if option.above is not None:
        parts.append(f"above {_number(option.above)}")
    elif low is not None:
        parts.append(f"at least {_number(low)}")
    if high is not None:
        parts.append(f"at most {_number(high)}")
    return " and ".join(parts) or f"within {RANGES[option.number_type][3]}"


def valid_values(option: Option, low: float | None = None, high: float | None = None) -> str:
    """What `option` accepts, as words: 'a whole number from 1 to 100, or null'."""
    kind = option.kind
    if kind == "int":
        text = f"a whole number {_bounds(option, low, high)}".rstrip()
    elif kind == "float":
        text = f"a finite number {_bounds(option, low, high)}"
    elif kind == "bool":
        text = "true or false"
    elif kind == "str":
        text = "a non-empty text"
    elif kind == "path":
        text = "a file or folder path"
    elif kind == "choice":
        text = "one of " + ", ".join(_show(c) for c in option.choices)
    elif kind == "device":
        text = "auto, cpu, cuda or cuda:N"
    elif kind == "texts":
        text = 'a caption or a list of captions, e.g. "a red seven" or ["a red seven","a small blue one"]'
    elif kind == "ints":
        text = f"a list of at least {option.min_length} whole numbers {_bounds(option, low, high)}, e.g. [0,1,2]"
    elif kind == "seeds":
        text = f"a seed or a list of seeds (whole numbers {_bounds(option, low, high)}), e.g. 3 or [1,2,3]"
    else:  # names
        text = (f"a name or a list of names from {', '.join(option.choices)}"
                + (f" (at least {option.min_length})" if option.min_length > 1 else "") + ", e.g. [" +
                ",".join(option.choices[:2]) + "]")
    extras = (["auto"] if option.auto else []) + (["null"] if option.optional else [])
    return text + "".join(f", or {extra}" for extra in extras)


def short_type(option: Option) -> str:
    """The kind and range in a few symbols, for --help: 'int >= 1, or null'."""
    kind, low, high = option.kind, option.minimum, option.maximum
    if kind in ("int", "float", "ints", "seeds"):
        name = {"int": "int", "float": "float", "ints": f"list of >= {option.min_length} ints",
                "seeds": "seed or list of seeds"}[kind]
        bounds = ([f"> {_number(option.above)}"] if option.above is not None else []) + (
            [f">= {_number(low)}"] if low is not None else []) + ([f"<= {_number(high)}"] if high is not None else [])
        text = name + (" " + ", ".join(bounds) if bounds else "")
    elif kind == "choice":
        text = " | ".join(_show(c) for c in option.choices)
    elif kind == "names":
        text = "list of " + " | ".join(option.choices)
    elif kind == "device":
        text = "auto | cpu | cuda | cuda:N"
    elif kind == "texts":
        text = "text or list of texts"
    else:
        text = kind
    extras = (["auto"] if option.auto else []) + (["null"] if option.optional else [])
    return text + "".join(f", or {extra}" for extra in extras)


def _show(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# Checking a value.


def _plain(value):
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _in_range(option: Option, value, low, high) -> bool:
    low = option.minimum if low is None else low
    high = option.maximum if high is None else high
    if option.above is not None and not value > option.above:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def problem(option: Option, value, low: float | None = None, high: float | None = None) -> str | None:
    """Why `value` is not valid for `option` (a few words), or None when it is. low/high narrow the
    table's range where it depends on a checkpoint (crossover, classes). A number beyond what it
    becomes (1e39 for a float32, 2**70 for a seed) raises gan_cli.numbers' paragraph instead."""
    value = _plain(value)
    if value is None:
        return None if option.optional else "is not set"
    if option.auto and value == "auto":
        return None
    kind = option.kind
    if kind == "int":
        if not _is_int(value):
            return "is not a whole number"
        check_number_range(value, option.key, option.number_type)
        return None if _in_range(option, value, low, high) else "is out of range"
    if kind == "float":
        if not _is_number(value):
            return "is not a number"
        check_number_range(value, option.key, option.number_type)  # NaN, infinity, beyond float32
        return None if _in_range(option, value, low, high) else "is out of range"
    if kind == "bool":
        return None if isinstance(value, bool) else "is not true or false"
    if kind in ("str", "path"):
        if not isinstance(value, str):
            return "is not a text" if kind == "str" else "is not a path"
        return None if value.strip() else "is empty"
    if kind == "choice":
        return None if _is_choice(value, option.choices) else "is not one of the choices"
    if kind == "device":
        return None if isinstance(value, str) and re.fullmatch(r"auto|cpu|cuda(:\d+)?", value) else "is not a device"
    if kind == "names":
        return _names_problem(option, value)
    if kind == "texts":  # what a caption may say is the text encoder's vocabulary's to check
        texts = value if isinstance(value, list) else [value]  # a number is a caption too ("7")
        plain = all(isinstance(text, (str, int)) and not isinstance(text, bool) for text in texts)
        return None if texts and plain else "is not a caption or a list of them"
    return _numbers_problem(option, value, low, high)


def _is_choice(value, choices) -> bool:
    # 32 given for the choice "32" is that choice; True is not 1 and 1 is not True.
    return any(type(value) is type(choice) and value == choice for choice in choices) or (
        _is_int(value) and str(value) in choices)


def _names_problem(option: Option, value) -> str | None:
    if isinstance(value, str):
        value = value.split(",") if option.comma_separated else [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "is not a name or a list of names"
    unknown = [v.strip() for v in value if v.strip() not in option.choices]
    if unknown:
        return f"names {', '.join(map(repr, unknown))}, which is not among the choices"
    return "has too few names" if len(value) < max(option.min_length, 1) else None


def _numbers_problem(option: Option, value, low, high) -> str | None:
    if option.kind == "seeds" and _is_int(value):
        value = [value]
    if not isinstance(value, list) or not all(_is_int(v) for v in value):
        return "is not a list of whole numbers" if option.kind == "ints" else "is not a seed or a list of seeds"
    if len(value) < max(option.min_length, 1):
        return "has too few numbers"
    for index, number in enumerate(value):
        check_number_range(number, f"{option.key}[{index}]", option.number_type)
    outside = [v for v in value if not _in_range(option, v, low, high)]
    return f"holds {', '.join(map(str, outside))}, out of range" if outside else None


def check_value(option: Option, value, low: float | None = None, high: float | None = None, why: str = "") -> None:
    """Raise a UserError naming the key, the value and what would be valid, unless `value` is valid.
    `why` says where a range narrowed by low/high comes from (this checkpoint's generator...)."""
    reason = problem(option, value, low, high)
    if reason is None:
        return
    shown = _plain(value)
    shown = _show(shown) if shown is None or isinstance(shown, bool) else repr(shown)
    raise UserError(f"{option.key}={shown} {reason}: {option.key} must be {valid_values(option, low, high)}{why}. "
                    f"{option.key}: {option.help}.")


def check_options(cfg, options: dict[str, Option]) -> None:
    """Every key of the table that `cfg` holds, checked; a key of the table absent from it is an error
    (it was removed with ~KEY, or an old config lacks it)."""
    for key, option in options.items():
        node, name = _parent(cfg, key)
        if node is None:
            raise UserError(f"{key} is not in the config: give it a value, {option.example or key + '=VALUE'} "
                            f"({valid_values(option)}). {key}: {option.help}.")
        if OmegaConf.is_missing(node, name):
            continue  # check_missing_values names it with an example
        check_value(option, node[name])


def _parent(cfg, key: str):
    *path, name = key.split(".")
    node = cfg
    for part in path:
        node = node.get(part) if isinstance(node, DictConfig) else None
        if node is None:
            return None, name
    # `name in node` is False for a ??? value; keys() holds it.
    return (node, name) if isinstance(node, DictConfig) and name in node.keys() else (None, name)


# Unknown keys and missing values.


def close_match(key: str, known: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    if not found and "." in key:  # a typo in the last part: trainer.stepz -> trainer.steps
        head, _, tail = key.rpartition(".")
        names = [k.rpartition(".")[2] for k in known if k.rpartition(".")[0] == head]
        found = [f"{head}.{name}" for name in difflib.get_close_matches(tail, names, n=1, cutoff=0.5)]
    return found[0] if found else None


def unknown_key_error(key: str, command: str, options: dict[str, Option], free: tuple[str, ...] = (),
                      groups: tuple[str, ...] = ()) -> UserError:
    """The paragraph for a key the command does not have: its close match, else every key."""
    known = [*options, *free, *groups]
    match = close_match(key, known)
    if match is not None:
        meaning = f" {match}: {options[match].help}." if match in options else ""
        hint = f"did you mean {match}?{meaning}"
    else:
        hint = f"its keys are {_key_summary(options, free, groups)}."
    return UserError(f"{key} is not a key of {command}; {hint} {command} --help lists every key with its meaning "
                     f"and range.")


def _key_summary(options: dict[str, Option], free: tuple[str, ...], groups: tuple[str, ...]) -> str:
    """Every key, or for a long table its nodes (trainer.*, eval.*), the free nodes and the groups."""
    names = list(options) if len(options) <= 25 else \
        [key.split(".")[0] + (".*" if "." in key else "") for key in options]
    names += [f"{name}.*" for name in free] + [f"{name}=OPTION" for name in groups if name not in free]
    return ", ".join(dict.fromkeys(names))


def check_known_keys(cfg: DictConfig, command: str, options: dict[str, Option], free: tuple[str, ...] = ()) -> None:
    """No key in `cfg` that the command does not know (one added with +KEY=VALUE, say). free: the
    top-level nodes the table leaves alone (gan-train's config groups model, data, loss, optim)."""
    for name in cfg:
        name = str(name)
        if name in free:
            continue
        node = cfg._get_node(name)
        keys = _leaf_keys(node, name) if _is_plain_dict(node) else [name]
        for key in keys:
            if key not in options:
                raise unknown_key_error(key, command, options, free)


def _is_plain_dict(node) -> bool:
    return isinstance(node, DictConfig) and not (node._is_missing() or node._is_none() or node._is_interpolation())


def _leaf_keys(node: DictConfig, prefix: str) -> list[str]:
    keys = []
    for name in node:
        child, path = node._get_node(name), f"{prefix}.{name}"
        keys.extend((_leaf_keys(child, path) or [path]) if _is_plain_dict(child) else [path])
    return keys


def check_command_line(args: list[str], command: str, options: dict[str, Option], free: tuple[str, ...] = (),
                       groups: tuple[str, ...] = ()) -> None:
    """Before Hydra composes anything: each KEY=VALUE names a key of the command. Keys under `free`
    nodes and hydra's are Hydra's to check; `groups` are config groups (GROUP=OPTION)."""
    for arg in args:
        if arg.startswith("-") or ("=" not in arg and not arg.startswith("~")):
            continue
        raw = arg.split("=", 1)[0]
        key = raw.lstrip("+~")
        root = re.split(r"[./]", key, maxsplit=1)[0]
        if root == "hydra" or root in free or key in groups:
            continue
        if key not in options:
            raise unknown_key_error(key, command, options, free, groups)
        if raw.startswith("+") and not raw.startswith("++"):
            raise UserError(f"{arg}: {key} is already a key of {command}, so it takes no +: write "
                            f"{arg.lstrip('+')}. {key}: {options[key].help}.")
        if raw.startswith("~"):
            raise UserError(f"{arg} would remove {key}, which {command} needs; set it instead: "
                            f"{options[key].example or key + '=VALUE'}. {key}: {options[key].help}.")


def missing_values(cfg) -> list[str]:
    """The keys of `cfg` (dotted) whose value is ??? (mandatory, no default), without resolving anything."""
    found = []

    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        elif value == MISSING:
            found.append(path)

    walk(OmegaConf.to_container(cfg, resolve=False), "")
    return found


def check_missing_values(cfg, command: str, examples: dict[str, tuple[str, str]]) -> None:
    """Every mandatory value (???) given, before anything resolves one; else a paragraph naming the
    first missing key with an example. examples: KEY -> (its meaning, a typical KEY=VALUE)."""
    missing = missing_values(cfg)
    if not missing:
        return
    key = missing[0]
    meaning, example = examples.get(key, ("a value its config file leaves to the command line", f"{key}=..."))
    group = key.split(".")[0] if "." in key else None
    chosen = cfg.get(group) if group else None
    name = chosen.get("name") if isinstance(chosen, DictConfig) and "name" in chosen else None
    subject = f"{key} ({meaning}) of {group}={name}" if name else f"{key} ({meaning})"
    choice = f"{group}={name} " if name else ""
    others = f"; also missing: {', '.join(missing[1:])}" if len(missing) > 1 else ""
    raise UserError(f"{key}= is required: {subject} has no default (??? in its config file){others}. Give it on "
                    f"the command line, e.g. {command} {choice}{example}.")


# --help.


def help_lines(options: dict[str, Option], cfg=None) -> list[str]:
    """Two lines per key: KEY and its meaning, then its type, range and default (its value in `cfg`;
    none shown without a cfg)."""
    width = max(len(key) for key in options) + 2
    lines = []
    for key, option in options.items():
        node, name = _parent(cfg, key) if cfg is not None else (None, key)
        if node is None:
            default = ""
        elif OmegaConf.is_missing(node, name):
            default = "; required: no default" + (f", e.g. {option.example}" if option.example else "")
        else:
            default = f"; default: {_yaml(node._get_node(name))}"
        lines.append(f"  {key.ljust(width)}{option.help}")
        lines.append(f"  {'':{width}}{short_type(option)}{default}")
    return lines


def _yaml(node) -> str:
    if isinstance(node, (DictConfig, ListConfig)):
        return str(OmegaConf.to_container(node, resolve=False)).replace("'", "").replace("None", "null")
    value = node._value()
    return value if isinstance(value, str) and value.startswith("${") else _show(value)
