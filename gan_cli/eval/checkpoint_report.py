"""A checkpoint's evaluation report (gan-eval): the metrics of its generator, each with its protocol,
printed and written as JSON beside the checkpoint."""

from __future__ import annotations

import json
import math
from pathlib import Path

from omegaconf import DictConfig, open_dict

from gan_cli.eval.evaluator import VALUES, Evaluator
from gan_cli.inference.loading import generator_of
from gan_cli.runs.config import stored_config
from gan_cli.runs.files import write_json_atomic
from gan_cli.runs.result_values import shown_name, shown_value

# gan-eval keys that replace the run's eval settings when given.
EVAL_KEYS = ("metrics", "feature_extractor", "weights", "download", "num_samples", "num_real", "seed",
             "batch_size", "cache_dir")


def evaluation_config(checkpoint: dict, options, path) -> DictConfig:
    """The checkpoint's config with gan-eval's options merged into its `eval` (and data.root).

    Upgraded (the packaged eval defaults for checkpoints from before `eval`) and checked: the data
    factory it names must be one of gan-cli's."""
    cfg = stored_config(checkpoint, path)
    with open_dict(cfg):
        for key in EVAL_KEYS:
            if options.get(key) is not None:
                cfg.eval[key] = options[key]
        if options.get("data_root") is not None:
            cfg.data.root = options.data_root
            if "root" in cfg.data.get("dataset", {}):
                cfg.data.dataset.root = options.data_root
    return cfg


def default_output(ckpt) -> Path:
    """<checkpoint without .pt>.eval.json, beside it."""
    ckpt = Path(ckpt)
    return ckpt.with_name(f"{ckpt.stem}.eval.json")


def evaluate_generator(loaded, options, device="cpu", wrap=None) -> tuple[dict, Path]:
    """A generator's report {checkpoint, step, values, metrics} (its checkpoint `loaded` once, with its
    config: gan_cli.tasks.load_for_task), written beside it. wrap: what the metrics judge of the
    generator (a spectrogram model's clips), when not the generator itself."""
    ckpt, checkpoint = loaded.path, loaded.checkpoint
    generator = generator_of(checkpoint, loaded.config, ckpt, bool(options.get("ema", True)), device)
    if wrap is not None:
        generator = wrap(generator)
    cfg = evaluation_config(checkpoint, options, ckpt)
    evaluator = Evaluator.of_config(cfg, device)
    values = evaluator(generator)
    real_data, real_count = evaluator.real_data_values()
    report = {
        **report_head(loaded, options),
        "values": values,
        "real_data": real_data,  # the same protocol with real samples in place of generated ones
        "real_data_samples": real_count,
        # Every metric with the protocol that produced it, so a number never travels alone.
        "metrics": {
            metric: {"values": {name: values[name] for name in VALUES[metric]},
                     "protocol": evaluator.metric_protocol(metric)}
            for metric in evaluator.settings.metrics
        },
    }
    out = write_json_atomic(Path(options.get("out") or default_output(ckpt)), report)
    return report, out


def report_head(loaded, options) -> dict:
    """What every report starts with: the checkpoint, its step, and which generator was judged."""
    checkpoint = loaded.checkpoint
    return {"checkpoint": str(Path(loaded.path).resolve()), "step": checkpoint.get("step"),
            "generator": "ema" if options.get("ema", True) and checkpoint.get("ema") is not None else "raw"}


def evaluate_against_reference(loaded, judged, evaluator, options, value_names=None) -> tuple[dict, Path]:
    """An image-to-image (or vocoder) checkpoint's report: its metrics on the held-out split, and the
    reference on the same protocol (bicubic upscaling for super-resolution; real targets where it applies;
    Griffin-Lim for a vocoder). value_names: what each metric name puts in the values (the translation
    metrics' VALUES by default)."""
    from gan_cli.eval.translation_metrics import VALUES as TRANSLATION_VALUES

    value_names = value_names or TRANSLATION_VALUES
    values = evaluator(judged)
    reference_name, reference = evaluator.reference_values()
    report = {
        **report_head(loaded, options),
        "values": values,
        "reference": reference_name,
        "reference_values": reference,
        "metrics": {metric: {"values": {name: values[name] for name in value_names[metric] if name in values},
                             "protocol": evaluator.metric_protocol(metric)}
                    for metric in evaluator.settings.metrics},
    }
    out = write_json_atomic(Path(options.get("out") or default_output(loaded.path)), report)
    return report, out


def summary(protocol: dict) -> str:
    """One line of the protocol shared by the metrics."""
    if "num_inputs" in protocol:  # image-to-image models
        return f"{protocol['protocol']}: {protocol['num_inputs']} inputs of {protocol['dataset']} {protocol['split']}"
    if "feature_extractor" not in protocol:  # 2-D mixtures
        return (f"{protocol['protocol']}: {protocol['num_generated']} samples, {protocol['num_modes']} modes, "
                f"high quality within {protocol['high_quality_radius']}, seed {protocol['seed']}")
    reference = protocol["reference"]
    return (f"{protocol['feature_extractor']} ({protocol['features']}, weights sha256 {protocol['weights_sha256'][:12]}), "
            f"{protocol['num_generated']} generated vs {protocol['num_real']} real ({reference['dataset']} "
            f"{reference['split']}), resize: {protocol['resize']}, seed {protocol['seed']}")


def format_value(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def print_report(report: dict, out: Path) -> None:
    print(f"{report['checkpoint']} (step {report['step']}, {report['generator']} generator)")
    shown = None
    for metric, entry in report["metrics"].items():
        protocol = entry["protocol"]
        line = summary(protocol)
        if line != shown:
            print(f"  protocol: {line}")
            shown = line
        extra = protocol.get(metric)
        detail = "" if extra is None else f"  [{json.dumps(extra, ensure_ascii=False) if isinstance(extra, dict) else extra}]"
        real = report.get("real_data") or report.get("reference_values") or {}
        label = report.get("reference") or "real data"
        values = ", ".join(f"{shown_name(name)} {format_value(shown_value(name, value))}"
                           + (f" ({label}: {format_value(shown_value(name, real[name]))})" if name in real else "")
                           for name, value in entry["values"].items())
        print(f"  {metric:8s} {values}{detail}")
    if report.get("real_data"):
        print(f"  (real data: the same protocol on {report['real_data_samples']} real samples drawn with another seed)")
    print(f"wrote {out}")
