"""gan-train's own keys (conf/train.yaml's nodes and conf/trainer/default.yaml), as one table: kind,
range and meaning of each, checked before any work (validation.py) and printed by gan-train --help.

The config groups model, data, loss and optim are each option's own and are checked where they are
built. tests/test_options.py keeps this table and the config files in step.
"""

from __future__ import annotations

from gan_cli.options import Option, table

# The values gan-cli's metrics give (gan_cli/eval/evaluator.py VALUES and gan_cli/eval/translation_metrics.py
# VALUES; a test keeps them equal): what eval.best_metric may name.
METRICS = ("fid", "kid", "is", "pr", "classes", "label_accuracy", "modes", "psnr", "ssim", "l1")
METRIC_VALUES = ("fid", "kid", "kid_std", "is", "is_std", "precision", "recall", "class_coverage", "class_kl",
                 "label_accuracy", "modes", "high_quality", "reverse_kl", "psnr", "ssim", "l1")
AUGMENTATIONS = ("color", "translation", "cutout")  # gan_cli/training/objectives/augment.py POLICIES
FEATURE_EXTRACTORS = ("inception", "digits_classifier")

# Top-level nodes the table leaves to their config groups, and gan-train's config groups.
GROUP_NODES = ("model", "data", "loss", "optim")
GROUPS = ("model", "data", "loss", "optim", "trainer", "experiment", "hparams_search", "debug")


def _count(key: str, help: str, minimum: int = 1) -> Option:
    return Option(key, "int", help, minimum=minimum)


def _weight(key: str, help: str) -> Option:
    return Option(key, "float", help, above=0, optional=True)


TRAINER = (
    _count("trainer.steps", "generator updates in the whole run"),
    _count("trainer.n_critic", "discriminator updates per generator update"),
    _count("trainer.accumulate", "batches whose gradients are summed into each update"),
    Option("trainer.device", "device", "where the run trains: auto = cuda when a GPU is there, else cpu"),
    Option("trainer.seed", "int", "seed of the weights, latents and data order (each rank adds its rank)",
           minimum=0, dtype="seed"),
    _count("trainer.log_every", "steps between log lines and TensorBoard scalars"),
    _count("trainer.sample_every", "steps between image grids of the fixed noise"),
    _count("trainer.checkpoint_every", "steps between checkpoints (one is always written at the end)"),
    _count("trainer.keep_checkpoints", "step checkpoints kept besides last.pt"),
    Option("trainer.save_checkpoints", "bool", "write checkpoints (false: debug runs, which cannot resume)"),
    _count("trainer.num_fixed_samples", "size of the fixed-noise grid"),
    _count("trainer.devices", "processes on this machine (GPUs, or gloo processes on CPU); >1 runs DDP"),
    Option("trainer.precision", "choice", "autocast precision (fp16 with a gradient scaler)",
           choices=("32", "bf16", "fp16")),
    Option("trainer.compile", "bool", "torch.compile G and D"),
    Option("trainer.channels_last", "choice", "channels-last memory format; auto = on for GPUs",
           choices=("auto", True, False)),
    Option("trainer.ddp_timeout_s", "float", "seconds a collective may wait (a dead rank) before the run fails",
           above=0, dtype="seconds"),
)

REGULARIZERS = (
    _weight("regularizers.gradient_penalty", "lambda of the WGAN-GP penalty on interpolates (e.g. 10); null = off"),
    _weight("regularizers.weight_clip", "clip D's weights to [-c, c] after each D step (WGAN, e.g. 0.01); null = off"),
    _weight("regularizers.r1", "gamma of the R1 penalty on real images (e.g. 10); null = off"),
    _count("regularizers.r1_interval", "lazy R1: every k D steps, scaled by k (StyleGAN2: 16)"),
    _weight("regularizers.drift", "epsilon of ProGAN's drift term on D's real scores (e.g. 0.001); null = off"),
    _weight("regularizers.orthogonal", "beta of BigGAN's orthogonal regularization of G (e.g. 1e-4); null = off"),
)

EVAL = (
    Option("eval.every", "int", "steps between evaluations during training; 0 = off", minimum=0),
    Option("eval.metrics", "names", "metrics computed (auto: by the data)", choices=METRICS, auto=True),
    Option("eval.feature_extractor", "choice", "network whose features the metrics compare (auto: by the data)",
           choices=("auto", *FEATURE_EXTRACTORS)),
    Option("eval.weights", "path", "Inception-v3 weights file; null: torch hub's cache", optional=True),
    Option("eval.download", "bool", "fetch missing Inception weights into torch hub's cache (needs internet)"),
    Option("eval.num_samples", "int", "generated samples (auto: 2500 ring/grid, 2000 digits, 10000 Inception)",
           minimum=2, auto=True),
    Option("eval.num_real", "int", "real samples behind the reference statistics (auto: 10000, capped)",
           minimum=2, auto=True),
    Option("eval.best_metric", "choice", "value that picks checkpoints/best.pt (auto: fid, reverse_kl on ring/grid)",
           choices=("auto", *METRIC_VALUES)),
    Option("eval.seed", "int", "seed of the generated samples' latents and of the real ones' choice",
           minimum=0, dtype="seed"),
    _count("eval.batch_size", "images per forward pass of the generator and the feature extractor"),
    _count("eval.kid_subsets", "KID: number of subsets"),
    _count("eval.kid_subset_size", "KID: samples per subset (capped at the sample counts)", minimum=2),
    _count("eval.pr_k", "precision/recall: k of the nearest-neighbour manifolds"),
    _count("eval.is_splits", "Inception Score: splits of the generated samples"),
    Option("eval.cache_dir", "path", "real-feature cache; null: $GAN_CLI_CACHE or ~/.cache/gan-cli", optional=True),
)

TRAIN_OPTIONS = table(
    Option("resume", "path", "checkpoint to continue (a .pt of gan-train), or auto (a sweep's own folders)",
           optional=True, auto=True, example="resume=outputs/<run>/checkpoints/last.pt"),
    Option("objective", "str", "the final value gan-train returns to a sweeper: a logged scalar or a metric"),
    *TRAINER,
    *REGULARIZERS,
    Option("augment.policy", "names", "DiffAugment on every image D sees; null = off",
           choices=AUGMENTATIONS, optional=True, comma_separated=True),
    *EVAL,
)

# Mandatory values (???) in gan-train's config groups: what they are and an example.
MISSING_EXAMPLES = {
    "data.root": ("the folder the images are read from", "data.root=/path/to/images"),
}
