"""A run's result values: which are better when higher, how they are shown, and reading <run>/metrics.json.

METRIC_DIRECTIONS is the one table of directions: gan-train's best checkpoint (eval.best_metric)
and gan-report's sort order both read it. SHOWN_SCALES is the one table of units: a value is stored
in its estimator's own units (the JSON reports, metrics.json, eval.json, TensorBoard, summary.csv,
the objective), and shown to people in the unit papers use, named in its label (gan-eval's printout,
gan-train's `eval at step` line, summary.md and gan-report): KID x10^3.
"""

from __future__ import annotations

import json
import math

from gan_cli.runs.paths import RunPaths

HIGHER, LOWER = "higher", "lower"
# Matched on the last part of a name (eval/fid -> fid). Names not listed (losses) sort lower-first.
METRIC_DIRECTIONS = {
    "fid": LOWER,
    "kid": LOWER,
    "kid_std": LOWER,
    "is": HIGHER,
    "inception_score": HIGHER,
    "is_std": LOWER,
    "precision": HIGHER,
    "recall": HIGHER,
    "density": HIGHER,
    "coverage": HIGHER,
    "class_coverage": HIGHER,
    "class_kl": LOWER,
    "modes": HIGHER,
    "high_quality": HIGHER,
    "reverse_kl": LOWER,
    "psnr": HIGHER,
    "ssim": HIGHER,
    "l1": LOWER,
    "label_accuracy": HIGHER,
    "mel_l1": LOWER,
    "mrstft": LOWER,
    "pesq": HIGHER,
    "stoi": HIGHER,
    "rtf": LOWER,
    "digit_accuracy": HIGHER,
    "colour_accuracy": HIGHER,
    "background_accuracy": HIGHER,
    "size_accuracy": HIGHER,
    "position_accuracy": HIGHER,
    "attributes_right": HIGHER,
    "r_precision": HIGHER,
}


# Matched like the directions: the factor a shown value is multiplied by, and its unit.
SHOWN_SCALES = {
    "kid": (1e3, "x10^3"),
    "kid_std": (1e3, "x10^3"),
}


def _scale(name: str) -> tuple[float, str] | None:
    return SHOWN_SCALES.get(name.rsplit("/", 1)[-1].lower())


def shown_name(name: str) -> str:
    """A value's name as people read it: with its unit when it is shown scaled (kid -> kid (x10^3))."""
    scale = _scale(name)
    return f"{name} ({scale[1]})" if scale else name


def shown_value(name: str, value: float) -> float:
    """A stored value in the unit its shown name says."""
    scale = _scale(name)
    return value * scale[0] if scale else value


def higher_is_better(name: str) -> bool:
    return METRIC_DIRECTIONS.get(name.rsplit("/", 1)[-1].lower()) == HIGHER


def is_better(name: str, value: float, than: float) -> bool:
    return value > than if higher_is_better(name) else value < than


def finite_values(values: dict) -> dict[str, float]:
    """The numbers among values (nested dicts flattened with '/'), as floats; NaN and inf kept out."""
    flat: dict[str, float] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update({f"{key}/{k}": v for k, v in finite_values(value).items()})
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            flat[str(key)] = float(value)
    return flat


def read_metrics(run_dir) -> dict[str, float]:
    """Evaluation results the run wrote to metrics.json, flattened; {} when there are none."""
    try:
        metrics = json.loads(RunPaths(run_dir).metrics.read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return {}
    return finite_values(metrics) if isinstance(metrics, dict) else {}
