"""Checkpoint files: written atomically, loaded as data (weights_only=True), never code.

What a checkpoint holds is the training state's state_dict() (gan_cli/training/state.py) plus the
format marker and the run's config, so gan-sample, gan-eval and resume need nothing else.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.numbers import DIVERGED_VALUE
from gan_cli.runs.files import link_atomic, write_atomic
from gan_cli.runs.paths import RunPaths

FORMAT = "gan-cli-checkpoint/1"


def save_checkpoint(payload: dict, path) -> Path:
    """Write payload to path atomically (fsynced before the rename)."""
    return write_atomic(path, lambda handle: torch.save(payload, handle), durable=True)


def load_checkpoint(path) -> dict:
    """Load a gan-cli checkpoint on the CPU, as data only."""
    path = Path(path)
    if not path.is_file():
        hint = ""
        if path.is_dir():
            found = sorted(path.rglob("*.pt"))
            hint = f" It is a folder; checkpoints in it: {', '.join(str(p) for p in found[:5]) or 'none'}."
        raise UserError(
            f"ckpt={path} is not a checkpoint file.{hint} Pass the path of a .pt file written by gan-train, "
            f"such as outputs/<run>/checkpoints/last.pt."
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means "not our checkpoint"
        raise UserError(
            f"{path} could not be read as a gan-cli checkpoint ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}). Pass a .pt file written by gan-train; "
            f"a truncated or foreign file cannot be used."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"{path} is not a gan-cli checkpoint (no '{FORMAT}' marker); pass a .pt file written by gan-train.")
    require_keys(payload, ("step", "config"), path)
    if isinstance(payload["step"], bool) or not isinstance(payload["step"], int) or payload["step"] < 0 \
            or not isinstance(payload["config"], dict):
        raise UserError(f"{path} is damaged: its step ({payload['step']!r}) or its config is not what gan-train "
                        f"writes. Use another checkpoint of the run (checkpoints/step_*.pt).")
    return payload


def require_keys(checkpoint: dict, keys, path) -> None:
    """A checkpoint with the format marker but without the parts a use needs is refused by name."""
    missing = [key for key in keys if checkpoint.get(key) is None]
    if missing:
        raise UserError(f"{path} carries the gan-cli marker but lacks {', '.join(repr(k) for k in missing)}: it is "
                        f"incomplete or was not written by gan-train. Use another checkpoint of the run "
                        f"(checkpoints/step_*.pt).")


def load_weights(module, weights, key: str, path) -> None:
    """module.load_state_dict(weights), with a clean error when they do not fit its architecture, or
    when they are NaN, infinite or diverged (a crafted file, or one written before gan-cli checked)."""
    try:
        module.load_state_dict(weights)
    except (RuntimeError, ValueError, TypeError, KeyError, AttributeError) as error:
        first = str(error).strip().splitlines()
        raise UserError(f"{path}: the weights in '{key}' do not fit the {type(module).__name__} its config "
                        f"describes ({first[1].strip() if len(first) > 1 else first[0] if first else type(error).__name__}). "
                        f"The file was altered or mixes two runs; use another checkpoint.") from None
    problems = diverged_parts([(key, module)])
    if problems:
        raise UserError(f"{path} holds a diverged model: {problems[0]} ({HEALTHY}). Neither sampling nor training "
                        f"can use it; use an earlier checkpoint of the run (checkpoints/step_*.pt).")


HEALTHY = "a healthy network holds no NaN or infinity and stays far below these bounds"
# What each kind of tensor is called in a message, and whether it has a bound beyond finiteness.
TENSOR_KINDS = {"weights": "weights", "statistics": "running statistics", "state": "moment estimates"}


def _tensor_groups(part) -> list[tuple[str, list[tuple[str, torch.Tensor]]]]:
    """(kind, [(name, tensor)]) of a module's floating-point parameters and buffers, or of an
    optimizer's state (its moment estimates: finite, but of any size)."""
    if isinstance(part, nn.Module):
        groups = [("weights", list(part.named_parameters())), ("statistics", list(part.named_buffers()))]
    else:
        states = getattr(part, "state", {}).values()  # an optimizer's, per parameter
        groups = [("state", [(f"{name} of parameter {index}", value) for index, state in enumerate(states)
                             for name, value in state.items() if torch.is_tensor(value)])]
    return [(kind, kept) for kind, tensors in groups
            if (kept := [(n, t) for n, t in tensors if t.is_floating_point() and t.numel()])]


@torch.no_grad()
def diverged_parts(parts, weight_bound: float = DIVERGED_VALUE) -> list[str]:
    """What is wrong with the numbers of each (checkpoint key, module or optimizer): NaN or infinite
    values, weights beyond `weight_bound` or running statistics beyond DIVERGED_VALUE. One host
    sync; [] when every number is sane."""
    groups = [(key, kind, tensors) for key, part in parts for kind, tensors in _tensor_groups(part)]
    if not groups:
        return []
    device = groups[0][2][0][1].device
    largest = torch.stack([_largest([t for _, t in tensors], device) for _, _, tensors in groups]).tolist()
    bounds = {"weights": weight_bound, "statistics": DIVERGED_VALUE, "state": math.inf}
    return [_describe(key, kind, tensors, bounds[kind]) for (key, kind, tensors), value in zip(groups, largest)
            if not (math.isfinite(value) and value <= bounds[kind])]


def _largest(tensors: list[torch.Tensor], device) -> torch.Tensor:
    """max |value| over the tensors (NaN if any is NaN), on `device`, without a host sync."""
    return torch.stack([torch.linalg.vector_norm(t.detach(), float("inf")).float().to(device) for t in tensors]).max()


def _describe(key: str, kind: str, tensors, bound: float) -> str:
    """The message part for one bad group, naming its worst tensor (the failure path: syncs freely)."""
    values = {name: float(torch.linalg.vector_norm(t.detach().float(), float("inf"))) for name, t in tensors}
    broken = [name for name, value in values.items() if not math.isfinite(value)]
    if broken:
        return f"the {key}'s {TENSOR_KINDS[kind]} are NaN or infinite ({', '.join(broken[:3])})"
    name = max(values, key=values.get)
    return f"the {key}'s {TENSOR_KINDS[kind]} reach {values[name]:.3g} ({name}), beyond {bound:.0e}"


class CheckpointWriter:
    """Writes checkpoints/step_XXXXXXX.pt and checkpoints/last.pt, keeping the newest `keep` step files."""

    def __init__(self, run_dir, keep: int = 3):
        self.paths = RunPaths(run_dir)
        self.keep = keep
        self.last_path: Path | None = None
        self.last_step: int | None = None

    def save(self, payload: dict, step: int) -> Path:
        step_path = self.paths.step_checkpoint(step)
        save_checkpoint(payload, step_path)
        link_atomic(step_path, self.paths.last_checkpoint)  # a hard link: last.pt costs nothing
        self._prune()
        self.last_path, self.last_step = self.paths.last_checkpoint, step
        return step_path

    def save_best(self, payload: dict) -> Path:
        """checkpoints/best.pt: the state with the best evaluation so far (kept beside last.pt)."""
        return save_checkpoint(payload, self.paths.best_checkpoint)

    def _prune(self) -> None:
        steps = self.paths.step_checkpoints()
        for _, old in steps[: max(0, len(steps) - self.keep)]:
            old.unlink(missing_ok=True)
