"""The 2-D mode-collapse benchmark: train presets on data=ring and data=grid, several seeds each, and
print modes captured / high-quality % / reverse KL (mean ± std) beside the published numbers.

    python scripts/bench_modes.py -o grid:optim.lr=2e-3               # the README table (pacgan2d)
    python scripts/bench_modes.py --presets gan --seeds 1 --jobs 2  # a quick look
    python scripts/bench_modes.py --presets pacgan2d --data grid -o trainer.steps=1000

A preset is a model config (conf/model/<name>.yaml); `-o key=value` adds an override to every run,
`-o grid:key=value` to the runs on one dataset.
Each run trains through gan_cli.training.run.train() on one CPU thread, then evaluates its last checkpoint
with the VEEGAN/PacGAN protocol (2,500 samples, high quality within 3 std of the nearest mode).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path

# Lin et al. 2018 (PacGAN), Table 1: modes, high-quality %, reverse KL (means over 10 trials).
PUBLISHED = {
    "grid": [("GAN", 17.3, 94.8, 0.70), ("ALI", 24.1, 95.7, 0.14), ("PacGAN4", 24.8, 93.6, 0.04)],
    "ring": [("GAN", 6.3, 98.2, 0.45), ("PacGAN2", 7.9, 95.6, 0.07)],
}
EVAL_SEED = 1234  # latents of the 2,500 evaluation samples


def run_one(job: dict) -> dict:
    """Train one (preset, data, seed) on one CPU thread and evaluate its last checkpoint."""
    import torch
    from hydra import compose, initialize_config_module

    from gan_cli.data import build_mixture
    from gan_cli.eval.mode_metrics import NUM_SAMPLES, mode_metrics
    from gan_cli.inference.loading import load_generator
    from gan_cli.inference.sampling import batch_latents, generate
    from gan_cli.training.run import train

    torch.set_num_threads(1)
    overrides = [
        f"model={job['preset']}", f"data={job['data']}", f"trainer.seed={job['seed']}", "trainer.device=cpu",
        *job["overrides"],
    ]
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides)
    # One scatter plot and one checkpoint at the end: the benchmark times training, not plotting.
    steps = cfg.trainer.steps
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=overrides + [
            f"trainer.sample_every={steps}", f"trainer.log_every={min(1000, steps)}",
            f"trainer.checkpoint_every={steps}",
        ])
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        train(cfg, run_dir=run_dir)
        seconds = time.perf_counter() - started
        generator, _ = load_generator(Path(run_dir) / "checkpoints" / "last.pt")
        points = generate(generator, batch_latents(NUM_SAMPLES, generator.latent_dim, EVAL_SEED))
    metrics = mode_metrics(points, build_mixture(cfg.data))
    result = {**job, **metrics, "seconds": seconds, "steps": steps}
    print(json.dumps(result), flush=True)
    return result


def mean_std(values: list[float], digits: int = 2) -> str:
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {std:.{digits}f}"


def table(results: list[dict], data_names: list[str]) -> str:
    lines = [
        "| data | preset | modes | high quality % | reverse KL | minutes / run |",
        "|---|---|---|---|---|---|",
    ]
    for data in data_names:
        for name, modes, quality, kl in PUBLISHED.get(data, []):
            lines.append(f"| {data} | {name} (published) | {modes} | {quality} | {kl} | |")
        presets = dict.fromkeys(r["preset"] for r in results if r["data"] == data)
        for preset in presets:
            runs = [r for r in results if r["data"] == data and r["preset"] == preset]
            lines.append(
                f"| {data} | **{preset}** ({len(runs)} seeds) | {mean_std([r['modes'] for r in runs])} "
                f"| {mean_std([100 * r['high_quality'] for r in runs])} | {mean_std([r['reverse_kl'] for r in runs], 4)} "
                f"| {statistics.mean(r['seconds'] for r in runs) / 60:.1f} |"
            )
    return "\n".join(lines)


def overrides_for(data: str, overrides: list[str]) -> list[str]:
    """The overrides that apply to one dataset: plain ones and those written `data:key=value`."""
    chosen = []
    for override in overrides:
        prefix, _, rest = override.partition(":")
        if not rest or "=" in prefix:
            chosen.append(override)
        elif prefix == data:
            chosen.append(rest)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default="pacgan2d", help="model configs, comma-separated")
    parser.add_argument("--data", default="ring,grid", help="mixtures, comma-separated")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per preset and dataset")
    parser.add_argument("--jobs", type=int, default=2, help="runs in parallel, one CPU thread each")
    parser.add_argument("-o", "--override", action="append", default=[],
                        help="a Hydra override for every run, or DATA:override for the runs on one dataset")
    parser.add_argument("--json", type=Path, help="also write every run's result here")
    args = parser.parse_args()

    data_names = args.data.split(",")
    jobs = [
        {"preset": preset, "data": data, "seed": seed, "overrides": overrides_for(data, args.override)}
        for preset in args.presets.split(",") for data in data_names for seed in range(args.seeds)
    ]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(args.jobs, maxtasksperchild=1) as pool:
        results = pool.map(run_one, jobs, chunksize=1)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print()
    print(table(results, data_names))
    print(f"\n{len(jobs)} runs, {args.jobs} in parallel, {(time.perf_counter() - started) / 60:.1f} minutes in all.")


if __name__ == "__main__":
    main()
