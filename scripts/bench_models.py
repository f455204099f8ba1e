"""Training speed (images/s through D) of each model preset at several resolutions, on one device.

    python scripts/bench_models.py --device cuda --resolutions 64 128       # the GPU figures of the README
    python scripts/bench_models.py --device cpu --resolutions 32 --steps 6  # a quick CPU run

Each model trains on the offline digits upsampled to the resolution, with its preset's batch and
widths (ProGAN at its full resolution from the first step), for --steps steps after --warmup; the
figure is gan-train's own `speed/images_per_sec` of the last interval. Prints one table; --json
writes the figures.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hydra import compose, initialize_config_module

from gan_cli.training.run import train

MODELS = {
    "dcgan": [],
    "sngan": [],
    "stylegan2": [],
    "progan": ["model.images_per_phase=1"],   # fully grown from the start
    "biggan": [],
    "pix2pix": [],
    "cyclegan": [],
}


def speed(model: str, resolution: int, device: str, steps: int, warmup: int, extra) -> float:
    overrides = [f"model={model}", f"trainer.device={device}", f"trainer.steps={warmup + steps}",
                 f"trainer.log_every={steps}", "trainer.sample_every=100000", "trainer.save_checkpoints=false",
                 *MODELS[model], *extra]
    overrides.append(f"data.resolution={resolution}")
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    final = train(cfg, run_dir=Path("outputs/bench_models") / f"{model}_{resolution}")
    return float(final["speed/images_per_sec"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--resolutions", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--steps", type=int, default=20, help="timed steps (one log interval)")
    parser.add_argument("--extra", nargs="*", default=[], help="more overrides, e.g. trainer.precision=bf16")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    figures = {}
    for model in args.models:
        for resolution in args.resolutions:
            # One log interval of warm-up (allocations, cudnn autotuning), then the timed one.
            figures[f"{model}@{resolution}"] = speed(model, resolution, args.device, args.steps, args.steps, args.extra)
            print(f"{model} {resolution}x{resolution}: {figures[f'{model}@{resolution}']:.0f} img/s", flush=True)
    print("| model | " + " | ".join(f"{r}x{r} img/s" for r in args.resolutions) + " |")
    print("|---|" + "---|" * len(args.resolutions))
    for model in args.models:
        print(f"| {model} | " + " | ".join(f"{figures[f'{model}@{r}']:.0f}" for r in args.resolutions) + " |")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
