"""Evaluate a generator with the metrics the `eval` config names, and say exactly how.

    evaluator = Evaluator(run.data, run.latent_layout, run.eval, device)   # once: the extractor, real statistics
    evaluator = Evaluator.of_config(cfg, device)   # the same from a composed or stored config
    values = evaluator(generator)            # {"fid": 12.3, "kid": 0.004, ...}: plain floats, KID unscaled
    evaluator.protocol                       # what the numbers mean: extractor, weights sha256, counts, seed

The run's data (its dataset built once) and eval settings decide. `auto` settings follow the data:
2-D mixtures get the VEEGAN/PacGAN mode metrics; data=digits gets the shipped digits classifier,
data=captioned_digits the captioned-digits one; other images get Inception-v3. Real-data features
are cached per dataset and protocol under eval.cache_dir (default $GAN_CLI_CACHE or ~/.cache/gan-cli).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
from omegaconf import OmegaConf

from gan_cli.data import DataSource, GaussianMixture2D, as_source, build_mixture, real_samples
from gan_cli.errors import UserError
from gan_cli.eval import metrics as M
from gan_cli.eval.features import build_extractor, extract
from gan_cli.eval.mode_metrics import NUM_SAMPLES as MIXTURE_SAMPLES
from gan_cli.eval.mode_metrics import QUALITY_STDS, mode_metrics, mode_protocol
from gan_cli.inference.sampling import generate
from gan_cli.latent_layout import LatentLayout
from gan_cli.run_settings import RunSettings
from gan_cli.runs.files import write_atomic

log = logging.getLogger("gan_cli")

IMAGE_METRICS = ("fid", "kid", "is", "pr", "classes", "label_accuracy", "confident")
# Extractors that are classifiers of the data's own classes (class coverage, label accuracy, confidence).
CLASSIFIERS = ("digits_classifier", "captioned_digits_classifier", "spoken_digits_classifier")
# The shipped image classifier auto picks for a dataset (others get Inception-v3).
AUTO_IMAGE_CLASSIFIERS = {"digits": "digits_classifier", "captioned_digits": "captioned_digits_classifier"}
MIXTURE_METRICS = ("modes",)
# What each metric name puts in the result (metrics=[pr] gives precision and recall).
VALUES = {
    "fid": ("fid",),
    "kid": ("kid", "kid_std"),
    "is": ("is", "is_std"),
    "pr": ("precision", "recall"),
    "classes": ("class_coverage", "class_kl"),
    "label_accuracy": ("label_accuracy",),
    "confident": ("confident",),
    "modes": ("modes", "high_quality", "reverse_kl"),
}
DEFAULT_NUM_REAL = 10000
CONFIDENT = 0.9  # metrics=confident: the top class probability a sample must reach


@dataclass(frozen=True)
class Settings:
    """The eval config with every `auto` resolved for one dataset."""

    metrics: tuple[str, ...]
    feature_extractor: str | None   # None for the 2-D mixtures
    num_samples: int
    num_real: int | None
    seed: int
    batch_size: int
    best_metric: str
    kid_subsets: int
    kid_subset_size: int
    pr_k: int
    is_splits: int


def _is_mixture(data_cfg) -> bool:
    return len(data_cfg.shape) == 1


def _is_audio(data_cfg) -> bool:
    return len(data_cfg.shape) == 2  # (channels, samples): clips; images are (C, H, W), 2-D points (2,)


def _get(eval_cfg, key, default):
    value = eval_cfg.get(key, default) if eval_cfg is not None else default
    return default if value is None else value


def _extractor(data_cfg, requested: str) -> str | None:
    """The feature extractor for this data: the one asked for, or auto's (None for 2-D points)."""
    if _is_mixture(data_cfg):
        return None
    extractor = requested
    if extractor == "auto":
        extractor = ("spoken_digits_classifier" if _is_audio(data_cfg) else
                     AUTO_IMAGE_CLASSIFIERS.get(data_cfg.name, "inception"))
    if _is_audio(data_cfg) != (extractor == "spoken_digits_classifier"):
        raise UserError(f"eval.feature_extractor={extractor} does not fit data={data_cfg.name}: audio is heard by "
                        f"spoken_digits_classifier (or auto), images are seen by inception, digits_classifier or "
                        f"captioned_digits_classifier.")
    return extractor


def resolve_settings(data_cfg, eval_cfg, conditional: bool = False) -> Settings:
    """Concrete settings for this data (auto -> the data's defaults) from the run's eval request
    (gan_cli/run_settings.py EvalRequest), or from an `eval` node (keys it lacks take their defaults)."""
    if dataclasses.is_dataclass(eval_cfg):
        eval_cfg = dataclasses.asdict(eval_cfg)
    mixture = _is_mixture(data_cfg)
    extractor = _extractor(data_cfg, _get(eval_cfg, "feature_extractor", "auto"))
    classifier = extractor in CLASSIFIERS
    metrics = _get(eval_cfg, "metrics", "auto")
    if metrics == "auto":
        # Class coverage needs a classifier of the data's own classes: the digits CNNs on their digits.
        metrics = MIXTURE_METRICS if mixture else ("fid", "kid", "is", "pr") + (
            ("classes",) if classifier else ()) + (("label_accuracy",) if classifier and conditional else ()) + (
            ("confident",) if extractor == "spoken_digits_classifier" else ())
    if isinstance(metrics, str):
        metrics = [metrics]
    metrics = tuple(str(m) for m in metrics)
    allowed = MIXTURE_METRICS if mixture else IMAGE_METRICS
    unknown = [m for m in metrics if m not in allowed]
    if unknown or not metrics:
        kind = "2-D points (data=ring|grid)" if mixture else "clips" if _is_audio(data_cfg) else "images"
        raise UserError(f"metrics={list(metrics)}: {', '.join(unknown) or 'an empty list'} cannot be computed on "
                        f"{kind} of data={data_cfg.name}; choose from {', '.join(allowed)} (or auto).")

    if "label_accuracy" in metrics and not (conditional and classifier):
        raise UserError("metrics=label_accuracy (the share of samples the classifier reads as the asked class) needs "
                        "a conditional model (cgan, acgan, projection, biggan; wavegan with model.conditional=true) on "
                        "data=digits, data=captioned_digits or data=spoken_digits; drop label_accuracy.")
    for needs_classes in ("classes", "confident"):
        if needs_classes in metrics and not classifier:
            raise UserError(f"metrics={needs_classes} needs a classifier of the data's classes: use "
                            f"eval.feature_extractor=digits_classifier on data=digits (captioned_digits_classifier on "
                            f"data=captioned_digits, spoken_digits_classifier on audio), or drop {needs_classes}.")

    num_samples = _get(eval_cfg, "num_samples", "auto")
    if num_samples == "auto":
        num_samples = MIXTURE_SAMPLES if mixture else (2000 if classifier else 10000)
    num_real = None if mixture else _get(eval_cfg, "num_real", "auto")
    if num_real == "auto":
        num_real = DEFAULT_NUM_REAL
    for key, value in (("num_samples", num_samples), ("num_real", num_real)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
            raise UserError(f"eval.{key}={value!r} must be a whole number of at least 2 (or auto).")

    values = [v for m in metrics for v in VALUES[m]]
    best = _get(eval_cfg, "best_metric", "auto")
    if best == "auto":
        best = "reverse_kl" if mixture else ("fid" if "fid" in values else values[0])
    if best not in values:
        raise UserError(f"eval.best_metric={best!r} is not among the values these metrics give ({', '.join(values)}); "
                        f"pick one of them or auto.")
    return Settings(
        metrics=metrics, feature_extractor=extractor, num_samples=num_samples, num_real=num_real,
        seed=int(_get(eval_cfg, "seed", 0)), batch_size=int(_get(eval_cfg, "batch_size", 250)), best_metric=best,
        kid_subsets=int(_get(eval_cfg, "kid_subsets", 100)), kid_subset_size=int(_get(eval_cfg, "kid_subset_size", 1000)),
        pr_k=int(_get(eval_cfg, "pr_k", 3)), is_splits=int(_get(eval_cfg, "is_splits", 10)),
    )


def default_cache_dir() -> Path:
    return Path(os.environ.get("GAN_CLI_CACHE") or Path.home() / ".cache" / "gan-cli")


def reference_split(data_cfg) -> str:
    """Which part of the dataset the real statistics come from."""
    dataset = data_cfg.get("dataset") or {}
    if "split" in dataset:
        return str(dataset.split)
    if "train" in dataset:
        return "train" if dataset.train else "test"
    return "all"


class Evaluator:
    """The configured metrics for one dataset; build once, call on a generator as often as needed."""

    def __init__(self, data, latent_layout: LatentLayout, request, device="cpu"):
        """data: the run's DataSource (its dataset built once); latent_layout: what the generator takes
        (conditional generators get class-balanced labels, InfoGAN generators their codes); request:
        the run's eval settings (gan_cli/run_settings.py EvalRequest)."""
        self.data = as_source(data)
        self.data_cfg = self.data.config
        self.latent_layout = latent_layout
        self.settings = resolve_settings(self.data_cfg, request, latent_layout.num_classes is not None)
        self.device = torch.device(device)
        self.num_generated = len(latent_layout.grid(self.settings.num_samples, self.settings.seed)[0])
        self.mixture: GaussianMixture2D | None = None
        self.extractor = None
        if self.settings.feature_extractor is None:
            self.mixture = build_mixture(self.data)
            self.protocol = mode_protocol(self.mixture, self.num_generated, self.settings.seed, QUALITY_STDS)
            self.protocol["dataset"] = self.data.name
            return
        self.extractor = build_extractor(self.settings.feature_extractor, request.weights, request.download,
                                         self.device, sample_rate=self.data_cfg.get("sample_rate"))
        self.cache_dir = Path(request.cache_dir).expanduser() if request.cache_dir else default_cache_dir()
        self.real_features, num_real = self._reference_features()
        self.real_statistics = M.feature_statistics(self.real_features)
        data_cfg = self.data_cfg
        self.protocol = {
            **self.extractor.describe(),
            "num_generated": self.num_generated,
            "generated_labels": "class-balanced" if latent_layout.num_classes else None,
            "num_real": num_real,
            "reference": {"dataset": self.data.name, "split": reference_split(data_cfg),
                          "resolution": data_cfg.get("resolution"), "channels": data_cfg.get("channels"),
                          **({"sample_rate": data_cfg.sample_rate, "length": data_cfg.get("length")}
                             if _is_audio(data_cfg) else {})},
            "seed": self.settings.seed,
            "fid": "Fréchet distance of Gaussians fitted to the features (Heusel et al. 2017; scipy sqrtm, "
                   "eps=1e-6 diagonal offset when singular)",
            "kid": M.kid_protocol(self.extractor, self.settings.kid_subsets,
                                  min(self.settings.kid_subset_size, self.num_generated, num_real)),
            "pr": {"k": self.settings.pr_k, "method": "k-NN manifolds (Kynkäänniemi et al. 2019, torch-fidelity)"},
            "is": {"splits": self.settings.is_splits, "logits": "the extractor's class logits"},
            "classes": "share of classes predicted at least once; KL(class histogram || uniform), nats",
            "label_accuracy": "share of class-balanced conditional samples the classifier reads as the asked class",
            "confident": f"share of samples whose most likely class has probability >= {CONFIDENT:g} (read as one "
                         f"class, not a blend)",
            "library": _library_versions(),
        }

    @classmethod
    def of_config(cls, cfg, device="cpu") -> Evaluator:
        """The evaluator of a composed or stored config (its data, latent layout and eval node)."""
        return cls(DataSource(cfg.data), LatentLayout.from_config(cfg), eval_request(cfg), device)

    def _cache_key(self) -> dict:
        data = OmegaConf.to_container(self.data_cfg, resolve=True)
        for key in ("batch_size", "num_workers", "in_memory"):
            data.pop(key, None)
        return {"data": data, "extractor": self.extractor.describe()["feature_extractor"],
                "weights_sha256": self.extractor.weights_sha256, "num_real": self.settings.num_real,
                "seed": self.settings.seed, "format": 1}

    def _reference_features(self) -> tuple[torch.Tensor, int]:
        """Features of the real samples, from the cache or computed once and cached."""
        key = self._cache_key()
        digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
        path = self.cache_dir / "real_features" / f"{self.data_cfg.name}-{self.settings.feature_extractor}-{digest}.pt"
        if path.is_file():
            try:
                cached = torch.load(path, map_location="cpu", weights_only=True)
                return cached["features"], int(cached["num_real"])
            except Exception:  # noqa: BLE001 - a broken cache file is recomputed
                log.warning("ignoring unreadable cache file %s", path)
        num_real = min(self.settings.num_real, len(self.data))
        images = real_samples(self.data, num_real, seed=self.settings.seed)
        features, _ = extract(self.extractor, images, self.settings.batch_size)
        cached = {"features": features, "num_real": num_real, "key": json.dumps(key, default=str)}
        write_atomic(path, lambda handle: torch.save(cached, handle))
        return features, num_real

    @torch.no_grad()
    def __call__(self, generator: nn.Module) -> dict[str, float]:
        """The configured values for samples of `generator` (latents seeded by eval.seed)."""
        was_training = generator.training
        generator.eval()
        try:
            latents, labels, _ = self.latent_layout.grid(self.settings.num_samples, self.settings.seed)
            samples = generate(generator, latents, labels, batch_size=self.settings.batch_size)
        finally:
            generator.train(was_training)
        if self.mixture is not None:
            return mode_metrics(samples, self.mixture)
        return self.image_metrics(samples, labels)

    def real_data_values(self) -> tuple[dict[str, float], int]:
        """The same values with real data in place of generated samples, on the same protocol, and how
        many real samples: what a generator indistinguishable from the data would score. The real
        samples are drawn with another seed than the reference's, and at most half the dataset, so
        that a small set (digits: 1,797 images, all in the reference) is not compared with itself."""
        seed = self.settings.seed + 1
        if self.mixture is not None:
            points = self.mixture.sample(self.num_generated, generator=torch.Generator().manual_seed(seed))
            return mode_metrics(points, self.mixture), self.num_generated
        count = min(self.num_generated, len(self.data) // 2)
        return self.image_metrics(real_samples(self.data, count, seed=seed)), count

    def image_metrics(self, samples: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
        """The configured values for generated images (N, C, H, W) in [-1, 1] (of `labels`, when conditional)."""
        s = self.settings
        features, logits = extract(self.extractor, samples, s.batch_size)
        values: dict[str, float] = {}
        if "fid" in s.metrics:
            values["fid"] = M.frechet_distance(*M.feature_statistics(features), *self.real_statistics)
        if "kid" in s.metrics:
            values["kid"], values["kid_std"] = M.kernel_distance(features, self.real_features, s.kid_subsets,
                                                                 s.kid_subset_size, s.seed,
                                                                 self.extractor.kid_feature_scale)
        if "is" in s.metrics:
            values["is"], values["is_std"] = M.inception_score(logits, s.is_splits, s.seed)
        if "pr" in s.metrics:
            values["precision"], values["recall"] = M.precision_recall(features, self.real_features, s.pr_k)
        if "classes" in s.metrics:
            values["class_coverage"], values["class_kl"] = M.class_coverage(logits)
        if "label_accuracy" in s.metrics and labels is not None:
            values["label_accuracy"] = float((logits.argmax(dim=1) == labels.cpu()).float().mean())
        if "confident" in s.metrics:
            values["confident"] = float((logits.float().softmax(dim=1).max(dim=1).values >= CONFIDENT).float().mean())
        return values

    def metric_protocol(self, metric: str) -> dict:
        """The protocol of one metric name (fid, kid, ...): the shared part plus its own settings."""
        shared = {k: v for k, v in self.protocol.items() if k not in VALUES}
        own = self.protocol.get(metric)
        return {**shared, **({metric: own} if own is not None else {})}


def evaluate(generator: nn.Module, cfg, device="cpu") -> dict[str, float]:
    """One-off evaluation of a config's generator (builds an Evaluator; keep one for repeated use)."""
    return Evaluator.of_config(cfg, device)(generator)


def eval_request(cfg):
    """A config's eval node, checked and typed (gan_cli/run_settings.py EvalRequest)."""
    return RunSettings.from_config(cfg).eval


def _library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"torch": torch.__version__}
    for package in ("torch-fidelity", "scipy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions
