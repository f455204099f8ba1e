"""The audio quality table: each noise -> waveform preset's default run (`gan-train model=<name>`), its CPU
minutes, and WaveGAN's SC09 protocol on the shipped spoken-digits classifier, the real clips beside it.

    python scripts/bench_audio.py                                 # wavegan and specgan, one after another
    python scripts/bench_audio.py --models specgan --set trainer.steps=2000     # a probe
    python scripts/bench_audio.py --models specgan --ckpt outputs/<run>/checkpoints/last.pt   # judge a run
    python scripts/bench_audio.py --table                         # the table of the results written so far

Each run is on one CPU thread (torch.set_num_threads(1)), so its CPU time is what one core spends and two
copies can run side by side. Then 2,000 clips from seeded latents are judged by the classifier (16 kHz
log-mel CNN trained on the training voices, 100% on the held-out voices): the Inception score (of 10),
the Fréchet distance of its 128-d features to the training clips', the share of clips it reads as one
digit with probability >= 0.9 ("confident"), and the digits drawn at all (of 10); the same protocol on
2,000 clips of the held-out voices (the test split, never heard in training) is the reference row. A spectrogram grid of 16 clips goes to docs/images/quality/.

Results go to <out>/<model>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf, open_dict
from readme_tables import record_default_run

from gan_cli.data import DataSource, real_samples
from gan_cli.eval.evaluator import Evaluator
from gan_cli.inference.audio_output import save_clips, waveform_sampler
from gan_cli.inference.loading import generator_of
from gan_cli.inference.sampling import generate
from gan_cli.latent_layout import LatentLayout
from gan_cli.runs.config import read_checkpoint
from gan_cli.training.run import train

MODELS = ["wavegan", "specgan"]
ROOT = Path(__file__).resolve().parent.parent


def config(overrides):
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


def judge(ckpt: Path, images: Path | None, model: str) -> dict:
    read = read_checkpoint(ckpt)
    generator = waveform_sampler(generator_of(read.checkpoint, read.config, read.path, True, "cpu"))
    evaluator = Evaluator.of_config(read.config)
    values = evaluator(generator)
    # The reference row: clips of the held-out voices (the test split), which the training never heard.
    test_cfg = OmegaConf.create(OmegaConf.to_container(read.config.data, resolve=True))
    with open_dict(test_cfg):
        test_cfg.dataset.split = "test"
    test = DataSource(test_cfg)
    count = min(evaluator.num_generated, len(test))
    real = evaluator.image_metrics(real_samples(test, count, seed=evaluator.settings.seed))
    if images is not None:
        z, labels, _ = LatentLayout.from_config(read.config).grid(16, 0)
        save_clips(generate(generator, z, labels), int(read.config.data.sample_rate), images / f"{model}.png")
    return {"values": values, "real_data": real, "real_samples": count, "step": read.checkpoint.get("step")}


def run(model: str, overrides, out: Path, images: Path | None, ckpt: Path | None) -> dict:
    result = {"model": model, "overrides": list(overrides)}
    if ckpt is None:
        run_dir = out / "runs" / model
        cfg = config([f"model={model}", "trainer.device=cpu", *overrides])
        start = time.process_time()
        train(cfg, run_dir=run_dir)
        result["cpu_minutes"] = (time.process_time() - start) / 60
        result["steps"] = int(cfg.trainer.steps)
        if not overrides:  # the default run itself: README's models table gives its CPU minutes
            record_default_run(model, result["steps"], int(cfg.data.batch_size), result["cpu_minutes"])
        ckpt = run_dir / "checkpoints" / "last.pt"
    result["checkpoint"] = str(ckpt)
    result.update(judge(ckpt, images, model))
    (out / f"{model}.json").write_text(json.dumps(result, indent=1))
    return result


def row(result: dict) -> str:
    v, r = result["values"], result["real_data"]
    minutes = f"{result['cpu_minutes']:.1f}" if "cpu_minutes" in result else "-"
    return (f"| `{result['model']}` | {result['step']} | {minutes} | {v['is']:.2f} ({r['is']:.2f}) | "
            f"{v['fid']:.1f} ({r['fid']:.1f}) | {v['confident']:.1%} ({r['confident']:.1%}) | "
            f"{round(v['class_coverage'] * 10)}/10 |")


def table(out: Path) -> str:
    lines = ["| model | steps | CPU min | IS (real) | FD (real) | confident (real) | digits drawn |",
             "|---|---|---|---|---|---|---|"]
    for model in MODELS:
        path = out / f"{model}.json"
        if path.is_file():
            lines.append(row(json.loads(path.read_text())))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run")
    parser.add_argument("--ckpt", type=Path, help="judge this checkpoint instead of training (one model)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench_audio")
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images" / "quality")
    parser.add_argument("--table", action="store_true", help="print the table of the results so far")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.table:
        print(table(args.out))
        return
    torch.set_num_threads(1)
    for model in args.models:
        result = run(model, args.set, args.out, args.images, args.ckpt)
        print(row(result), flush=True)
    print(table(args.out))


if __name__ == "__main__":
    main()
