"""Sample quality per CPU minute: every z -> image model of gan-cli trained for the same CPU budget on
the offline digits, then evaluated the same way (FID on the shipped digits classifier's features,
class coverage, and for class-conditional models the share of samples read as the asked digit).

    python scripts/bench_quality.py                           # every model, 4 CPU minutes each (about 45 min)
    python scripts/bench_quality.py --models dcgan stylegan2 --minutes 2
    python scripts/bench_quality.py --table                   # the table of the results written so far

Budgets are CPU time of this process on one thread (torch.set_num_threads(1)), so two copies can run
side by side on a 2-core machine (--models split between them) without changing each other's budget.
Each model runs its preset as `gan-train model=<name>` would (its default size, batch and learning
rates); the step count comes from the CPU time of a short calibration run. Results go to
<out>/<model>.json and the table to <out>/table.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_module

from gan_cli.eval.evaluate import Evaluator
from gan_cli.inference.loading import load_generator
from gan_cli.runs.config import stored_config
from gan_cli.training.run import train

UNCONDITIONAL = ["dcgan", "sngan", "sagan", "stylegan2", "progan"]
CONDITIONAL = ["cgan", "acgan", "projection", "biggan"]
COMMON = ["trainer.device=cpu", "trainer.log_every=100", "trainer.sample_every=100000",
          "trainer.checkpoint_every=100000", "eval.num_samples=2000"]


def config(overrides):
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        return compose(config_name="train", overrides=[*COMMON, *overrides])


# Models whose step cost changes during the run (ProGAN grows): trained in chunks until the budget
# is spent instead of for a calibrated step count; a calibration would time them fully grown.
CALIBRATION = {"progan": ["model.images_per_phase=1"]}


def steps_for(model: str, minutes: float, out: Path) -> int:
    """Steps that fill `minutes` of CPU time, from 10 timed steps after 3 of warm-up."""
    folder = out / f"calibration_{model}"
    extra = CALIBRATION.get(model, [])
    train(config([f"model={model}", "trainer.steps=3", "trainer.save_checkpoints=false", *extra]), run_dir=folder)
    started = time.process_time()
    train(config([f"model={model}", "trainer.steps=10", "trainer.save_checkpoints=false", *extra]), run_dir=folder)
    per_step = (time.process_time() - started) / 10
    shutil.rmtree(folder, ignore_errors=True)
    return max(20, int(minutes * 60 / per_step))


def train_for(model: str, minutes: float, out: Path, chunk: int = 100) -> int:
    """ProGAN: its step cost grows with each stage, so it trains `chunk` steps at a time (resuming
    exactly from its checkpoint) until the CPU budget is spent. Returns the steps done."""
    done, spent = 0, 0.0
    while spent < minutes * 60:
        resume = [f"resume={out / model / 'checkpoints' / 'last.pt'}"] if done else []
        started = time.process_time()
        train(config([f"model={model}", f"trainer.steps={done + chunk}", *resume]), run_dir=out / model)
        spent += time.process_time() - started
        done += chunk
    return done


def run(model: str, minutes: float, out: Path) -> dict:
    started, wall = time.process_time(), time.perf_counter()
    if model in CALIBRATION:
        steps = train_for(model, minutes, out)
    else:
        steps = steps_for(model, minutes, out)
        started = time.process_time()
        train(config([f"model={model}", f"trainer.steps={steps}"]), run_dir=out / model)
    cpu, wall = time.process_time() - started, time.perf_counter() - wall
    ckpt = out / model / "checkpoints" / "last.pt"
    generator, checkpoint = load_generator(ckpt)
    values = Evaluator(stored_config(checkpoint, ckpt))(generator)
    result = {"model": model, "steps": steps, "cpu_minutes": cpu / 60, "wall_minutes": wall / 60, "values": values,
              "conditional": model in CONDITIONAL, "batch_size": int(checkpoint["config"]["data"]["batch_size"])}
    (out / f"{model}.json").write_text(json.dumps(result, indent=2))
    print(f"{model}: {steps} steps, {cpu / 60:.1f} CPU min: {values}", flush=True)
    return result


def table(out: Path) -> str:
    rows = ["| model | steps | batch | CPU min | FID-digits | class coverage | asked digit drawn |",
            "|---|---|---|---|---|---|---|"]
    for model in UNCONDITIONAL + CONDITIONAL:
        path = out / f"{model}.json"
        if not path.is_file():
            continue
        r = json.loads(path.read_text())
        v = r["values"]
        asked = f"{v['label_accuracy']:.1%}" if "label_accuracy" in v else "-"
        rows.append(f"| {model} | {r['steps']} | {r['batch_size']} | {r['cpu_minutes']:.1f} | {v['fid']:.1f} | "
                    f"{v.get('class_coverage', float('nan')):.2f} | {asked} |")
    text = "\n".join(rows)
    (out / "table.md").write_text(text + "\n")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=UNCONDITIONAL + CONDITIONAL)
    parser.add_argument("--minutes", type=float, default=4.0, help="CPU minutes of training per model")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_quality"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--table", action="store_true", help="only print the table of the results in --out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.table:
        torch.set_num_threads(args.threads)
        for model in args.models:
            run(model, args.minutes, args.out)
    print(table(args.out))


if __name__ == "__main__":
    main()
