"""The text-to-image table: StackGAN's default Stage-I run (`gan-train model=stackgan`), its Stage-II run
from that checkpoint at twice the resolution, and the paper's ablation (no conditioning augmentation),
each with its CPU minutes and its images judged against held-out captions, the real images beside them.

    python scripts/bench_text_to_image.py                       # stage 1, stage 2, the ablation
    python scripts/bench_text_to_image.py --runs stage1 --set trainer.steps=500    # a probe
    python scripts/bench_text_to_image.py --table               # the table of the results written so far

Each run is on one CPU thread (torch.set_num_threads(1)), so its CPU time is what one core spends. Then
gan-eval's protocol (gan_cli/eval/text_metrics.py): one image per held-out caption (2,000, the 500
held-out images' captions in turn), seeded; FID on the shipped captioned-digits classifier's features
against the training images; the share of images whose digit the classifier reads as the caption's,
whose digit and background colours and size pixel statistics read as the caption's, all four at once
("attributes right"); and R-precision (the caption ranked first among 100 by the shipped text encoder).
The held-out images with their own captions are the reference row. A captioned grid of each run goes
to docs/images/quality/stackgan_<run>.png.

Results go to <out>/<run>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from readme_tables import record_default_run

from gan_cli.tasks import load_for_task
from gan_cli.tasks.text_to_image import PREVIEW_CAPTIONS, heldout_captions
from gan_cli.training.run import train

ROOT = Path(__file__).resolve().parent.parent
RUNS = {
    "stage1": [],
    "stage2": ["model.stage=2", "data.resolution=32", "trainer.steps=1500", "model.stage1_ckpt={stage1}"],
    "no_augmentation": ["model.conditioning_augmentation=false"],
}
SHOWN = ("fid", "digit_accuracy", "colour_accuracy", "background_accuracy", "size_accuracy", "attributes_right",
         "r_precision")


def config(overrides):
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        return compose(config_name="train", overrides=["model=stackgan", "trainer.device=cpu", *overrides])


def judge(ckpt: Path, images: Path | None, name: str) -> dict:
    from gan_cli.data import DataSource
    from gan_cli.eval.evaluator import eval_request
    from gan_cli.eval.text_metrics import CaptionEvaluator
    from gan_cli.inference.caption_images import write_caption_grid
    from gan_cli.tasks.text_to_image import text_encoder

    loaded = load_for_task(ckpt)
    drawer = loaded.task.drawer(loaded, "cpu")
    evaluator = CaptionEvaluator(DataSource(loaded.config.data), eval_request(loaded.config),
                                 text_encoder(loaded.config.model), drawer.latent_dim)
    values = evaluator(drawer)
    real, count = evaluator.real_data_values()
    if images is not None:
        captions = heldout_captions(DataSource(loaded.config.data), PREVIEW_CAPTIONS)
        write_caption_grid(drawer.draw(captions, 0, 8), captions, 8, images / f"stackgan_{name}.png")
    return {"values": values, "real_data": real, "real_samples": count, "step": loaded.checkpoint.get("step")}


def run(name: str, overrides, out: Path, images: Path | None) -> dict:
    stage1 = out / "runs" / "stage1" / "checkpoints" / "last.pt"
    extra = [o.format(stage1=stage1) for o in RUNS[name]]
    cfg = config([*extra, *overrides])
    run_dir = out / "runs" / name
    started = time.process_time()
    train(cfg, run_dir=run_dir)
    result = {"run": name, "overrides": [*extra, *overrides], "cpu_minutes": (time.process_time() - started) / 60,
              "steps": int(cfg.trainer.steps), "batch_size": int(cfg.data.batch_size),
              "resolution": int(cfg.data.resolution)}
    if name == "stage1" and not overrides:  # the default run: README's models table gives its CPU minutes
        record_default_run("stackgan", result["steps"], result["batch_size"], result["cpu_minutes"])
    result.update(judge(run_dir / "checkpoints" / "last.pt", images, name))
    (out / f"{name}.json").write_text(json.dumps(result, indent=1))
    return result


def row(result: dict) -> str:
    v, r = result["values"], result["real_data"]
    cells = [f"{v[k]:.1f} ({r[k]:.1f})" if k == "fid" else f"{v[k]:.1%} ({r[k]:.1%})" for k in SHOWN]
    return (f"| {result['run']} | {result['resolution']}x{result['resolution']} | {result['steps']:,} | "
            f"{result['cpu_minutes']:.1f} | " + " | ".join(cells) + " |")


def table(out: Path) -> str:
    lines = ["| run | size | steps | CPU min | FID (real) | digit | colour | background | size | all four | "
             "R-precision |", "|" + "---|" * 11]
    for name in RUNS:
        path = out / f"{name}.json"
        if path.is_file():
            lines.append(row(json.loads(path.read_text())))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides for every run")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs" / "bench_text_to_image")
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images" / "quality")
    parser.add_argument("--table", action="store_true", help="print the table of the results so far")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.table:
        print(table(args.out))
        return
    torch.set_num_threads(1)
    for name in args.runs:
        print(row(run(name, args.set, args.out, args.images)), flush=True)
    print(table(args.out))


if __name__ == "__main__":
    main()
