"""A sweep's summary (gan-report): one table, a row per job, best first; written as summary.csv and summary.md
(summary.csv holds the values as stored, summary.md shows them in the units people read: KID x10^3).

    gan-report multirun/2024-05-01/10-00-00                 sorted by the sweep's objective
    gan-report multirun/my_sweep sort_by=loss/d order=desc

A job is a folder holding a status.json (written by gan-train; see gan_cli/runs/job_record.py). A row has
the job's overrides, its status (finished, failed with the error's first line, interrupted,
running), the steps done, the final losses and any evaluation metrics (metrics.json).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from gan_cli.errors import UserError
from gan_cli.runs.files import write_text_atomic
from gan_cli.runs.paths import (
    STATUS_FILE,
    SUMMARY_CSV,
    SUMMARY_LOCK,
    SUMMARY_MD,
    RunPaths,
)
from gan_cli.runs.result_values import (
    METRIC_DIRECTIONS,
    finite_values,
    higher_is_better,
    read_metrics,
    shown_name,
    shown_value,
)
from gan_cli.runs.status import STATUSES, override_key, override_value, read_status

log = logging.getLogger("gan_cli")

DEFAULT_SORT = "loss/g"
# Logged every interval but not results of a run.
NOT_RESULTS = ("step", "lr/", "speed/")
FIRST_VALUES = ("loss/d", "loss/g", "D/real", "D/fake")


@dataclass
class Summary:
    root: Path
    rows: list[dict]          # best first
    sort_by: str | None       # None: job order (no row has the metric)
    descending: bool
    override_columns: list[str]  # override keys whose values differ between jobs
    value_columns: list[str]     # final values and metrics, the sort key first
    common: list[str]         # overrides shared by every job
    csv_path: Path
    markdown_path: Path
    unranked_because: str = ""   # why the rows are in job order, when they are

    def counts_text(self) -> str:
        counts = Counter(row["status"] for row in self.rows)
        parts = [f"{counts[s]} {s}" for s in STATUSES if counts[s]]
        parts += [f"{n} {s}" for s, n in counts.items() if s not in STATUSES]
        return f"{len(self.rows)} job(s): " + ", ".join(parts)


def find_jobs(root: Path) -> list[Path]:
    """The job folders under root (root itself for a single run), in job order."""
    folders = {path.parent for path in Path(root).rglob(STATUS_FILE)}
    return sorted(folders, key=lambda folder: _natural_key(folder.relative_to(root)))


def _natural_key(relative: Path):
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in relative.parts]


def job_row(root: Path, folder: Path) -> dict:
    status = read_status(folder) or {}
    state = status.get("status") or "unknown"
    step = status.get("step")
    if step is None:
        step = RunPaths(folder).last_checkpoint_step()
    values = {**finite_values(status.get("final") or {}), **read_metrics(folder)}
    return {
        "job": str(folder.relative_to(root)) if folder != root else ".",
        "status": state,
        "step": step,
        "steps": status.get("steps"),
        "overrides": list(status.get("overrides") or []),
        "values": {k: v for k, v in values.items() if not k.startswith(NOT_RESULTS)},
        "error": status.get("error") or "",
        "objective": (status.get("objective") or {}).get("name"),
        "path": str(folder),
    }


# Settings that change what a loss measures: jobs that differ in one of them have incomparable losses.
OBJECTIVE_SETTINGS = ("model", "loss", "experiment", "regularizers", "augment")


def default_sort_key(rows: list[dict], value_names: list[str]) -> tuple[str | None, str]:
    """(the value to rank by, or None; why not, then).

    The sweep's objective when it is an evaluation metric; else an evaluation metric the jobs
    report; else the objective (a loss such as loss/g), but only when every job trains the same
    loss: losses of different objectives are not comparable.
    """
    names = Counter(row["objective"] for row in rows if row["objective"])
    objective = names.most_common(1)[0][0] if names else DEFAULT_SORT
    metrics = [name for name in value_names if name.rsplit("/", 1)[-1].lower() in METRIC_DIRECTIONS]
    if objective in metrics:
        return objective, ""
    if metrics:
        preference = list(METRIC_DIRECTIONS)
        return min(metrics, key=lambda name: preference.index(name.rsplit("/", 1)[-1].lower())), ""
    differing = _differing_objective_settings(rows)
    if differing:
        return None, (f"not ranked: the jobs differ in {', '.join(differing)}, so their losses measure different "
                      f"things; evaluate them (eval.every=N) to rank by a metric, or choose sort_by=")
    return objective, ""


def _override_maps(rows: list[dict]) -> list[dict[str, str]]:
    """Each row's overrides as {key: value}."""
    return [{override_key(o): override_value(o) for o in row["overrides"]} for row in rows]


def _differing_objective_settings(rows: list[dict]) -> list[str]:
    per_row = _override_maps(rows)
    keys = {key for overrides in per_row for key in overrides}
    return sorted(key for key in keys if key.split(".")[0] in OBJECTIVE_SETTINGS
                  and len({overrides.get(key) for overrides in per_row}) > 1)


def build_summary(root, sort_by: str | None = None, order: str | None = None) -> Summary:
    root = _sweep_folder(root)
    rows = [job_row(root, folder) for folder in find_jobs(root)]
    if not rows:
        raise UserError(
            f"{root} holds no gan-train jobs (no {STATUS_FILE} in it or below): pass the folder of a sweep that "
            f"gan-train -m ran, such as multirun/<date>/<time>."
        )
    value_names = _value_columns(rows)
    explicit, unranked_because = sort_by is not None, ""
    if not explicit:
        sort_by, unranked_because = default_sort_key(rows, value_names)
    if sort_by is not None and sort_by not in value_names:
        if explicit and value_names:
            raise UserError(f"sort_by={sort_by} is not a value of these jobs; use one of: {', '.join(value_names)}.")
        sort_by = None
    if order not in (None, "asc", "desc"):
        raise UserError(f"order={order} must be asc or desc.")
    descending = order == "desc" if order else bool(sort_by and higher_is_better(sort_by))
    if sort_by:
        with_value = [row for row in rows if sort_by in row["values"]]
        without = [row for row in rows if sort_by not in row["values"]]
        with_value.sort(key=lambda row: row["values"][sort_by], reverse=descending)  # stable: job order on ties
        rows = with_value + without
        value_names = [sort_by] + [name for name in value_names if name != sort_by]
    varying, common = _split_overrides(rows)
    return Summary(root, rows, sort_by, descending, varying, value_names, common,
                   root / SUMMARY_CSV, root / SUMMARY_MD, unranked_because)


def _sweep_folder(root) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder: pass a sweep's folder, such as multirun/<date>/<time>.")
    return root


def _value_columns(rows: list[dict]) -> list[str]:
    names = {name for row in rows for name in row["values"]}
    return [n for n in FIRST_VALUES if n in names] + sorted(names - set(FIRST_VALUES))


def _split_overrides(rows: list[dict]) -> tuple[list[str], list[str]]:
    """Override keys whose values differ between jobs (table columns), and the overrides all share."""
    per_row = _override_maps(rows)
    keys = list(dict.fromkeys(key for overrides in per_row for key in overrides))
    varying = [k for k in keys if len({overrides.get(k) for overrides in per_row}) > 1]
    common = [f"{k}={per_row[0][k]}" for k in keys if k not in varying and not k.startswith("hydra.")]
    for row, overrides in zip(rows, per_row):
        row["settings"] = {k: overrides.get(k, "") for k in varying}
    return varying, common


def write_summary(root, sort_by: str | None = None, order: str | None = None) -> Summary:
    """Build the summary of the jobs under root and write summary.csv and summary.md there."""
    root = _sweep_folder(root)
    with _locked(root):  # parallel jobs finish at once; the last rebuild must see every status
        summary = build_summary(root, sort_by, order)
        write_text_atomic(summary.csv_path, to_csv(summary))
        write_text_atomic(summary.markdown_path, to_markdown(summary))
    return summary


def to_csv(summary: Summary) -> str:
    varying, values = summary.override_columns, summary.value_columns
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rank", "job", "status", "step", "steps", *varying, *values, "error", "overrides", "path"])
    for rank, row in enumerate(summary.rows, 1):
        writer.writerow([
            rank, row["job"], row["status"], _blank(row["step"]), _blank(row["steps"]),
            *(row["settings"][k] for k in varying), *(_blank(row["values"].get(k)) for k in values),
            row["error"], " ".join(row["overrides"]), row["path"],
        ])
    return out.getvalue()


def to_markdown(summary: Summary) -> str:
    varying, values = summary.override_columns, summary.value_columns
    if summary.sort_by:
        order = f"sorted by {summary.sort_by}, {'higher' if summary.descending else 'lower'} first"
    else:
        order = "in job order" + (f" ({summary.unranked_because})" if summary.unranked_because else "")
    lines = [f"# Sweep summary: {summary.root}", "", f"{summary.counts_text()}; {order}.", ""]
    if summary.common:
        lines += ["Every job: `" + " ".join(summary.common) + "`", ""]
    best = _optuna_best(summary.root)
    if best:
        lines += [best, ""]
    header = ["#", "job", "status", "step", *varying, *map(shown_name, values), "error"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for rank, row in enumerate(summary.rows, 1):
        steps = f"{_blank(row['step'])}/{row['steps']}" if row["steps"] else _blank(row["step"])
        cells = [str(rank), row["job"], row["status"], steps, *(row["settings"][k] for k in varying),
                 *(_number(row["values"].get(k), k) for k in values), _shorten(row["error"])]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", f"TensorBoard (scalars, and each run's hyperparameters under HPARAMS): "
                  f"tensorboard --logdir {summary.root}", ""]
    return "\n".join(lines)


def _optuna_best(root: Path) -> str | None:
    path = root / "optimization_results.yaml"  # written by hydra-optuna-sweeper when a search ends
    if not path.is_file():
        return None
    results = OmegaConf.to_container(OmegaConf.load(path))
    if "best_value" not in results:
        return None
    params = " ".join(f"{k}={v}" for k, v in (results.get("best_params") or {}).items())
    return f"Optuna's best trial: {results['best_value']:.4g} with `{params}`."


def _blank(value) -> str:
    return "" if value is None else str(value)


def _number(value, name: str) -> str:
    return "" if value is None else f"{shown_value(name, value):.4g}"


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextlib.contextmanager
def _locked(root: Path):
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (a later rebuild or gan-report fixes a stale summary)
        yield
        return
    with open(root / SUMMARY_LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def rebuild_summary(sweep_dir: Path) -> None:
    """Rewrite a sweep's summary after a job; a summary is a convenience, never a reason to fail."""
    try:
        summary = write_summary(sweep_dir)
    except UserError as error:  # e.g. no job wrote a status yet
        log.debug(f"no sweep summary: {error}")
        return
    except OSError as error:
        log.warning(f"Could not write the sweep summary in {sweep_dir}: {error}")
        return
    log.info(f"Sweep summary ({summary.counts_text()}): {summary.markdown_path}")
