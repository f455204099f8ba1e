"""Super-resolution (SRGAN): low resolution -> high resolution, `data.scale` times larger.

Judged on the luma channel of each held-out image whole, against bicubic upscaling on the same
protocol; a comparison row is bicubic | output | original of aligned centre crops; gan-sample
upscales input= files at their own size.
"""

from __future__ import annotations

from functools import cached_property

from gan_cli.tasks.image_translation import TranslationTask


class SuperResolutionTask(TranslationTask):
    name = "super_resolution"
    summary = "low resolution -> high resolution"
    resizes_inputs = False
    columns = "bicubic | output | original"

    def scale(self, data) -> int:
        return int(data.get("scale") or 1)

    @cached_property
    def metric_set(self):
        from gan_cli.eval.translation_metrics import MetricSet

        return MetricSet("super_resolution translation", allowed=("psnr", "ssim", "l1", "fid", "kid"),
                         default=("psnr", "ssim"), on_digits=(), best="psnr", luma=True, whole_images=True,
                         reference="bicubic")

    def comparison_columns(self, translator, examples, direction: str, crop):
        import torch

        from gan_cli.inference.image_to_image import centre_crop_pair, upscaled_input

        scale = translator.scale
        cut = [centre_crop_pair(lr, hr, crop or hr.shape[-1], scale) for lr, hr in examples]
        size = min(min(hr.shape[-2:]) for _, hr in cut)
        cut = [(lr[..., : size // scale, : size // scale], hr[..., :size, :size]) for lr, hr in cut]
        lr, hr = torch.stack([c[0] for c in cut]), torch.stack([c[1] for c in cut])
        return [upscaled_input(lr, hr.shape[-2:]), translator(lr, direction), hr]
