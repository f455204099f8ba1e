"""Text-to-image metrics: images drawn from held-out captions, judged against the caption and the data.

    evaluator = CaptionEvaluator(run.data, run.eval, embedder, latent_dim, device)
    values = evaluator(generator)     # {"fid": ..., "digit_accuracy": ..., "attributes_right": ..., "r_precision": ...}

One image is drawn per held-out caption (the held-out split's images in turn, caption k of each on the
k-th pass, until eval.num_samples), with seeded noise. Then:
  fid, kid, is, pr, classes   the image metrics of gan_cli/eval/evaluator.py, against the training images
  r_precision                 the share of images whose own caption the text encoder ranks first among it
                              and 99 captions of other held-out images (AttnGAN's R-precision, R = 1)
and on the captioned digits, where every caption word can be read back from pixels:
  digit_accuracy              the shipped classifier reads the caption's digit
  colour_ / background_ / size_ / position_accuracy   read_attributes agrees with the caption
  attributes_right            digit, both colours and size all right at once
`real_data_values` gives the same for the held-out images themselves: what a perfect model would score.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_cli.data import as_source
from gan_cli.eval.evaluator import Evaluator
from gan_cli.eval.features import extract
from gan_cli.latent_layout import LatentLayout
from gan_cli.text.encoder import r_precision

ATTRIBUTES = ("colour", "background", "size", "position")
ALL_RIGHT = ("digit", "colour", "background", "size")  # what attributes_right asks of one image
DECOYS = 99


class CaptionEvaluator:
    def __init__(self, data, request, embedder, latent_dim: int, device="cpu"):
        self.data = as_source(data)
        self.embedder, self.device = embedder, torch.device(device)
        self.images = Evaluator(self.data, LatentLayout(latent_dim), request, device)
        self.settings = self.images.settings
        heldout = self.data.heldout
        self.heldout = heldout
        captions = tuple(tuple(texts) for texts in heldout.captions)
        count = self.settings.num_samples
        self.source_index = torch.arange(count) % len(captions)        # the held-out image each caption is of
        self.captions = [captions[i][(k // len(captions)) % len(captions[i])]
                         for k, i in enumerate(self.source_index.tolist())]
        renders = getattr(heldout, "attributes", None)
        self.truth = renders() if callable(renders) else None           # the captioned digits' true attributes
        self.embeddings = torch.cat([embedder.embed(self.captions[i:i + 500]).cpu()
                                     for i in range(0, count, 500)])
        self.protocol = {
            **self.images.protocol,
            "captions": f"{count} held-out captions of data={self.data.name} split "
                        f"{self.data.config.get('eval_split') or 'test'}: caption k of each held-out image on the k-th pass",
            "r_precision": f"R-precision (R = 1): the image's caption ranked first among it and {DECOYS} others by "
                           f"the text encoder {embedder.path} (cosine of the image and caption embeddings)",
            "attributes": "digit by the classifier; colours, size, position by pixel statistics and the glyph's box "
                          "(gan_cli.data.captioned_digits.read_attributes); attributes_right: " + ", ".join(ALL_RIGHT),
        }

    @torch.no_grad()
    def __call__(self, drawer) -> dict[str, float]:
        """The values for the images a CaptionDrawer (gan_cli.inference.caption_images.py) draws."""
        from gan_cli.inference.caption_images import seeded_noise

        z, noise = seeded_noise(len(self.embeddings), drawer.latent_dim, drawer.c_dim, self.settings.seed)
        return self.values(drawer.images(self.embeddings, z, noise))

    def values(self, images: torch.Tensor) -> dict[str, float]:
        values = self.images.image_metrics(images)
        values["r_precision"] = self.r_precision(images)
        if self.truth is not None:
            values.update(self.attribute_accuracy(images))
        return values

    def r_precision(self, images: torch.Tensor) -> float:
        size = int(self.embedder.settings.get("resolution", images.shape[-1]))
        if images.shape[-1] != size:
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        return r_precision(self.embedder, images, self.captions, DECOYS, seed=self.settings.seed)

    def attribute_accuracy(self, images: torch.Tensor) -> dict[str, float]:
        from gan_cli.data.captioned_digits import read_attributes

        _, logits = extract(self.images.extractor, images, self.settings.batch_size)
        truth = {key: value[self.source_index] for key, value in self.truth.items()}
        right = {"digit": logits.argmax(dim=1) == truth["digit"]}
        read = read_attributes(images)
        right.update({key: read[key] == truth[key] for key in ATTRIBUTES})
        values = {f"{key}_accuracy": float(hit.float().mean()) for key, hit in right.items()}
        values["attributes_right"] = float(torch.stack([right[key] for key in ALL_RIGHT]).all(dim=0).float().mean())
        return values

    def real_data_values(self) -> tuple[dict[str, float], int]:
        """The held-out images scored with their own captions."""
        heldout = self.heldout
        if isinstance(heldout, (tuple, list)):
            images = heldout[0][self.source_index]
        else:  # a streamed folder: each held-out image read once
            unique = {index: heldout[index][0] for index in sorted(set(self.source_index.tolist()))}
            images = torch.stack([unique[index] for index in self.source_index.tolist()])
        return self.values(images), len(images)


TEXT_VALUES = {"r_precision": ("r_precision",),
               "attributes": tuple(f"{key}_accuracy" for key in ("digit", *ATTRIBUTES)) + ("attributes_right",)}


def _metric_protocol(evaluator: CaptionEvaluator, metric: str) -> dict:
    if metric in TEXT_VALUES:
        shared = {k: v for k, v in evaluator.images.metric_protocol("fid").items() if k != "fid"}
        return {**shared, "captions": evaluator.protocol["captions"],
                metric: evaluator.protocol["r_precision" if metric == "r_precision" else "attributes"]}
    return {**evaluator.images.metric_protocol(metric), "captions": evaluator.protocol["captions"]}


def evaluate_captions(loaded, drawer, options, device="cpu") -> tuple[dict, object]:
    """gan-eval of a text-to-image checkpoint: its values beside the held-out images' own, with protocols."""
    from pathlib import Path

    from gan_cli.data import DataSource
    from gan_cli.eval.checkpoint_report import default_output, evaluation_config, report_head
    from gan_cli.eval.evaluator import VALUES, eval_request
    from gan_cli.runs.files import write_json_atomic

    cfg = evaluation_config(loaded.checkpoint, options, loaded.path)
    evaluator = CaptionEvaluator(DataSource(cfg.data), eval_request(cfg), drawer.embedder, drawer.latent_dim, device)
    values = evaluator(drawer)
    real, count = evaluator.real_data_values()
    groups = {**{m: VALUES[m] for m in evaluator.settings.metrics}, **TEXT_VALUES}
    report = {
        **report_head(loaded, options), "generator": "raw",
        "values": values, "real_data": real, "real_data_samples": count,
        "metrics": {metric: {"values": {name: values[name] for name in names if name in values},
                             "protocol": _metric_protocol(evaluator, metric)}
                    for metric, names in groups.items() if any(name in values for name in names)},
    }
    out = write_json_atomic(Path(options.get("out") or default_output(loaded.path)), report)
    return report, out
