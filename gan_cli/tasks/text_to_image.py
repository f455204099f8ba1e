"""Text-to-image (StackGAN): a caption (and noise) -> an image.

Its data is captioned images (data=captioned_digits, or any data config whose dataset carries
captions: `data.captions: true`); the run's text encoder (model.text_encoder: the shipped
captioned_digits one, or a file) embeds every caption once, and the batches pair each real image with
one of its captions' embeddings (gan_cli.data.caption_batches.py). Stage 2 (model.stage=2) refines a frozen
Stage-I generator read from model.stage1_ckpt (the same allow-listed loader as any checkpoint).

Its preview is a row of draws per held-out caption with the caption written under it; its evaluator
draws one image per held-out caption (gan_cli/eval/text_metrics.py); gan-sample draws `text=`
captions, gan-interp walks between two captions or along one caption's conditioning augmentation.
"""

from __future__ import annotations

import functools

from gan_cli.errors import UserError
from gan_cli.tasks.base import Loaded, Task

PREVIEW_CAPTIONS = 8  # held-out captions in the training preview, a row of draws each


@functools.lru_cache(maxsize=4)
def _embedder(name: str):
    from gan_cli.text.encoder import load_text_encoder, text_encoder_path

    return load_text_encoder(text_encoder_path(name))


def text_encoder(model):
    """The run's (or a checkpoint's) text encoder, read once per process."""
    embedder = _embedder(str(model.text_encoder))
    expected = model.generator.get("text_dim")
    if expected is not None and int(expected) != embedder.embedding_dim:
        raise UserError(f"model.text_encoder={model.text_encoder} embeds captions in {embedder.embedding_dim} "
                        f"dimensions, but the generator takes model.generator.text_dim={expected}: set "
                        f"model.text_dim={embedder.embedding_dim} (or use the encoder the model was built for).")
    return embedder


def heldout_captions(data, count: int) -> list[str]:
    """The first caption of each of the first `count` held-out images."""
    captions = data.heldout.captions
    return [texts[0] for texts in captions[:count]]


class CaptionPreview:
    """A row of draws (fixed noise) per held-out caption, the caption under it."""

    def __init__(self, state, run_log, run, device):
        self.state, self.run_log = state, run_log
        self.captions = heldout_captions(run.data, PREVIEW_CAPTIONS)
        self.per_caption = max(1, run.trainer.num_fixed_samples // len(self.captions))
        self.embedder, self.device, self.seed = text_encoder(run.model), device, run.trainer.seed

    def __call__(self, step: int) -> None:
        from gan_cli import distributed
        from gan_cli.inference.caption_images import CaptionDrawer

        if not distributed.is_main():
            return
        drawer = CaptionDrawer(self.state.generator, self.embedder, self.device)
        self.run_log.captioned(drawer.draw(self.captions, self.seed, self.per_caption), self.captions, step)


class TextToImageTask(Task):
    name = "text_to_image"
    summary = "caption -> image"
    latent_space = True
    extra_data = ("captioned_digits",)  # captioned generation data: its captions are read (data.captions)
    takes_text = True

    def accepts_data(self, data_cfg) -> bool:
        return bool(data_cfg.get("captions"))

    def check_config(self, cfg) -> None:
        from gan_cli.tasks.generation import _positive_int

        _positive_int(cfg.model.latent_dim, "model.latent_dim")
        if cfg.model.get("ema_decay") is not None or cfg.model.get("ema_half_life_images") is not None:
            raise UserError(f"model.ema_decay={cfg.model.get('ema_decay')}: StackGAN samples from its generator "
                            f"itself (the paper keeps no EMA); set model.ema_decay=null.")
        stage = cfg.model.get("stage")
        if stage == 2 and not cfg.get("resume") and not cfg.model.get("stage1_ckpt"):
            raise UserError("model.stage=2 refines a trained Stage-I generator, but model.stage1_ckpt is not set: "
                            "train Stage I first (gan-train model=stackgan) and pass its checkpoint, e.g. "
                            "model.stage1_ckpt=outputs/<run>/checkpoints/last.pt data.resolution=64.")

    def batches(self, run, device, seed: int, rank: int, world_size: int):
        from gan_cli.data.caption_batches import caption_batches, captions_of
        from gan_cli.text.encoder import embed_captions

        embedder, captions = text_encoder(run.model), captions_of(run.data)
        _check_vocabulary(embedder, captions, run)
        embeddings, counts = embed_captions(embedder, captions)
        return caption_batches(run.data, embeddings, counts, device, seed, rank, world_size)

    def prepare_networks(self, networks: dict, run) -> None:
        """Stage 2, started afresh: the Stage-I generator's weights from model.stage1_ckpt (a resumed run
        has them in its own checkpoint)."""
        if run.model.get("stage") != 2 or run.resume:
            return
        from gan_cli.runs.stage_one import load_stage_one

        load_stage_one(networks["generator"], run.model, run.config.data)

    def preview(self, state, run_log, run, device):
        return CaptionPreview(state, run_log, run, device)

    def evaluator(self, run, device):
        from gan_cli.eval.text_metrics import CaptionEvaluator

        return CaptionEvaluator(run.data, run.eval, text_encoder(run.model), int(run.model.latent_dim), device)

    def evaluated(self, state, run):
        from gan_cli.inference.caption_images import CaptionDrawer

        return CaptionDrawer(state.generator, text_encoder(run.model), next(state.generator.parameters()).device)

    # --- a checkpoint ----------------------------------------------------------------------------
    def drawer(self, loaded: Loaded, device):
        from gan_cli.inference.caption_images import CaptionDrawer
        from gan_cli.inference.loading import generator_of

        generator = generator_of(loaded.checkpoint, loaded.config, loaded.path, use_ema=False, device=device)
        return CaptionDrawer(generator, text_encoder(loaded.config.model), device)

    def evaluate_checkpoint(self, loaded: Loaded, options, device):
        from gan_cli.eval.text_metrics import evaluate_captions

        return evaluate_captions(loaded, self.drawer(loaded, device), options, device)

    def sample(self, loaded: Loaded, cfg, out, device) -> str:
        from gan_cli.inference.caption_images import write_caption_grid
        from gan_cli.inference.sampling import default_output

        if cfg.input is not None:
            raise UserError(f"input={cfg.input} translates images, but {loaded.path} holds model={loaded.model_name}, "
                            f"which draws from captions: use text=\"a red seven\" instead.")
        captions = _texts(cfg.text) if cfg.text is not None else heldout_captions(_data(loaded), PREVIEW_CAPTIONS)
        per_caption = cfg.n or 8
        images = self.drawer(loaded, device).draw(captions, cfg.seed, per_caption, check=True)
        path = out or default_output(loaded.path, f"captions_seed{cfg.seed}_n{per_caption}.png")
        paths = write_caption_grid(images, captions, per_caption, path, cfg.individual)
        more = f" and {len(paths) - 1} image(s) in {paths[1].parent}" if len(paths) > 1 else ""
        return f"wrote {paths[0]} ({len(captions)} caption(s), a row of {per_caption} each){more}"

    def interpolate(self, loaded: Loaded, cfg, device) -> str:
        from gan_cli.inference.caption_images import augmentation_walk, caption_walk, write_caption_grid
        from gan_cli.inference.sampling import default_output

        mode = cfg.mode
        if mode not in ("auto", "text", "augmentation"):
            raise UserError(f"mode={mode} is not a walk of a text-to-image model: {loaded.path} holds "
                            f"model={loaded.model_name}; use mode=text a=\"...\" b=\"...\" (between two captions) or "
                            f"mode=augmentation a=\"...\" (one caption's conditioning-augmentation draws).")
        a, b = (_one_text(cfg[key], key) for key in ("a", "b"))
        if mode == "auto":
            mode = "augmentation" if a is not None and b is None else "text"
        defaults = heldout_captions(_data(loaded), 2)
        drawer = self.drawer(loaded, device)
        seeds = list(cfg.seeds) if not isinstance(cfg.seeds, int) else [cfg.seeds]
        if mode == "text":
            a, b = a or defaults[0], b or defaults[1]
            images, captions = caption_walk(drawer, a, b, cfg.steps, seeds), [f"{a}  ->  {b}"] * len(seeds)
        else:
            a = a or defaults[0]
            images, captions = augmentation_walk(drawer, a, cfg.steps, seeds), [f"{a} (noise draws)"] * len(seeds)
        path = cfg.out or default_output(loaded.path, f"interp_{mode}.png")
        write_caption_grid(images, captions, cfg.steps, path)
        return f"wrote {path} ({len(seeds)} row(s) of {cfg.steps} steps, mode={mode})"


def _check_vocabulary(embedder, captions, run, least: float = 0.5) -> None:
    """Refuse a text encoder that knows too few of the data's caption words (another data set's)."""
    from gan_cli.text.tokens import words

    sample = [word for texts in captions[:2000] for text in texts[:2] for word in words(text)]
    known = sum(word in embedder.vocabulary.index for word in sample) / max(1, len(sample))
    if known < least:
        raise UserError(f"model.text_encoder={run.model.text_encoder} knows {known:.0%} of the caption words of "
                        f"data={run.data.name} (its vocabulary is another data set's): train one on these captions, "
                        f"python scripts/train_text_encoder.py --root <data.root> --out my_text.pt, and pass "
                        f"model.text_encoder=my_text.pt.")


def _data(loaded: Loaded):
    from gan_cli.data import DataSource

    return DataSource(loaded.config.data)


def _texts(value) -> list[str]:
    from omegaconf import OmegaConf

    value = OmegaConf.to_container(value) if OmegaConf.is_list(value) else value
    return [str(text) for text in value] if isinstance(value, list) else [str(value)]


def _one_text(value, key: str) -> str | None:
    if value is None:
        return None
    texts = _texts(value)
    if len(texts) != 1:
        raise UserError(f"{key}={texts!r}: a walk goes between two captions, so {key} is one caption.")
    return texts[0]
