"""gan-sample: draw samples from a checkpoint as a grid PNG (and optionally one file each)."""

from __future__ import annotations

from pathlib import Path

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from gan_cli import visuals
from gan_cli.errors import UserError, exit_with
from gan_cli.generate import LatentSpec, generate, load_generator
from gan_cli.validation import resolve_device


def default_output(ckpt, name: str) -> Path:
    """<run>/samples/<name> for a checkpoint at <run>/checkpoints/x.pt."""
    ckpt = Path(ckpt)
    run_dir = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    return run_dir / "samples" / name


def sample_to_files(ckpt, n: int = 64, seed: int = 0, out=None, nrow=None, individual: bool = False,
                    ema: bool = True, device="cpu", label: int | None = None) -> list[Path]:
    """Write n samples; return the paths written (the grid or scatter plot first).

    A conditional model makes class `label`, or without it one grid row per class."""
    if not isinstance(n, int) or n < 1:
        raise UserError(f"n={n!r} must be a positive whole number of samples.")
    generator, checkpoint = load_generator(ckpt, use_ema=ema, device=device)
    z, labels, rows_nrow = LatentSpec(checkpoint["config"]).inputs(n, seed, label)
    samples = generate(generator, z, labels)
    nrow = nrow or rows_nrow
    name = f"sample_seed{seed}_n{n}" + (f"_label{label}" if label is not None else "")
    out = Path(out) if out else default_output(ckpt, f"{name}.png")
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError(f"out={out} must end in .png or .jpg (the grid image).")
    if samples.ndim == 2:  # 2-D points: a scatter plot and the raw values
        raw = out.with_suffix(".npy")
        raw.parent.mkdir(parents=True, exist_ok=True)
        np.save(raw, samples.numpy())
        title = f"{n} samples, seed {seed}, step {checkpoint['step']}"
        return [visuals.save_scatter(samples, out, title=title), raw]
    written = [visuals.save_grid(samples, out, nrow)]
    if individual:
        written += visuals.save_images(samples, out.with_suffix(""), prefix=f"seed{seed}_")
    return written


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="sample")
def main(cfg: DictConfig) -> None:
    try:
        if OmegaConf.is_missing(cfg, "ckpt"):
            raise UserError("ckpt= is required: the path of a checkpoint written by gan-train, e.g. "
                            "ckpt=outputs/<run>/checkpoints/last.pt.")
        paths = sample_to_files(cfg.ckpt, cfg.n, cfg.seed, cfg.out, cfg.nrow, cfg.individual, cfg.ema,
                                resolve_device(cfg.device), label=cfg.label)
    except UserError as error:
        exit_with(error)
    print(f"wrote {paths[0]}" + (f" and {len(paths) - 1} more file(s) in {paths[1].parent}" if len(paths) > 1 else ""))


if __name__ == "__main__":
    main()
