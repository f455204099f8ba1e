"""Generation: noise (and a class, or InfoGAN codes) -> an image or a 2-D point.

Its preview is a grid of fixed latents through the sampling generator (a row per class for
conditional models; a scatter plot over the real data for 2-D points); its evaluator draws samples
(gan_cli/eval/evaluator.py); gan-sample draws a grid, gan-interp walks its latent space.
"""

from __future__ import annotations

from gan_cli.errors import UserError
from gan_cli.tasks.base import Loaded, Task


def _positive_int(value, key: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UserError(f"{key}={value!r} must be a positive whole number.")


class FixedLatentPreview:
    """The fixed latents through the sampling generator (EMA if any), shown by `show` on rank 0."""

    def __init__(self, state, run_log, run, device):
        self.state, self.run_log = state, run_log
        z, labels, _ = state.latents.layout.grid(run.trainer.num_fixed_samples, run.trainer.seed)
        self.fixed_noise = z.to(device)
        self.fixed_labels = labels.to(device) if labels is not None else None

    def __call__(self, step: int) -> None:
        import torch

        from gan_cli import distributed

        if not distributed.is_main():
            return
        sampler = self.state.sampler
        was_training = sampler.training
        sampler.eval()
        with torch.no_grad():
            fake = sampler(self.fixed_noise, self.fixed_labels)
        sampler.train(was_training)
        self.show(fake, step)

    def show(self, fake, step: int) -> None:
        raise NotImplementedError


class GridPreview(FixedLatentPreview):
    """A grid of the fixed latents' images (a row per class), or their 2-D points over real data."""

    def __init__(self, state, run_log, run, device):
        from gan_cli.data import real_samples

        super().__init__(state, run_log, run, device)
        labels = self.fixed_labels
        self.rows = int(labels.max()) + 1 if labels is not None else None  # a row per class
        self.real_preview = (real_samples(run.data, 1000, seed=run.trainer.seed) if len(run.data.shape) == 1
                             else None)

    def show(self, fake, step: int) -> None:
        self.run_log.samples(fake, step, self.real_preview, rows=self.rows)


class GenerationTask(Task):
    name = "generation"
    summary = "noise -> image"
    is_default = True  # configs without a task key
    latent_space = True

    def check_config(self, cfg) -> None:
        _positive_int(cfg.model.latent_dim, "model.latent_dim")

    def preview(self, state, run_log, run, device):
        return GridPreview(state, run_log, run, device)

    def evaluator(self, run, device):
        from gan_cli.eval.evaluator import Evaluator

        return Evaluator(run.data, run.latent_layout, run.eval, device)

    def evaluated(self, state, run):
        return state.sampler

    def evaluate_checkpoint(self, loaded: Loaded, options, device):
        from gan_cli.eval.checkpoint_report import evaluate_generator

        return evaluate_generator(loaded, options, device)

    def sample(self, loaded: Loaded, cfg, out, device) -> str:
        from gan_cli.inference.sampling import sample_to_files

        if cfg.input is not None:
            raise UserError(f"input={cfg.input} translates images, but {loaded.path} holds model={loaded.model_name}, "
                            f"which generates from noise: drop input= (or give an image-to-image checkpoint: "
                            f"pix2pix, cyclegan, srgan).")
        paths = sample_to_files(loaded.read, cfg.n or 64, cfg.seed, out, cfg.nrow, cfg.individual, cfg.ema,
                                device, label=cfg.label, truncation=cfg.truncation)
        more = f" and {len(paths) - 1} more file(s) in {paths[1].parent}" if len(paths) > 1 else ""
        return f"wrote {paths[0]}{more}"
