"""Evaluation during training (`eval.every=N`): the metrics every N steps and at the end.

    tracker = EvalTracker(task.evaluator(cfg, device) if rank == 0 else None, device, run_dir)
    improved = tracker.evaluate(step, task.evaluated(state, cfg))   # True when best_metric improved

Rank 0 evaluates (the task's evaluator); the others, without one, wait for its verdict. Each evaluation is appended to
<run>/eval.json (with the protocol), and the latest values go to <run>/metrics.json, the file that
sweep summaries and gan-train's objective read (`objective=fid`). The best value so far travels in
the checkpoints, so a resumed run keeps comparing against it.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from gan_cli import distributed
from gan_cli.runs.files import write_json_atomic
from gan_cli.runs.paths import RunPaths
from gan_cli.runs.result_values import is_better


class EvalTracker:
    def __init__(self, evaluator, device, run_dir: Path):
        self.paths = RunPaths(run_dir)
        self.enabled = evaluator is not None
        self.device = device
        self.evaluator = evaluator
        self.best_metric = evaluator.settings.best_metric if evaluator is not None else None
        self.best: dict | None = None      # {"step": N, "<best_metric>": value}
        self.history: list[dict] = []
        self.latest: dict[str, float] = {}

    def state_dict(self) -> dict:
        return {"best": self.best, "history": self.history}

    def load_state_dict(self, state: dict | None) -> None:
        if state:
            self.best = state.get("best")
            self.history = list(state.get("history") or [])

    def evaluate(self, step: int, generator) -> bool:
        """Evaluate `generator` (a Translator for image-to-image models) at `step` (on rank 0); every rank learns whether best_metric improved."""
        improved = False
        if self.enabled:
            values = self.evaluator(generator)
            self.latest = values
            value = values.get(self.best_metric, math.nan)
            if math.isfinite(value) and (self.best is None or self._better(value, self.best[self.best_metric])):
                self.best = {"step": step, self.best_metric: value}
                improved = True
            self.history.append({"step": step, **values})
            self._write(step, values)
        flag = torch.tensor([1.0 if improved else 0.0], device=self.device)
        return bool(distributed.all_reduce_max(flag).item() > 0) if distributed.world_size() > 1 else improved

    def final_values(self) -> dict[str, float]:
        """The last evaluation as eval/<value> (what gan-train returns alongside the losses)."""
        return {f"eval/{name}": value for name, value in self.latest.items()}

    def _better(self, value: float, best: float) -> bool:
        return is_better(self.best_metric, value, best)

    def _write(self, step: int, values: dict[str, float]) -> None:
        metrics = {**values, "eval_step": step}
        if self.best is not None:
            metrics["best"] = dict(self.best)
        write_json_atomic(self.paths.metrics, metrics)
        write_json_atomic(self.paths.eval_history, {
            "protocol": self.evaluator.protocol,
            "settings": {"metrics": list(self.evaluator.settings.metrics), "best_metric": self.best_metric},
            "best": self.best,
            "history": self.history,
        })
