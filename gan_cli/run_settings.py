"""gan-train's own settings as typed objects: trainer.*, regularizers.*, augment.*, eval.*, resume and
objective, each a field that carries its Option (kind, range, meaning).

These classes are the one place a key's type and range are written: the table gan-train checks and
prints (gan_cli/training/train_options.py TRAIN_OPTIONS) is read off them, and RunSettings.from_config
turns a checked config into them once, at the start of a run; the code below the command reads
`settings.trainer.steps`, never the root config. The config groups model, data, loss and optim are
each option's own (a model's keys differ from another's) and stay config nodes, checked where they
are built.

Like gan_cli/options.py this module imports neither torch nor Hydra.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from omegaconf import DictConfig, ListConfig, OmegaConf

from gan_cli.options import Option, check_value

# The values gan-cli's metrics give (gan_cli/eval/evaluator.py VALUES and gan_cli/eval/translation_metrics.py
# VALUES and gan_cli/eval/vocoder_metrics.py VOCODER_VALUES; a test keeps them equal): what eval.best_metric may name.
METRICS = ("fid", "kid", "is", "pr", "classes", "label_accuracy", "confident", "modes", "psnr", "ssim", "l1", "mel_l1",
           "mrstft", "pesq", "stoi", "rtf")
METRIC_VALUES = ("fid", "kid", "kid_std", "is", "is_std", "precision", "recall", "class_coverage", "class_kl",
                 "label_accuracy", "confident", "modes", "high_quality", "reverse_kl", "psnr", "ssim", "l1", "mel_l1",
                 "mrstft", "pesq", "stoi", "rtf")
AUGMENTATIONS = ("color", "translation", "cutout")  # gan_cli/training/objectives/augment.py POLICIES
FEATURE_EXTRACTORS = ("inception", "digits_classifier", "captioned_digits_classifier", "spoken_digits_classifier")
PRECISIONS = ("32", "bf16", "fp16")


def setting(kind: str, help: str, **option):
    """A field holding one key: its Option's kind, meaning and range (the key is the field's path)."""
    return field(metadata={"option": (kind, help, option)})


def count(help: str, minimum: int = 1):
    return setting("int", help, minimum=minimum)


def weight(help: str):
    return setting("float", help, above=0, optional=True)


def group(cls):
    """A field holding a node of keys (trainer, eval, ...): a settings class of its own."""
    return field(metadata={"group": cls})


@dataclass(frozen=True)
class TrainerSettings:
    steps: int = count("generator updates in the whole run")
    n_critic: int = count("discriminator updates per generator update")
    accumulate: int = count("batches whose gradients are summed into each update")
    device: str = setting("device", "where the run trains: auto = cuda when a GPU is there, else cpu")
    seed: int = setting("int", "seed of the weights, latents and data order (each rank adds its rank)",
                        minimum=0, dtype="seed")
    log_every: int = count("steps between log lines and TensorBoard scalars")
    sample_every: int = count("steps between image grids of the fixed noise")
    checkpoint_every: int = count("steps between checkpoints (one is always written at the end)")
    keep_checkpoints: int = count("step checkpoints kept besides last.pt")
    save_checkpoints: bool = setting("bool", "write checkpoints (false: debug runs, which cannot resume)")
    num_fixed_samples: int = count("size of the fixed-noise grid")
    devices: int = count("processes on this machine (GPUs, or gloo processes on CPU); >1 runs DDP")
    precision: str = setting("choice", "autocast precision (fp16 with a gradient scaler)", choices=PRECISIONS)
    compile: bool = setting("bool", "torch.compile G and D")
    channels_last: str | bool = setting("choice", "channels-last memory format; auto = on for GPUs",
                                        choices=("auto", True, False))
    progress: str | bool = setting("choice", "live progress line (it/s, ETA, losses); auto = on a terminal, not in "
                                   "sweeps; true = also when not a terminal", choices=("auto", True, False))
    ddp_timeout_s: float = setting("float", "seconds a collective may wait (a dead rank) before the run fails",
                                   above=0, dtype="seconds")


@dataclass(frozen=True)
class RegularizerSettings:
    gradient_penalty: float | None = weight("lambda of the WGAN-GP penalty on interpolates (e.g. 10); null = off")
    weight_clip: float | None = weight("clip D's weights to [-c, c] after each D step (WGAN, e.g. 0.01); null = off")
    r1: float | None = weight("gamma of the R1 penalty on real images (e.g. 10); null = off")
    r1_interval: int = count("lazy R1: every k D steps, scaled by k (StyleGAN2: 16)")
    drift: float | None = weight("epsilon of ProGAN's drift term on D's real scores (e.g. 0.001); null = off")
    orthogonal: float | None = weight("beta of BigGAN's orthogonal regularization of G (e.g. 1e-4); null = off")


@dataclass(frozen=True)
class AugmentSettings:
    policy: tuple[str, ...] | None = setting("names", "DiffAugment on every image D sees; null = off",
                                             choices=AUGMENTATIONS, optional=True, comma_separated=True)


@dataclass(frozen=True)
class EvalRequest:
    """The eval node as written (auto where the data decides); the evaluators resolve it for their data."""

    every: int = setting("int", "steps between evaluations during training; 0 = off", minimum=0)
    metrics: tuple[str, ...] | str = setting("names", "metrics computed (auto: by the data)", choices=METRICS,
                                             auto=True)
    feature_extractor: str = setting("choice", "network whose features the metrics compare (auto: by the data)",
                                     choices=("auto", *FEATURE_EXTRACTORS))
    weights: str | None = setting("path", "Inception-v3 weights file; null: torch hub's cache", optional=True)
    download: bool = setting("bool", "fetch missing Inception weights into torch hub's cache (needs internet)")
    num_samples: int | str = setting("int", "generated samples (auto: 2500 ring/grid, 2000 digits and spoken digits, 10000 Inception)",
                                     minimum=2, auto=True)
    num_real: int | str = setting("int", "real samples behind the reference statistics (auto: 10000, capped)",
                                  minimum=2, auto=True)
    best_metric: str = setting("choice", "value that picks checkpoints/best.pt (auto: fid, reverse_kl on ring/grid)",
                               choices=("auto", *METRIC_VALUES))
    seed: int = setting("int", "seed of the generated samples' latents and of the real ones' choice",
                        minimum=0, dtype="seed")
    batch_size: int = count("images per forward pass of the generator and the feature extractor")
    kid_subsets: int = count("KID: number of subsets")
    kid_subset_size: int = count("KID: samples per subset (capped at the sample counts)", minimum=2)
    pr_k: int = count("precision/recall: k of the nearest-neighbour manifolds")
    is_splits: int = count("Inception Score: splits of the generated samples")
    cache_dir: str | None = setting("path", "real-feature cache; null: $GAN_CLI_CACHE or ~/.cache/gan-cli",
                                    optional=True)


@dataclass(frozen=True)
class RunSettings:
    """Every key of gan-train's own, typed and checked: what the run reads besides its config groups."""

    resume: str | None = setting("path", "checkpoint to continue (a .pt of gan-train), or auto (a sweep's own "
                                 "folders)", optional=True, auto=True, example="resume=outputs/<run>/checkpoints/last.pt")
    objective: str = setting("str", "the final value gan-train returns to a sweeper: a logged scalar or a metric")
    trainer: TrainerSettings = group(TrainerSettings)
    regularizers: RegularizerSettings = group(RegularizerSettings)
    augment: AugmentSettings = group(AugmentSettings)
    eval: EvalRequest = group(EvalRequest)

    @classmethod
    def from_config(cls, cfg) -> RunSettings:
        """The settings of a composed config, each value checked against its Option (a UserError naming
        the first bad one) and converted to its field's type."""
        return _build(cls, cfg, "")


def options_of(cls, prefix: str = "") -> list[Option]:
    """The Options of a settings class and of its groups, keyed by their dotted paths."""
    found = []
    for item in fields(cls):
        key = f"{prefix}{item.name}"
        if "group" in item.metadata:
            found.extend(options_of(item.metadata["group"], key + "."))
        else:
            kind, help, option = item.metadata["option"]
            found.append(Option(key, kind, help, **option))
    return found


def _build(cls, node, prefix: str):
    values = {}
    for item in fields(cls):
        key = f"{prefix}{item.name}"
        if "group" in item.metadata:
            values[item.name] = _build(item.metadata["group"], node[item.name], key + ".")
            continue
        kind, help, option = item.metadata["option"]
        option = Option(key, kind, help, **option)
        value = node[item.name]
        check_value(option, value)
        values[item.name] = typed_value(option, value)
    return cls(**values)


def typed_value(option: Option, value):
    """A checked config value as its field's type: ints and floats as such, names as a tuple, a choice
    among texts as text (precision 32 -> "32"); None and auto stay."""
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value, resolve=True)
    if value is None or (option.auto and value == "auto"):
        return value
    kind = option.kind
    if kind == "int":
        return int(value)
    if kind == "float":
        return float(value)
    if kind == "names":
        if isinstance(value, str):
            value = value.split(",") if option.comma_separated else [value]
        return tuple(str(name).strip() for name in value)
    if kind == "choice" and isinstance(value, int) and not isinstance(value, bool) and str(value) in option.choices:
        return str(value)
    return value
