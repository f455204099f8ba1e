"""Paired translation (pix2pix): an image -> its paired image, judged against each input's own target."""

from __future__ import annotations

from functools import cached_property

from gan_cli.tasks.image_translation import TranslationTask


class PairedTask(TranslationTask):
    name = "paired"
    summary = "image -> paired image"

    @cached_property
    def metric_set(self):
        from gan_cli.eval.translation_metrics import TRANSLATION_METRICS, MetricSet

        return MetricSet("paired translation", allowed=TRANSLATION_METRICS, default=("psnr", "ssim", "l1"),
                         on_digits=("fid", "label_accuracy"), best="l1", reference="targets")
