"""What the image-to-image tasks share: a translator by direction instead of a latent space.

Its preview is rows of held-out examples through the generator(s); its evaluator compares the
outputs on the held-out split with the metric set of the task (gan_cli/eval/translation_metrics.py);
gan-sample translates input= files or shows held-out rows; gan-interp has nothing to walk.
"""

from __future__ import annotations

from gan_cli.tasks.base import Loaded, Task

# Held-out examples in an image-to-image model's comparison grid.
PREVIEW_EXAMPLES = 8


class ComparisonPreview:
    """Held-out examples through the image-to-image generator(s): rows of three columns per example,
    as the task draws them, for every direction the model translates."""

    def __init__(self, translator, run_log, run):
        from gan_cli import distributed
        from gan_cli.inference.image_to_image import heldout_pairs, preview_indices

        self.translator, self.run_log = translator, run_log
        self.pairs = heldout_pairs(run.data) if distributed.is_main() else None  # built once: the evaluator's too
        count = min(run.trainer.num_fixed_samples, PREVIEW_EXAMPLES)
        self.indices = preview_indices(len(self.pairs), count, run.trainer.seed) if self.pairs is not None else []
        self.crop = run.data.config.get("crop")

    def __call__(self, step: int) -> None:
        from gan_cli import distributed
        from gan_cli.inference.image_to_image import comparison

        if not distributed.is_main():
            return
        for direction in self.translator.networks:
            rows = comparison(self.translator, self.pairs, self.indices, direction, self.crop)
            self.run_log.comparison(rows, step, direction)


class TranslationTask(Task):
    """An image-to-image task. Subclasses set `directions`, `metric_set` and the comparison columns."""

    # Checkpoint key of each direction's generator.
    directions: dict[str, str] = {"AtoB": "generator"}
    resizes_inputs = True           # gan-sample input=: files resized to data.resolution (not for SR)
    fake_label = "D(G(x))"          # the fakes are translations of inputs x: there is no z
    columns = "input | output | target"   # the three columns of a comparison row (gan-sample says them)

    @property
    def metric_set(self):
        raise NotImplementedError

    def scale(self, data) -> int:
        """Output size over input size, for a data config node."""
        return 1

    def comparison_columns(self, translator, examples, direction: str, crop):
        from gan_cli.inference.image_to_image import paired_columns

        return paired_columns(translator, examples, direction, crop)

    def translator(self, state, run):
        from gan_cli.inference.image_to_image import Translator

        return Translator.from_state(self, state, self.scale(run.data.config), str(run.model.name))

    def load_translator(self, loaded: Loaded, device="cpu", use_ema: bool = True):
        from gan_cli.inference.image_to_image import Translator

        return Translator.load(self, loaded.path, loaded.checkpoint, loaded.config, device, use_ema)

    def preview(self, state, run_log, run, device):
        return ComparisonPreview(self.translator(state, run), run_log, run)

    def evaluator(self, run, device):
        from gan_cli.eval.translation_metrics import TranslationEvaluator

        return TranslationEvaluator(run.data, run.eval, self.metric_set, str(run.model.name),
                                    self.scale(run.data.config), device)

    def evaluated(self, state, run):
        return self.translator(state, run)

    def evaluate_checkpoint(self, loaded: Loaded, options, device):
        from gan_cli.eval.checkpoint_report import evaluate_against_reference, evaluation_config
        from gan_cli.tasks.run_description import RunDescription

        translator = self.load_translator(loaded, device, bool(options.get("ema", True)))
        run = RunDescription.of(evaluation_config(loaded.checkpoint, options, loaded.path), self)
        return evaluate_against_reference(loaded, translator, self.evaluator(run, device), options)

    def sample(self, loaded: Loaded, cfg, out, device) -> str:
        from gan_cli.inference.translate_files import heldout_grid_to_file, translate_to_files

        translator = self.load_translator(loaded, device, cfg.ema)
        if cfg.input is None:
            grid = heldout_grid_to_file(translator, loaded.config, loaded.path, cfg.n or PREVIEW_EXAMPLES, cfg.seed,
                                        out, cfg.direction)
            count = f"{grid.rows} held-out images" + (f" (asked {grid.asked}; the held-out split has no more)"
                                                      if grid.rows < grid.asked else "")
            return f"wrote {grid.path} ({count}, a row each: {self.columns})"
        translated = translate_to_files(translator, loaded.config, loaded.path, cfg.input, out, cfg.direction)
        paths = translated.paths
        more = f" and {len(paths) - 1} more in {paths[1].parent}" if len(paths) > 1 else ""
        return "\n".join([*translated.conversions, f"wrote {paths[0]}{more}"])

    def require_latent_space(self, loaded: Loaded) -> None:
        from gan_cli.errors import UserError

        raise UserError(f"ckpt={loaded.path} holds model={loaded.model_name}, an image-to-image model ({self.name}) "
                        f"without a latent space, so there is nothing to interpolate; translate images with "
                        f"gan-sample ckpt={loaded.path} input=<image>.")
