"""The quality table: every model preset's default run (`gan-train model=<name>`, nothing else),
its CPU minutes and steps, and the task's own measure of its samples, with one sample grid each.

    python scripts/bench_quality.py                          # every preset, one after another
    python scripts/bench_quality.py --models dcgan sngan     # some of them
    python scripts/bench_quality.py --models dcgan --set model.generator.base_width=16   # a probe
    python scripts/bench_quality.py --models dcgan --longer 3   # how long the bar takes: 3x the steps
    python scripts/bench_quality.py --table                  # the table of the results written so far

Each run is the preset's default run on the offline data, on one CPU thread (torch.set_num_threads(1)):
its CPU time is what a 2-core laptop spends on it, and two copies can run side by side (--models split
between them) without changing each other's figures. Then:

  z -> image (digits)   2,000 samples on the shipped digits classifier: FID-digits, class coverage
                        (classes drawn, of 10), and for conditional models the share of samples read
                        as the asked digit. Bar: FID-digits <= 30, 10/10 classes, asked digit >= 95%.
  cyclegan              held-out printed digits translated to handwriting: the share the classifier
                        reads as the same digit. Bar: >= 90%.
  srgan                 x4 on the held-out photographs: PSNR (Y channel) over bicubic. Bar: >= +1.5 dB.
  pix2pix               edges -> digits beside its L1-only ablation (model.adversarial_weight=0, same
                        steps): the GAN term must lower FID-digits.

`--longer K` trains K times the default steps with an evaluation every `--points` K-th of the run
(gan-train's eval.every, the same protocol) and records the first step at which the bar is met, in
<out>/<model>.longer.json; the table's last column gives that step and its CPU minutes (the default
run's CPU time per step times that step; the evaluations' own time is left out). For SRGAN's linear
learning-rate decay, a K-times run decays K times more slowly: its step is an upper bound on the
default schedule's.

Results go to <out>/<model>.json; the grids to docs/images/quality/<model>.png (--images); the
official implementations' figures at the same images seen (docs/official_figures.json, measured
outside this repository) stand beside them in the table.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from readme_tables import record_default_run

from gan_cli.eval.evaluator import Evaluator
from gan_cli.inference.images import save_grid
from gan_cli.inference.loading import load_generator
from gan_cli.inference.sampling import generate
from gan_cli.inference.translate_files import heldout_grid_to_file
from gan_cli.latent_layout import LatentLayout
from gan_cli.runs.config import stored_config
from gan_cli.tasks import load_for_task
from gan_cli.tasks.run_description import RunDescription
from gan_cli.training.run import train

UNCONDITIONAL = ["gan", "dcgan", "lsgan", "wgan", "wgan_gp", "sngan", "sngan_resnet", "infogan", "sagan",
                 "stylegan2", "progan"]
CONDITIONAL = ["cgan", "acgan", "projection", "biggan"]
TRANSLATION = ["pix2pix", "cyclegan", "srgan"]
MODELS = UNCONDITIONAL + CONDITIONAL + TRANSLATION
# What the benchmark changes in a default run: where it trains, and no files it does not read.
COMMON = ["trainer.device=cpu", "trainer.log_every=100", "trainer.sample_every=100000",
          "eval.num_samples=2000"]
BARS = {"fid": 30.0, "class_coverage": 1.0, "label_accuracy": 0.95, "kept": 0.90, "psnr_gain": 1.5}
ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = ROOT / "docs" / "official_figures.json"


def translation_of(ckpt: Path):
    """(translator, evaluator) of an image-to-image checkpoint: its task's translator and metric set."""
    loaded = load_for_task(ckpt)
    run = RunDescription.of(loaded.config, loaded.task)
    return loaded.task.load_translator(loaded), loaded.task.evaluator(run, "cpu")


def config(overrides):
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        return compose(config_name="train", overrides=[*COMMON, *overrides])


def timed_train(overrides, run_dir: Path) -> dict:
    """Train; (CPU minutes of this process, wall minutes, steps)."""
    cfg = config(overrides)
    started, wall = time.process_time(), time.perf_counter()
    train(cfg, run_dir=run_dir)
    return {"cpu_minutes": (time.process_time() - started) / 60, "wall_minutes": (time.perf_counter() - wall) / 60,
            "steps": int(cfg.trainer.steps), "batch_size": int(cfg.data.batch_size)}


def default_steps(model: str, overrides) -> int:
    return int(config([f"model={model}", *overrides]).trainer.steps)


def longer(model: str, overrides, out: Path, factor: int, points: int) -> dict:
    """K x the default steps with evaluations along the way: when (if at all) the bar is first met."""
    steps = default_steps(model, overrides) * factor
    every = max(1, steps // points)
    run_dir = out / f"{model}.longer"
    figures = timed_train([f"model={model}", *overrides, f"trainer.steps={steps}", f"eval.every={every}"], run_dir)
    history = json.loads((run_dir / "eval.json").read_text())["history"]
    result = {"model": model, "overrides": list(overrides), "factor": factor, "date": time.strftime("%Y-%m-%d"),
              **figures, "history": history}
    if model in TRANSLATION:
        result["reference_values"] = translation_values(run_dir / "checkpoints" / "last.pt")[2]
    met = [point["step"] for point in history if bar_met(model, point, result)[1]]
    result["bar_step"] = met[0] if met else None
    (out / f"{model}.longer.json").write_text(json.dumps(result, indent=2))
    print(f"{model}: {steps} steps: bar {'at step ' + str(met[0]) if met else 'not met'}", flush=True)
    return result


def z_to_image(model: str, overrides, out: Path, images: Path) -> dict:
    figures = timed_train([f"model={model}", *overrides], out / model)
    ckpt = out / model / "checkpoints" / "last.pt"
    generator, checkpoint = load_generator(ckpt)
    stored = stored_config(checkpoint, ckpt)
    values = Evaluator.of_config(stored)(generator)
    draw_grid(model, out, images)
    return {**figures, "values": values}


def draw_grid(model: str, out: Path, images: Path) -> Path:
    """100 samples of the run's EMA generator (a row per class for conditional models), each at least
    32 pixels wide (nearest upscaling, so a 16x16 digit stays as it was drawn)."""
    ckpt = out / model / "checkpoints" / "last.pt"
    if model in TRANSLATION:
        loaded = load_for_task(ckpt)
        return heldout_grid_to_file(loaded.task.load_translator(loaded), loaded.config, ckpt, n=8, seed=0,
                                    out=images / f"{model}.png").path
    generator, checkpoint = load_generator(ckpt)
    z, labels, nrow = LatentLayout.from_config(stored_config(checkpoint, ckpt)).grid(100, 0)
    samples = generate(generator, z, labels)
    if samples.shape[-1] < 32:
        samples = torch.nn.functional.interpolate(samples, scale_factor=32 // samples.shape[-1], mode="nearest")
    return save_grid(samples, images / f"{model}.png", nrow or 10)


def translation(model: str, overrides, out: Path, images: Path) -> dict:
    figures = timed_train([f"model={model}", *overrides], out / model)
    values, reference_name, reference = translation_values(out / model / "checkpoints" / "last.pt")
    draw_grid(model, out, images)
    result = {**figures, "values": values, "reference": reference_name, "reference_values": reference}
    if model == "pix2pix":  # the paper's ablation: the same generator and steps with the L1 loss only
        ablation = timed_train([f"model={model}", *overrides, "model.adversarial_weight=0"], out / "pix2pix_l1_only")
        result["l1_only"] = {**ablation, "values": translation_values(out / "pix2pix_l1_only" / "checkpoints" /
                                                                      "last.pt")[0]}
    return result


def translation_values(ckpt: Path):
    translator, evaluator = translation_of(ckpt)
    reference_name, reference = evaluator.reference_values()
    return evaluator(translator), reference_name, reference


def run(model: str, overrides, out: Path, images: Path) -> dict:
    measure = translation if model in TRANSLATION else z_to_image
    result = {"model": model, "overrides": list(overrides), "date": time.strftime("%Y-%m-%d"),
              "conditional": model in CONDITIONAL, **measure(model, overrides, out, images)}
    (out / f"{model}.json").write_text(json.dumps(result, indent=2))
    if not overrides:  # the default run itself: README's models table gives its CPU minutes
        record_default_run(model, result["steps"], result["batch_size"], result["cpu_minutes"])
    print(f"{model}: {result['steps']} steps, {result['cpu_minutes']:.1f} CPU min: {headline(result)[0]}", flush=True)
    return result


def headline(result: dict) -> tuple[str, bool]:
    """(the result in words, whether it meets its bar)."""
    return bar_met(result["model"], result["values"], result)


def bar_met(model: str, v: dict, result: dict) -> tuple[str, bool]:
    """(the values `v` of `model` in words, whether they meet its bar); `result` holds the references."""
    if model == "srgan":
        gain = v["psnr"] - result["reference_values"]["psnr"]
        return f"PSNR {v['psnr']:.2f} dB, bicubic {result['reference_values']['psnr']:.2f} (+{gain:.2f} dB)", \
            gain >= BARS["psnr_gain"]
    if model == "cyclegan":
        return f"{v['label_accuracy']:.1%} keep their digit (FID-digits {v['fid']:.1f})", \
            v["label_accuracy"] >= BARS["kept"]
    if model == "pix2pix":
        ablation = result["l1_only"]["values"]
        return (f"FID-digits {v['fid']:.2f} vs L1-only {ablation['fid']:.2f}, digit kept {v['label_accuracy']:.1%}",
                v["fid"] < ablation["fid"])
    text = f"FID-digits {v['fid']:.1f}, classes {round(v['class_coverage'] * 10)}/10"
    met = v["fid"] <= BARS["fid"] and v["class_coverage"] >= BARS["class_coverage"]
    if "label_accuracy" in v:
        text += f", asked digit {v['label_accuracy']:.1%}"
        met = met and v["label_accuracy"] >= BARS["label_accuracy"]
    return text, met


def bar_time(out: Path, model: str, result: dict, met: bool) -> str:
    """When the bar is met: the default run, a step of a longer run (with its CPU minutes), or not yet."""
    if met:
        return "default run"
    path = out / f"{model}.longer.json"
    if not path.is_file():
        return "not measured"
    longer_run = json.loads(path.read_text())
    per_step = result["cpu_minutes"] / result["steps"]
    if longer_run["bar_step"] is None:
        history = longer_run["history"]
        best = best_point(model, history)
        return (f"not within {longer_run['steps']} steps ({longer_run['steps'] * per_step:.0f} CPU min); best at step "
                f"{best['step']}: {bar_met(model, best, longer_run)[0]}")
    return f"step {longer_run['bar_step']} (~{longer_run['bar_step'] * per_step:.0f} CPU min)"


def best_point(model: str, history: list[dict]) -> dict:
    """The evaluation of a longer run closest to the bar: the task's headline value at its best."""
    if model == "srgan":
        return max(history, key=lambda point: point["psnr"])
    if model == "cyclegan":
        return max(history, key=lambda point: point["label_accuracy"])
    return min(history, key=lambda point: point["fid"])


def table(out: Path) -> str:
    official = json.loads(OFFICIAL.read_text()) if OFFICIAL.is_file() else {}
    rows = ["| model | steps | batch | CPU min | result | bar | bar reached | official implementation, same images "
            "seen |", "|---|---|---|---|---|---|---|---|"]
    for model in MODELS:
        path = out / f"{model}.json"
        if not path.is_file():
            rows.append(f"| {model} | - | - | - | not measured yet | - | - | "
                        f"{official.get(model, {}).get('summary', '-')} |")
            continue
        result = json.loads(path.read_text())
        text, met = headline(result)
        probe = f" (with {' '.join(result['overrides'])})" if result["overrides"] else ""
        rows.append(f"| {model}{probe} | {result['steps']} | {result['batch_size']} | {result['cpu_minutes']:.1f} | "
                    f"{text} | {'met' if met else 'not met'} | {bar_time(out, model, result, met)} | "
                    f"{official.get(model, {}).get('summary', '-')} |")
    text = "\n".join(rows)
    (out / "table.md").write_text(text + "\n")
    return text


def gallery(images: Path, per_row: int = 6) -> str:
    """The sample grids as a table of small images, README-relative."""
    names = [m for m in MODELS if (images / f"{m}.png").is_file()]
    rows = []
    for start in range(0, len(names), per_row):
        chunk = names[start:start + per_row]
        rows.append("| " + " | ".join(f"`{m}`" for m in chunk) + " |")
        if start == 0:
            rows.append("|" + "---|" * len(chunk))
        rows.append("| " + " | ".join(f'<img src="{(images / f"{m}.png").relative_to(ROOT)}" width="120">'
                                      for m in chunk) + " |")
    return "\n".join(rows)


def write_readme(readme: Path, out: Path, images: Path) -> None:
    """README's quality table and sample grids, between its quality-table markers."""
    begin, end = "<!-- quality-table -->", "<!-- /quality-table -->"
    text = readme.read_text()
    if begin not in text or end not in text:
        raise SystemExit(f"{readme} has no {begin} ... {end} block to fill")
    head, rest = text.split(begin, 1)
    block = f"{begin}\n{table(out)}\n\n{gallery(images)}\n{end}"
    readme.write_text(head + block + rest.split(end, 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS, metavar="MODEL")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="overrides on top of the default run (a probe: the table marks it)")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_quality"))
    parser.add_argument("--images", type=Path, default=ROOT / "docs" / "images" / "quality",
                        help="where each model's sample grid goes")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--longer", type=int, default=0, metavar="K",
                        help="train K x the default steps, evaluating along the way: when the bar is met")
    parser.add_argument("--points", type=int, default=6, help="evaluations in a --longer run")
    parser.add_argument("--table", action="store_true", help="only print the table of the results in --out")
    parser.add_argument("--grids", action="store_true", help="only draw the grids again from the runs in --out")
    parser.add_argument("--readme", type=Path, default=None, help="also write the table and grids into this README")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.grids:
        for model in args.models:
            if (args.out / model / "checkpoints" / "last.pt").is_file():
                print(draw_grid(model, args.out, args.images))
    elif not args.table:
        torch.set_num_threads(args.threads)
        for model in args.models:
            if args.longer:
                longer(model, args.set, args.out, args.longer, args.points)
            else:
                run(model, args.set, args.out, args.images)
    print(table(args.out))
    if args.readme:
        write_readme(args.readme, args.out, args.images.resolve())


if __name__ == "__main__":
    main()
