"""Evaluate an image-to-image model on its held-out split, and say exactly how.

    evaluator = TranslationEvaluator(run.data, run.eval, task.metric_set, name, scale, device)   # the task: which metrics
    values = evaluator(translator)          # {"psnr": 24.1, "ssim": 0.71, ...}
    evaluator.reference_values()            # the same protocol on a reference (bicubic; real targets)

paired (pix2pix)          psnr, ssim, l1 against each input's own target; fid/kid of the outputs
                          against the held-out targets; label_accuracy on the digit tasks
super_resolution (SRGAN)  psnr, ssim on the luma (Y) channel with `scale` border pixels shaved,
                          each held-out image whole; the reference row is bicubic upscaling
unpaired (CycleGAN)       fid/kid of the A->B outputs against the held-out B domain; label_accuracy:
                          the share of translated digits the shipped classifier reads as the input's class

PSNR and SSIM are scikit-image's (skimage.metrics); FID/KID reuse gan-cli's feature extractors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gan_cli.errors import UserError
from gan_cli.eval import metrics as M
from gan_cli.eval.features import build_extractor, extract
from gan_cli.inference.image_to_image import Translator, heldout_pairs, upscaled_input

TRANSLATION_METRICS = ("psnr", "ssim", "l1", "fid", "kid", "label_accuracy")
VALUES = {"psnr": ("psnr",), "ssim": ("ssim",), "l1": ("l1",), "fid": ("fid",), "kid": ("kid", "kid_std"),
          "label_accuracy": ("label_accuracy",)}


@dataclass(frozen=True)
class MetricSet:
    """What a translation task can be judged on, and how (each task module holds its own)."""

    kind: str                       # the task, in the protocol: "paired translation"
    allowed: tuple[str, ...]        # the metrics that can be computed
    default: tuple[str, ...]        # metrics=auto
    on_digits: tuple[str, ...]      # added to the default on the offline digit data
    best: str                       # eval.best_metric=auto when fid is not computed
    pixel_metrics: bool = True      # psnr/ssim/l1 against each input's own target
    luma: bool = False              # psnr/ssim on the luma (Y) channel, `scale` border pixels shaved
    whole_images: bool = False      # held-out images one at a time (their sizes differ)
    reference: str = "targets"      # the reference row: "bicubic" upscaling, or the real "targets"


@dataclass(frozen=True)
class Settings:
    metrics: tuple[str, ...]
    feature_extractor: str | None
    best_metric: str
    batch_size: int
    kid_subsets: int
    kid_subset_size: int
    seed: int


def _digits_task(data_cfg) -> bool:
    return str(data_cfg.name).startswith("digits")


def resolve_settings(data_cfg, request, metric_set: MetricSet, model_name: str) -> Settings:
    """Concrete settings from the run's eval request (gan_cli/run_settings.py EvalRequest) for its data."""
    extractor = request.feature_extractor
    if extractor == "auto":
        extractor = "digits_classifier" if _digits_task(data_cfg) else "inception"
    metrics = request.metrics
    if metrics == "auto":
        metrics = metric_set.default + (metric_set.on_digits if _digits_task(data_cfg) else ())
    metrics = tuple(str(m) for m in ([metrics] if isinstance(metrics, str) else metrics))
    unknown = [m for m in metrics if m not in metric_set.allowed]
    if unknown or not metrics:
        raise UserError(f"metrics={list(metrics)}: {', '.join(unknown) or 'an empty list'} cannot be computed for "
                        f"model={model_name} ({metric_set.kind}); choose from {', '.join(metric_set.allowed)} "
                        f"(or auto).")
    if "label_accuracy" in metrics and extractor != "digits_classifier":
        raise UserError("metrics=label_accuracy needs the digits classifier: it is available on the offline digit "
                        "tasks (data=digits_edges, data=digits_printed); drop label_accuracy for other data.")
    values = [v for m in metrics for v in VALUES[m]]
    best = request.best_metric
    if best == "auto":
        best = "fid" if "fid" in values else metric_set.best if metric_set.best in values else values[0]
    if best not in values:
        raise UserError(f"eval.best_metric={best!r} is not among the values these metrics give ({', '.join(values)}); "
                        f"pick one of them or auto.")
    needs_features = any(m in metrics for m in ("fid", "kid", "label_accuracy"))
    return Settings(metrics, extractor if needs_features else None, best, request.batch_size, request.kid_subsets,
                    request.kid_subset_size, request.seed)


class TranslationEvaluator:
    """The configured metrics on the held-out split; build once, call on a Translator as often as needed."""

    def __init__(self, data, request, metric_set: MetricSet, model_name: str, scale: int = 1, device="cpu"):
        """data: the run's DataSource (its held-out split, built once); request: its eval settings."""
        self.metric_set = metric_set
        self.data_cfg = data.config
        self.settings = resolve_settings(self.data_cfg, request, metric_set, model_name)
        self.pairs = heldout_pairs(data)
        self.scale = scale
        self.labels = getattr(self.pairs, "input_labels", None)
        self.extractor = None
        if self.settings.feature_extractor is not None:
            self.extractor = build_extractor(self.settings.feature_extractor, request.weights, request.download,
                                             device)
            self.target_features, _ = extract(self.extractor, torch.stack(list(self.pairs.targets())),
                                              self.settings.batch_size)
        self.protocol = self._protocol()

    def _protocol(self) -> dict:
        count = len(self.pairs)
        protocol = {
            "protocol": f"{self.metric_set.kind} on the held-out split",
            "dataset": str(self.data_cfg.name), "split": str(self.data_cfg.get("eval_split") or "test"),
            "num_inputs": count, "seed": self.settings.seed,
            "psnr": ("luma (Y, BT.601) of RGB in [0, 1], " if self.metric_set.luma else "pixels in [0, 1], ")
                    + (f"{self.scale} border pixels shaved, " if self.scale > 1 else "") + "skimage.metrics, data_range 1",
            "ssim": "skimage.metrics.structural_similarity on the same pixels as psnr (7x7 window, data_range 1)",
            "l1": "mean |output - target| of pixels in [0, 1]",
            "label_accuracy": "share of outputs the shipped digits classifier reads as the input's class",
        }
        if self.extractor is not None:
            protocol.update(self.extractor.describe())
            protocol["fid"] = (f"Fréchet distance of the classifier/Inception features of the {count} outputs and the "
                               f"{len(self.target_features)} held-out target-domain images")
            protocol["kid"] = M.kid_protocol(self.extractor, self.settings.kid_subsets,
                                             min(self.settings.kid_subset_size, count, len(self.target_features)))
        return protocol

    def metric_protocol(self, metric: str) -> dict:
        shared = {k: v for k, v in self.protocol.items() if k not in VALUES}
        return {**shared, metric: self.protocol.get(metric)}

    def outputs(self, translator: Translator) -> list[torch.Tensor]:
        """The model's output for every held-out input (one at a time for whole SR images)."""
        inputs = list(self.pairs.inputs())
        if self.metric_set.whole_images:
            return [translator(lr.unsqueeze(0))[0] for lr in inputs]
        return list(translator(torch.stack(inputs), batch_size=self.settings.batch_size))

    def __call__(self, translator: Translator) -> dict[str, float]:
        return self.values(self.outputs(translator))

    def reference_values(self) -> tuple[str, dict[str, float]]:
        """(name, values) of the reference on the same protocol: bicubic upscaling for super-resolution;
        the held-out targets themselves for the metrics that do not compare with them pairwise."""
        if self.metric_set.reference == "bicubic":
            bicubic = [upscaled_input(lr.unsqueeze(0), hr.shape[-2:])[0]
                       for lr, hr in zip(self.pairs.inputs(), self.pairs.targets())]
            return "bicubic", self.values(bicubic)
        if self.metric_set.reference == "targets" and "label_accuracy" in self.settings.metrics:
            return "real targets", {"label_accuracy": self._label_accuracy(list(self.pairs.targets()))}
        return "", {}

    def values(self, outputs: list[torch.Tensor]) -> dict[str, float]:
        s, values = self.settings, {}
        if self.metric_set.pixel_metrics and any(m in s.metrics for m in ("psnr", "ssim", "l1")):
            values.update(self._pixel_values(outputs))
        if self.extractor is not None:
            features, logits = extract(self.extractor, torch.stack(outputs), s.batch_size)
            if "fid" in s.metrics:
                values["fid"] = M.frechet_distance_of_features(features, self.target_features)
            if "kid" in s.metrics:
                size = min(s.kid_subset_size, len(features), len(self.target_features))
                values["kid"], values["kid_std"] = M.kernel_distance(features, self.target_features, s.kid_subsets,
                                                                     size, s.seed, self.extractor.kid_feature_scale)
            if "label_accuracy" in s.metrics:
                values["label_accuracy"] = self._accuracy(logits)
        return {k: v for k, v in values.items() if k in {v for m in s.metrics for v in VALUES[m]}}

    def _label_accuracy(self, images: list[torch.Tensor]) -> float:
        return self._accuracy(extract(self.extractor, torch.stack(images), self.settings.batch_size)[1])

    def _accuracy(self, logits: torch.Tensor) -> float:
        if self.labels is None:
            raise UserError(f"metrics=label_accuracy needs the class of every input, which data={self.data_cfg.name} "
                            f"does not have; drop label_accuracy.")
        return float((logits.argmax(dim=1) == self.labels[: len(logits)].cpu()).float().mean())

    def _pixel_values(self, outputs: list[torch.Tensor]) -> dict[str, float]:
        from skimage.metrics import peak_signal_noise_ratio, structural_similarity

        psnrs, ssims, l1s = [], [], []
        for output, target in zip(outputs, self.pairs.targets()):
            out, tgt = self._pixels(output), self._pixels(target)
            psnrs.append(peak_signal_noise_ratio(tgt, out, data_range=1.0))
            axis = None if out.ndim == 2 else 2
            ssims.append(structural_similarity(tgt, out, data_range=1.0, channel_axis=axis,
                                               win_size=min(7, *_odd_sides(out))))
            l1s.append(float(np.abs(out - tgt).mean()))
        return {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims)), "l1": float(np.mean(l1s))}

    def _pixels(self, image: torch.Tensor) -> np.ndarray:
        """An image in [-1, 1] as the array PSNR/SSIM compare: [0, 1], HxW (luma) or HxWxC, border shaved."""
        pixels = ((image.float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy().astype(np.float64)
        if self.metric_set.luma and pixels.shape[2] == 3:
            pixels = (16.0 + pixels @ np.array([65.481, 128.553, 24.966])) / 255.0
        elif pixels.shape[2] == 1:
            pixels = pixels[:, :, 0]
        if self.scale > 1:
            pixels = pixels[self.scale:-self.scale, self.scale:-self.scale]
        return pixels


def _odd_sides(pixels: np.ndarray) -> list[int]:
    """The image's sides rounded down to odd numbers (SSIM's window must fit and be odd)."""
    return [side if side % 2 else side - 1 for side in pixels.shape[:2]]
