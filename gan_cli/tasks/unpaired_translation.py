"""Unpaired translation (CycleGAN): domain A <-> domain B without pairs.

Its models have four networks (generator = A->B, generator_ba = B->A, discriminator judges B,
discriminator_a judges A), translate both ways, and are judged on the A->B outputs against the
held-out B domain; a comparison row is input | translation | the translation back (the cycle).
"""

from __future__ import annotations

from functools import cached_property

from gan_cli.errors import UserError
from gan_cli.tasks.image_translation import TranslationTask


class UnpairedTask(TranslationTask):
    name = "unpaired"
    summary = "domain A <-> domain B"
    networks = ("generator", "generator_ba", "discriminator", "discriminator_a")
    directions = {"AtoB": "generator", "BtoA": "generator_ba"}
    columns = "input | translation | cycle back"

    def check_config(self, cfg) -> None:
        if cfg.model.ema_decay:
            raise UserError(f"model.ema_decay={cfg.model.ema_decay} is not available for model={cfg.model.name}, "
                            f"whose two generators translate both ways; set model.ema_decay=null.")

    @cached_property
    def metric_set(self):
        from gan_cli.eval.translation_metrics import MetricSet

        return MetricSet("unpaired translation", allowed=("fid", "kid", "label_accuracy"), default=("fid", "kid"),
                         on_digits=("label_accuracy",), best="fid", pixel_metrics=False, reference="")

    def comparison_columns(self, translator, examples, direction: str, crop):
        import torch

        inputs = torch.stack([pair[0] if direction == "AtoB" else pair[1] for pair in examples])
        outputs = translator(inputs, direction)
        back = translator(outputs, "BtoA" if direction == "AtoB" else "AtoB")
        return [inputs, outputs, back]
