"""A StackGAN Stage-II run's Stage-I generator: read from model.stage1_ckpt, checked to fit, frozen in.

The file is read like every checkpoint (gan_cli/runs/checkpoints.py: weights only, allow-listed
config); it must be a Stage-I run of the same model family, text encoder, latent and code sizes, with
its images at the size Stage II refines (data.resolution / model.scale), or it is refused by name.
"""

from __future__ import annotations

from pathlib import Path

from gan_cli.errors import UserError
from gan_cli.runs.checkpoints import load_weights, require_keys
from gan_cli.runs.config import read_checkpoint

PREFIX = "stage_one."  # a Stage-I generator's weights, and where a Stage-II generator holds them


def _setting(model, key: str):
    value = model.get(key)
    return None if value is None else str(value)


def load_stage_one(generator, model, data) -> Path:
    """Copy the Stage-I weights of model.stage1_ckpt into `generator.stage_one`; the file's path."""
    path = Path(str(model.stage1_ckpt)).expanduser()
    key = "model.stage1_ckpt"
    if not path.is_file():
        raise UserError(f"{key}={path} is not a file: pass the checkpoint of a Stage-I run "
                        f"(gan-train model=stackgan writes outputs/<run>/checkpoints/last.pt).")
    read = read_checkpoint(path)
    theirs = read.config.model
    if str(theirs.name) != str(model.name) or theirs.get("stage") != 1:
        what = f"model={theirs.name}" + (f" model.stage={theirs.get('stage')}" if theirs.get("stage") else "")
        raise UserError(f"{key}={path} holds {what}, not a Stage-I {model.name} run: Stage II refines the images "
                        f"of a Stage-I generator; pass the checkpoint of `gan-train model={model.name} model.stage=1`.")
    low = int(data.resolution) // int(model.scale)
    problems = [f"model.{name}={_setting(theirs, name)} (this run: {_setting(model, name)})"
                for name in ("text_encoder", "latent_dim", "c_dim", "text_dim", "stage_one_width")
                if _setting(theirs, name) != _setting(model, name)]
    if int(read.config.data.resolution) != low:
        problems.append(f"images of {read.config.data.resolution}x{read.config.data.resolution} (Stage II at "
                        f"data.resolution={data.resolution} with model.scale={model.scale} refines {low}x{low})")
    if int(read.config.data.channels) != int(data.channels):
        problems.append(f"{read.config.data.channels} channels (this run: {data.channels})")
    if problems:
        raise UserError(f"{key}={path} does not fit this Stage-II run: its Stage I has " + "; ".join(problems)
                        + ". Train Stage I with the same settings, or set these to match it.")
    require_keys(read.checkpoint, ("generator",), path)
    weights = {name[len(PREFIX):]: tensor for name, tensor in read.checkpoint["generator"].items()
               if name.startswith(PREFIX)}
    load_weights(generator.stage_one, weights, "generator", path)
    return path
