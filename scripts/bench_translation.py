"""Quality of gan-cli's image-to-image models on the offline data, for a fixed CPU budget each.

    python scripts/bench_translation.py                    # all three parts (about 35 minutes on 2 cores)
    python scripts/bench_translation.py --part sr --minutes 10

sr        SRResNet-MSE (model=srgan, pixel loss only) x4 on scikit-image's photographs: PSNR/SSIM on the
          held-out photographs beside bicubic upscaling; then the SRGAN adversarial phase from that
          checkpoint, shown as a grid of bicubic | SRGAN | original.
cyclegan  printed -> handwritten digits: the share of held-out printed digits whose translation the
          shipped digits classifier reads as the same digit, and FID-digits against real digits.
pix2pix   edges -> digits with L1 + PatchGAN against the same generator trained with L1 only (the
          paper's ablation): L1, PSNR, SSIM, FID-digits and label accuracy on the held-out digits.

Budgets are CPU minutes of this process, run on one thread (torch.set_num_threads(1)), so that other
work on the machine does not change them: each run's step count is set from the CPU time of a short
calibration; the figures are printed as one table and written to <out>/results.json with the settings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_module

from gan_cli.inference.translate_files import heldout_grid_to_file
from gan_cli.tasks import load_for_task
from gan_cli.tasks.run_description import RunDescription
from gan_cli.training.run import train

# What each part trains; sizes chosen so that a CPU budget of minutes makes thousands of updates.
SETTINGS = {
    "sr": ["model=srgan", "model.pretrain_steps=1.0", "model.generator.base_width=32", "model.generator.blocks=8",
           "data.crop=48", "data.lr_size=12",
           "model.generator.bicubic_skip=true", "optim.lr=5e-4", "optim.schedule=linear", "data.batch_size=16"],
    "cyclegan": ["model=cyclegan", "model.generator.base_width=32", "model.discriminator.base_width=32",
                 "data.batch_size=8"],
    "pix2pix": ["model=pix2pix", "data.batch_size=16"],
}
COMMON = ["trainer.device=cpu", "trainer.log_every=100", "trainer.checkpoint_every=100000", "trainer.sample_every=100000"]


def translation_of(ckpt: Path):
    """(translator, evaluator) of an image-to-image checkpoint: its task's translator and metric set."""
    loaded = load_for_task(ckpt)
    run = RunDescription.of(loaded.config, loaded.task)
    return loaded.task.load_translator(loaded), loaded.task.evaluator(run, "cpu")


def config(overrides):
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        return compose(config_name="train", overrides=[*COMMON, *overrides])


def timed_steps(overrides, minutes: float, out: Path) -> int:
    """Steps that fill `minutes`, from the time of 10 steps after 3 of warm-up."""
    folder = out / "calibration"
    train(config([*overrides, "trainer.steps=3", "trainer.save_checkpoints=false"]), run_dir=folder)
    started = time.process_time()
    train(config([*overrides, "trainer.steps=10", "trainer.save_checkpoints=false"]), run_dir=folder)
    per_step = (time.process_time() - started) / 10
    shutil.rmtree(folder, ignore_errors=True)
    return max(20, int(minutes * 60 / per_step))


def run(name: str, overrides, minutes: float, out: Path) -> dict:
    steps = timed_steps(overrides, minutes, out)
    cfg = config([*overrides, f"trainer.steps={steps}"])
    started, wall = time.process_time(), time.perf_counter()
    train(cfg, run_dir=out / name)
    seconds, wall = time.process_time() - started, time.perf_counter() - wall
    ckpt = out / name / "checkpoints" / "last.pt"
    translator, evaluator = translation_of(ckpt)
    values = evaluator(translator)
    reference_name, reference = evaluator.reference_values()
    print(f"{name}: {steps} steps in {seconds / 60:.1f} CPU min ({wall / 60:.1f} min wall): {values}; "
          f"{reference_name}: {reference}", flush=True)
    return {"steps": steps, "minutes": seconds / 60, "wall_minutes": wall / 60, "values": values, "reference": reference_name,
            "reference_values": reference, "settings": [*COMMON, *overrides], "checkpoint": str(ckpt)}


def super_resolution(minutes: float, out: Path) -> dict:
    result = {"srresnet_mse": run("srresnet_mse", SETTINGS["sr"], minutes, out)}
    # The adversarial phase from the SRResNet: a tenth of the budget more, shown beside bicubic and the original.
    mse = result["srresnet_mse"]
    more = max(20, mse["steps"] // 10)
    cfg = config([*SETTINGS["sr"], f"model.pretrain_steps={mse['steps']}", f"trainer.steps={mse['steps'] + more}",
                  f"optim.schedule_steps={mse['steps'] + more}", f"resume={mse['checkpoint']}"])
    train(cfg, run_dir=out / "srgan")
    ckpt = out / "srgan" / "checkpoints" / "last.pt"
    translator, evaluator = translation_of(ckpt)
    values = evaluator(translator)
    grid = heldout_grid_to_file(translator, evaluator.cfg, ckpt, n=2, seed=0, out=out / "srgan_bicubic_output_original.png")
    print(f"srgan: {more} adversarial steps after the SRResNet: {values}; grid {grid}", flush=True)
    result["srgan"] = {"adversarial_steps": more, "values": values, "grid": str(grid)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["sr", "cyclegan", "pix2pix", "all"], default="all")
    parser.add_argument("--minutes", type=float, default=None,
                        help="CPU minutes of training per run (default: sr 10, cyclegan 15, pix2pix 5 per variant)")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_translation"))
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of torch (the budgets count CPU time)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {}
    parts = ["sr", "cyclegan", "pix2pix"] if args.part == "all" else [args.part]
    if "sr" in parts:
        results["sr"] = super_resolution(args.minutes or 10, args.out)
    if "cyclegan" in parts:
        results["cyclegan"] = run("cyclegan", SETTINGS["cyclegan"], args.minutes or 15, args.out)
    if "pix2pix" in parts:
        minutes = args.minutes or 5
        results["pix2pix"] = run("pix2pix", SETTINGS["pix2pix"], minutes, args.out)
        results["pix2pix_l1_only"] = run("pix2pix_l1_only", [*SETTINGS["pix2pix"], "model.adversarial_weight=0"],
                                         minutes, args.out)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(table(results))


def table(results: dict) -> str:
    lines = ["| run | steps | CPU minutes | values | reference |", "|---|---|---|---|---|"]
    for name, result in results.items():
        for key, entry in (result.items() if name == "sr" else [(name, result)]):
            if "steps" not in entry:
                continue
            shown = ", ".join(f"{k} {v:.4g}" for k, v in entry["values"].items())
            reference = ", ".join(f"{k} {v:.4g}" for k, v in entry["reference_values"].items())
            lines.append(f"| {key} | {entry['steps']} | {entry['minutes']:.1f} | {shown} | {entry['reference']} {reference} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
