"""The option tables of gan-sample, gan-interp, gan-eval and gan-report (gan-train's own keys are in
gan_cli/training/train_options.py), and what every command does with its table:

    check_arguments     before Hydra composes: every KEY=VALUE names a key (typos: the close match)
    check_command       first thing in a command: no unknown key, no ??? left, every value valid
    --help              conf/hydra/help/*.yaml call ${gan_options_help:<command>}: each key's meaning,
                        type, range and default

Importing it is cheap (no torch): the commands check their command line before any heavy import.
tests/test_options.py keeps each table and its config file in step.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import replace

from omegaconf import DictConfig, OmegaConf

from gan_cli.distributed.environment import is_other_rank
from gan_cli.errors import UserError, exit_with
from gan_cli.options import (
    Option,
    check_command_line,
    check_known_keys,
    check_missing_values,
    check_options,
    help_lines,
    table,
)
from gan_cli.training.train_options import (
    EVAL,
    FEATURE_EXTRACTORS,
    GROUP_NODES,
    GROUPS,
    MISSING_EXAMPLES,
    TRAIN_OPTIONS,
)

CKPT_EXAMPLE = "ckpt=outputs/<run>/checkpoints/last.pt"


def _ckpt(help: str = "a checkpoint written by gan-train") -> Option:
    return Option("ckpt", "path", help, example=CKPT_EXAMPLE)


def _seed(key: str, help: str, optional: bool = False) -> Option:
    return Option(key, "int", help, minimum=0, dtype="seed", optional=optional)


def _out(help: str) -> Option:
    return Option("out", "path", help, optional=True)


EMA = Option("ema", "bool", "use the EMA generator when the checkpoint has one")
DEVICE = Option("device", "device", "where the generator runs: auto = cuda when a GPU is there, else cpu")
LABEL = Option("label", "int", "conditional models: the class to draw", minimum=0, optional=True)

SAMPLE_OPTIONS = table(
    _ckpt(),
    Option("n", "int", "number of samples (null: 64); image-to-image: held-out rows (null: 8)",
           minimum=1, optional=True),
    _seed("seed", "the same seed gives the same samples"),
    _out("grid PNG path (image-to-image with input=: a folder); null: <run>/samples/..."),
    Option("nrow", "int", "images per grid row; null: a square grid", minimum=1, optional=True),
    Option("individual", "bool", "also write every image as its own PNG, in a folder beside the grid"),
    replace(LABEL, help="conditional models: the class to draw; null = one grid row per class"),
    Option("truncation", "float", "StyleGAN2: psi towards the average W (0..1); BigGAN: z within +-threshold",
           minimum=0, optional=True),
    Option("input", "path", "image-to-image: an image file or a folder of images to translate", optional=True),
    Option("text", "texts", "text-to-image: the caption(s) to draw, a grid row of n per caption (null: held-out "
           "captions)", optional=True),
    Option("direction", "choice", "CycleGAN: which way to translate", choices=("AtoB", "BtoA")),
    EMA,
    DEVICE,
)

# mode=arithmetic's operands: seeds (a and b are captions for mode=text, so they are checked as seeds there).
ARITHMETIC_SEEDS = {key: Option(key, "seeds", f"mode=arithmetic: the seed (or seeds, averaged) of z_{key}", minimum=0,
                                dtype="seed", optional=True) for key in ("a", "b", "c")}

MODES = ("auto", "walk", "codes", "arithmetic", "style_mixing", "classes", "text", "augmentation")

INTERP_OPTIONS = table(
    _ckpt(),
    Option("mode", "choice", "what to draw: walk (between seeds), codes (InfoGAN), style_mixing (StyleGAN2), "
           "classes (BigGAN), text (between captions a and b), augmentation (one caption's conditioning "
           "augmentation draws), each a grid PNG and a GIF; arithmetic (not a walk: one PNG); auto: codes for "
           "InfoGAN, text for text-to-image, else walk", choices=MODES),
    Option("space", "choice", "walk in z (the noise) or w (StyleGAN2's mapped latent space)", choices=("z", "w")),
    Option("method", "choice", "slerp (spherical, suits Gaussian latents) or lerp (linear)",
           choices=("slerp", "lerp")),
    Option("steps", "int", "images per leg, both ends included", minimum=2),
    Option("seeds", "ints", "seeds to walk between: a grid row per consecutive pair", minimum=0,
           dtype="seed", min_length=2),
    _out("grid PNG path (a walk's GIF is written beside it, as .gif); null: <run>/samples/interp_<method>.png"),
    Option("frames", "int", "GIF frames per leg of a walk (style_mixing: per crossover shown)", minimum=1),
    Option("fps", "int", "GIF frames per second (GIF delays are in hundredths of a second)", minimum=1, maximum=100),
    Option("gif_size", "int", "smallest side of the GIF frames, in pixels", minimum=1, maximum=4096),
    replace(LABEL, help="conditional models: the class to draw; null: class 0"),
    _seed("seed", "mode=codes and mode=classes: the seed of the noise kept fixed"),
    Option("code", "int", "mode=codes: which continuous code to walk", minimum=0),
    Option("rows", "ints", "mode=style_mixing: seeds whose coarse styles fill each row", minimum=0,
           dtype="seed", min_length=1),
    Option("cols", "ints", "mode=style_mixing: seeds whose fine styles fill each column", minimum=0,
           dtype="seed", min_length=1),
    Option("crossover", "int", "mode=style_mixing: the first style input taken from the column seeds, below "
           "the generator's count; null: half", minimum=1, optional=True),
    Option("classes", "ints", "mode=classes: the classes to walk through (the checkpoint's class indices)",
           minimum=0, min_length=2),
    Option("truncation", "float", "StyleGAN2 walks and mixing: psi towards the average W (e.g. 0.7)",
           minimum=0, maximum=1, optional=True),
    ARITHMETIC_SEEDS["c"],
    *(Option(key, "texts", f"mode=text: caption {key} (the walk's {'start' if key == 'a' else 'end'}; mode="
             f"augmentation: a only); mode=arithmetic: the seed (or seeds, averaged) of z_{key}", optional=True)
      for key in ("a", "b")),
    EMA,
    DEVICE,
)

# gan-eval's keys replace the run's eval settings; null keeps the run's.
_RUNS = {option.key.split(".", 1)[1]: replace(option, key=option.key.split(".", 1)[1], optional=True)
         for option in EVAL}

EVAL_OPTIONS = table(
    _ckpt(),
    replace(_RUNS["metrics"], help="metrics computed; null: the run's eval.metrics (auto: by the data)"),
    Option("feature_extractor", "choice", "network whose features the metrics compare; null: the run's",
           choices=("auto", *FEATURE_EXTRACTORS), optional=True),
    _RUNS["weights"],
    replace(_RUNS["download"], help="fetch missing Inception weights (needs internet); null: the run's"),
    replace(_RUNS["num_samples"], help="generated samples; null: the run's eval.num_samples"),
    replace(_RUNS["num_real"], help="real samples behind the reference statistics; null: the run's"),
    replace(_RUNS["seed"], help="seed of the latents and of the real-sample choice; null: the run's"),
    replace(_RUNS["batch_size"], help="images per forward pass; null: the run's eval.batch_size"),
    replace(_RUNS["cache_dir"], help="real-feature cache; null: the run's, else $GAN_CLI_CACHE or ~/.cache/gan-cli"),
    Option("data_root", "path", "where the real data is on this machine, when not where the run found it",
           optional=True),
    _out("JSON path; null: beside the checkpoint, <ckpt>.eval.json"),
    Option("ema", "bool", "evaluate the EMA generator when the checkpoint has one"),
    DEVICE,
)

REPORT_OPTIONS = table(
    Option("sort_by", "str", "the value rows are sorted by; default: the sweep's objective, else loss/g"),
    Option("order", "choice", "asc or desc; default: desc for scores such as precision, else asc",
           choices=("asc", "desc")),
)

# Each Hydra command: its table, the top-level nodes the table leaves to config groups, its groups.
COMMANDS = {
    "gan-train": (TRAIN_OPTIONS, GROUP_NODES, GROUPS),
    "gan-sample": (SAMPLE_OPTIONS, (), ()),
    "gan-interp": (INTERP_OPTIONS, (), ()),
    "gan-eval": (EVAL_OPTIONS, (), ()),
}
MISSING = {"ckpt": ("a checkpoint written by gan-train", CKPT_EXAMPLE), **MISSING_EXAMPLES}


def check_arguments(command: str, args: list[str]) -> None:
    """The command line's keys, before Hydra sees them: a typo is one paragraph and exit status 2."""
    options, free, groups = COMMANDS[command]
    try:
        check_command_line(args, command, options, free, groups)
    except UserError as error:
        exit_with(error, say=not is_other_rank(os.environ))  # torchrun/SLURM: rank 0 says it


def check_command(command: str, cfg: DictConfig) -> None:
    """What a command checks first: no unknown key (+KEY=VALUE), no ??? left, every value in range."""
    options, free, _ = COMMANDS[command]
    check_known_keys(cfg, command, options, free)
    check_missing_values(cfg, command, MISSING)
    check_options(cfg, options)


def options_help(command: str, *, _root_) -> str:
    """The keys section of a command's --help (the resolver gan_options_help)."""
    options = COMMANDS[command][0]
    lines = help_lines(options, _root_)
    if command == "gan-train":
        lines += ["", "  The groups' own keys (model.*, data.*, loss.*, optim.*), e.g. data.batch_size=64,",
                  "  data.root=/path/to/images, optim.lr=2e-4, model.latent_dim=100: gan-train --cfg job",
                  "  prints the whole composed config, and the files under conf/ say what each means."]
    return "\n".join(lines).replace("$", "$$") + "\n"  # the help template is a string.Template


# gan-eval --help's metrics: what each computes and for which data (the names: gan_cli.run_settings.METRICS).
METRIC_HELP = {
    "fid": "Frechet distance between Gaussians of real and generated features (lower is better; ~0 = the data)",
    "kid": "kernel inception distance: unbiased MMD^2, cubic kernel, over subsets (lower; can dip below 0)",
    "is": "Inception Score: exp E[KL(p(y|x) || p(y))] over splits (higher; the classifier's classes)",
    "pr": "improved precision (fakes on the real manifold) and recall (reals on the fake one), k-NN (higher)",
    "classes": "digits: the share of the 10 classes drawn, and KL of the class histogram from uniform",
    "label_accuracy": "conditional models: share of samples read as the asked class; image-to-image: digit kept",
    "confident": "audio: share of clips the spoken-digits classifier reads with p >= 0.9",
    "modes": "2-D ring/grid: modes covered, high-quality share, reverse KL (the VEEGAN/PacGAN protocol)",
    "psnr": "image-to-image on held-out pairs: PSNR in dB (super-resolution: on the Y channel)",
    "ssim": "image-to-image on held-out pairs: structural similarity",
    "l1": "image-to-image on held-out pairs: mean absolute error against the target",
    "mel_l1": "vocoders on held-out speech: L1 between log-mel spectrograms (HiFi-GAN's units)",
    "mrstft": "vocoders: multi-resolution STFT distance (spectral convergence + log magnitude)",
    "pesq": "vocoders: wide-band PESQ, when the pesq package is installed (higher)",
    "stoi": "vocoders: short-time objective intelligibility, when pystoi is installed (higher)",
    "rtf": "vocoders: real-time factor, synthesis seconds per audio second on the CPU (lower)",
}


def metrics_help() -> str:
    """gan-eval --help's metrics section (the resolver gan_metrics_help)."""
    width = max(map(len, METRIC_HELP)) + 2
    return "\n".join(f"  {name:{width}s}{text}" for name, text in METRIC_HELP.items()).replace("$", "$$")


OmegaConf.register_new_resolver("gan_metrics_help", metrics_help, replace=True)


def report_help() -> str:
    return "\n".join(help_lines(REPORT_OPTIONS))


OmegaConf.register_new_resolver("gan_options_help", options_help, replace=True)


def tasks_help() -> str:
    """gan-train --help's tasks: what each makes, its models and its data (the resolver gan_tasks_help)."""
    from gan_cli.tasks import TASKS

    return "\n".join(_wrapped(task.help_line(), 19) for task in TASKS.values())


def models_help() -> str:
    """gan-train --help's models: each preset's paper, its task and default data (the resolver
    gan_models_help), from the header comments of conf/model/*.yaml (gan_cli.config_catalog)."""
    from gan_cli.config_catalog import options
    from gan_cli.tasks import task_owning

    lines = []
    for option in options("model"):
        lines.append(_wrapped(f"  {option.name:15s}{option.title}; {task_owning(option).name}, "
                              f"data={option.default_data}", 17))
    return "\n".join(lines).replace("$", "$$")


def _wrapped(line: str, indent: int, width: int = 110) -> str:
    return "\n".join(textwrap.wrap(line, width, subsequent_indent=" " * indent, break_on_hyphens=False))


OmegaConf.register_new_resolver("gan_tasks_help", tasks_help, replace=True)
OmegaConf.register_new_resolver("gan_models_help", models_help, replace=True)
