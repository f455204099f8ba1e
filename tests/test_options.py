"""The option tables: each in step with its config, every bad value of every kind named before any
work (one paragraph, exit status 2), the checkpoint's own ranges (crossover, classes), --help from
the tables, and every mandatory ??? value asked for with an example."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import compose_train, run_cli
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from gan_cli.cli.command_options import COMMANDS, MISSING, REPORT_OPTIONS
from gan_cli.errors import UserError
from gan_cli.options import check_missing_values, check_value, missing_values, problem
from gan_cli.training.train_options import AUGMENTATIONS, METRIC_VALUES, METRICS, TRAIN_OPTIONS

CONF = Path(__file__).resolve().parent.parent / "conf"
CONFIG_NAMES = {"gan-sample": "sample", "gan-interp": "interp", "gan-eval": "eval"}
TRAIN_NODES = ("resume", "objective", "trainer", "regularizers", "augment", "eval")


def _compose(name: str, overrides=()):
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        return compose(config_name=name, overrides=list(overrides))


def _leaf_keys(node, prefix=""):
    if not OmegaConf.is_dict(node):
        return [prefix]
    return [key for name in node for key in _leaf_keys(node._get_node(name), f"{prefix}.{name}" if prefix else name)]


# The tables and the config files.

@pytest.mark.parametrize("command", sorted(CONFIG_NAMES))
def test_every_config_key_has_a_table_entry_and_every_entry_a_config_key(command):
    cfg = _compose(CONFIG_NAMES[command])
    assert sorted(cfg.keys()) == sorted(COMMANDS[command][0])


def test_gan_train_table_covers_its_own_nodes_and_the_trainer_exactly():
    cfg = _compose("train")
    keys = [key for node in TRAIN_NODES for key in _leaf_keys(cfg._get_node(node), node)]
    assert sorted(keys) == sorted(TRAIN_OPTIONS)
    trainer_yaml = OmegaConf.load(CONF / "trainer" / "default.yaml")
    assert {f"trainer.{key}" for key in trainer_yaml} == {key for key in TRAIN_OPTIONS if key.startswith("trainer.")}


def test_gan_report_table_is_what_write_summary_takes():
    from gan_cli.runs.sweep_summary import write_summary

    assert list(REPORT_OPTIONS) == [p for p in inspect.signature(write_summary).parameters if p != "root"]


@pytest.mark.parametrize("command", [*sorted(CONFIG_NAMES), "gan-train"])
def test_every_default_is_valid_for_its_table_entry(command):
    cfg = _compose(CONFIG_NAMES.get(command, "train"))
    required = missing_values(cfg)
    for key, option in COMMANDS[command][0].items():
        if key not in required:
            assert problem(option, OmegaConf.select(cfg, key)) is None, key


def test_choices_are_the_ones_the_code_knows():
    from gan_cli.eval.evaluator import VALUES
    from gan_cli.eval.translation_metrics import VALUES as TRANSLATION_VALUES
    from gan_cli.eval.vocoder_metrics import VOCODER_VALUES
    from gan_cli.training.objectives.augment import POLICIES

    assert set(METRICS) == set(VALUES) | set(TRANSLATION_VALUES) | set(VOCODER_VALUES)
    assert set(METRIC_VALUES) == {v for values in (*VALUES.values(), *TRANSLATION_VALUES.values(),
                                                   *VOCODER_VALUES.values()) for v in values}
    assert AUGMENTATIONS == POLICIES


def test_every_mandatory_value_in_conf_has_an_example():
    found = []
    for path in sorted(CONF.rglob("*.yaml")):
        relative = path.relative_to(CONF)
        prefix = "" if len(relative.parts) == 1 else f"{relative.parts[0]}."
        found += [(str(relative), prefix + key) for key in missing_values(OmegaConf.load(path))]
    assert found, "the conf/ walk found no ??? at all"
    assert [(where, key) for where, key in found if key not in MISSING] == []


@pytest.mark.parametrize("data", ["folder", "paired", "unpaired", "sr"])
def test_a_missing_data_root_is_named_with_an_example(data):
    cfg = compose_train([f"data={data}"])
    with pytest.raises(UserError) as info:
        check_missing_values(cfg, "gan-train", MISSING)
    assert "data.root= is required" in str(info.value) and f"gan-train data={data} data.root=/path/to" in str(info.value)


def test_a_range_set_by_the_checkpoint_narrows_the_tables():
    crossover = COMMANDS["gan-interp"][0]["crossover"]
    check_value(crossover, 3, high=3)
    with pytest.raises(UserError, match=r"crossover=4 is out of range: crossover must be a whole number from 1 to 3"):
        check_value(crossover, 4, high=3)


# Bad values on the real command lines: exit status 2, one paragraph naming the key, no traceback.

def assert_one_paragraph(result, *texts):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and len(result.stderr.strip().splitlines()) <= 2, result.stderr
    for text in texts:
        assert text in errors[0], errors[0]


BAD = {
    "gan-sample": [
        ("n=abc", "n='abc' is not a whole number"),        # text for an int
        ("n=0", "n=0 is out of range"),                     # out of range
        ("seed=-1", "seed=-1 is out of range"),             # negative
        ("n=2.5", "n=2.5 is not a whole number"),           # float for an int
        ("truncation=1e39", "truncation=1e+39 is out of range: it is used as a float32"),  # huge float
        ("truncation=1e999", "truncation=inf is not a finite number"),
        ("direction=sideways", "direction='sideways' is not one of"),  # unknown choice
        ("individual=maybe", "individual='maybe' is not true or false"),
        ("nn=5", "nn is not a key of gan-sample; did you mean n?"),  # typo
        ("+nn=5", "nn is not a key of gan-sample"),
    ],
    "gan-interp": [
        ("crossover=abc", "crossover='abc' is not a whole number"),
        ("crossover=0", "crossover=0 is out of range"),
        ("crossover=2.5", "crossover=2.5 is not a whole number"),
        ("classes=[3]", "classes=[3] has too few numbers"),
        ("classes=[0,-2]", "classes=[0, -2] holds -2, out of range"),
        ("classes=text", "classes='text' is not a list of whole numbers"),
        ("steps=1e999", "steps=inf is not a whole number"),
        ("truncation=1e39", "truncation=1e+39 is out of range: it is used as a float32"),
        (f"seeds=[0,{2**70}]", f"seeds[1]={2**70} is out of range: it is used as a seed"),
        ("method=cubic", "method='cubic' is not one of"),
        ("sed=3", "sed is not a key of gan-interp; did you mean seed?"),
    ],
    "gan-eval": [
        ("batch_size=abc", "batch_size='abc' is not a whole number"),
        ("batch_size=0", "batch_size=0 is out of range"),
        ("num_samples=-5", "num_samples=-5 is out of range"),
        ("num_samples=1.5", "num_samples=1.5 is not a whole number"),
        ("seed=1e39", "seed=1e+39 is not a whole number"),
        ("metrics=[fid,fidd]", "names 'fidd'"),
        ("feature_extractor=vgg", "feature_extractor='vgg' is not one of"),
        ("batchsize=8", "batchsize is not a key of gan-eval; did you mean batch_size?"),
    ],
}


@pytest.mark.parametrize("command,arg,message", [(c, a, m) for c, cases in BAD.items() for a, m in cases])
def test_bad_values_of_every_kind_are_one_paragraph(command, arg, message, tmp_path):
    result = run_cli(command, f"ckpt={tmp_path / 'nothing.pt'}", arg, cwd=tmp_path)
    key = arg.lstrip("+").split("=")[0]
    assert_one_paragraph(result, message, f"{key}")
    assert "nothing.pt" not in result.stderr  # named before the checkpoint is looked at


BAD_TRAINING = [  # each kind once on the command line (a run that starts pays torch's import)
    ("trainer.steps=abc", "trainer.steps='abc' is not a whole number"),
    ("trainer.steps=0", "trainer.steps=0 is out of range"),
    ("trainer.seed=-1", "trainer.seed=-1 is out of range"),
    ("trainer.n_critic=1.5", "trainer.n_critic=1.5 is not a whole number"),
    ("trainer.ddp_timeout_s=1e39", "trainer.ddp_timeout_s=1e+39 is out of range: it is used as a timeout"),
    ("trainer.precision=fp8", "trainer.precision='fp8' is not one of the choices"),
    ("trainer.stepz=5", "trainer.stepz is not a key of gan-train; did you mean trainer.steps?"),
    ("+trainer.stepz=5", "trainer.stepz is not a key of gan-train; did you mean trainer.steps?"),
    ("trainr.steps=5", "did you mean trainer.steps?"),
]


@pytest.mark.parametrize("arg,message", BAD_TRAINING)
def test_bad_training_options_are_one_paragraph_before_any_work(arg, message, tmp_path):
    result = run_cli("gan-train", arg, f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert_one_paragraph(result, message)
    assert not list(tmp_path.rglob("*.pt")) and not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("arg,message", [
    ("eval.batch_size=0", "eval.batch_size=0 is out of range"),
    ("eval.num_samples=abc", "eval.num_samples='abc' is not a whole number"),
    ("eval.best_metric=fidd", "eval.best_metric='fidd' is not one of the choices"),
    ("regularizers.r1=-1", "regularizers.r1=-1 is out of range"),
    ("regularizers.r1_interval=0.5", "regularizers.r1_interval=0.5 is not a whole number"),
    ("augment.policy=[color,blur]", "names 'blur'"),
    ("trainer.channels_last=maybe", "trainer.channels_last='maybe' is not one of the choices"),
    ("trainer.save_checkpoints=2", "trainer.save_checkpoints=2 is not true or false"),
    ("trainer.device=gpu", "trainer.device='gpu' is not a device"),
    ("resume=''", "resume='' is empty"),
])
def test_every_train_node_is_checked_by_the_table(arg, message, tmp_path):
    from gan_cli.training.run import train
    from gan_cli.training.validation import check_command_config

    cfg = compose_train([arg])
    for check in (check_command_config, lambda c: train(c, run_dir=tmp_path)):
        with pytest.raises(UserError) as info:
            check(cfg)
        assert message in str(info.value) and "\n" not in str(info.value)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args,message", [
    (["order=sideways"], "order='sideways' is not one of the choices"),
    (["sortby=fid"], "sortby is not a key of gan-report; did you mean sort_by?"),
    (["sort_by="], "sort_by='' is empty"),
])
def test_bad_report_options_are_one_paragraph(args, message, tmp_path):
    assert_one_paragraph(run_cli("gan-report", str(tmp_path), *args, cwd=tmp_path), message)


# Ranges set by the checkpoint: crossover below the generator's style inputs, classes among its classes.

@pytest.fixture(scope="module")
def style_checkpoints(tmp_path_factory):
    from test_style_family import STEPS, TINY

    from gan_cli.training.run import train

    root = tmp_path_factory.mktemp("style")
    for model in ("stylegan2", "biggan"):
        train(compose_train([*TINY[model], *STEPS, "trainer.steps=1"]), run_dir=root / model)
    return {model: root / model / "checkpoints" / "last.pt" for model in ("stylegan2", "biggan")}


def test_crossover_must_be_below_the_generators_style_inputs(style_checkpoints, tmp_path):
    ckpt = style_checkpoints["stylegan2"]  # 16x16: 2 * log2(16) - 2 = 6 style inputs
    result = run_cli("gan-interp", f"ckpt={ckpt}", "mode=style_mixing", "crossover=6", f"out={tmp_path / 'mix.png'}",
                     cwd=tmp_path)
    assert_one_paragraph(result, "crossover=6 is out of range", "from 1 to 5", "has 6 style inputs")
    assert not (tmp_path / "mix.png").exists()
    result = run_cli("gan-interp", f"ckpt={ckpt}", "mode=style_mixing", "crossover=5", "rows=[1]", "cols=[2]",
                     f"out={tmp_path / 'mix.png'}", cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "mix.png").is_file(), result.stderr


def test_classes_must_be_the_checkpoints_class_indices(style_checkpoints, tmp_path):
    ckpt = style_checkpoints["biggan"]  # digits: classes 0..9
    result = run_cli("gan-interp", f"ckpt={ckpt}", "mode=classes", "classes=[0,10]", cwd=tmp_path)
    assert_one_paragraph(result, "classes=[0, 10] holds 10, out of range", "from 0 to 9", "draws 10 classes")
    result = run_cli("gan-interp", f"ckpt={ckpt}", "mode=classes", "classes=[4]", cwd=tmp_path)
    assert_one_paragraph(result, "classes=[4] has too few numbers", "at least 2")
    result = run_cli("gan-interp", f"ckpt={ckpt}", "mode=classes", "classes=[0,9]", "steps=2",
                     f"out={tmp_path / 'walk.png'}", cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "walk.png").is_file(), result.stderr


# Mandatory values.

@pytest.mark.parametrize("command", ["gan-sample", "gan-interp", "gan-eval"])
def test_a_missing_checkpoint_is_asked_for_with_an_example(command, tmp_path):
    assert_one_paragraph(run_cli(command, cwd=tmp_path), "ckpt= is required",
                         f"e.g. {command} ckpt=outputs/<run>/checkpoints/last.pt")


def test_gan_train_on_a_folder_without_its_root_says_what_to_give(tmp_path):
    result = run_cli("gan-train", "data=folder", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert_one_paragraph(result, "data.root= is required", "gan-train data=folder data.root=/path/to/images")
    assert "full_key" not in result.stderr


# --help.

@pytest.mark.parametrize("command", [*sorted(CONFIG_NAMES), "gan-train"])
def test_help_gives_every_key_its_meaning_type_and_default(command, tmp_path):
    result = run_cli(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for key, option in COMMANDS[command][0].items():
        at = next(i for i, line in enumerate(lines) if line.split() and line.split()[0] == key)
        assert option.help in lines[at], key
        assert "default:" in lines[at + 1] or "required" in lines[at + 1], key
    assert "???" not in result.stdout


def test_report_help_gives_every_key_its_meaning(tmp_path):
    result = run_cli("gan-report", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for key, option in REPORT_OPTIONS.items():
        assert key in result.stdout and option.help in result.stdout


def test_the_option_tables_import_without_torch():
    code = "import sys, gan_cli.cli.command_options, gan_cli.training.train_options; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_eval_help_says_what_every_metric_computes(tmp_path):
    from gan_cli.cli.command_options import METRIC_HELP
    from gan_cli.run_settings import METRICS

    assert set(METRIC_HELP) == set(METRICS)
    shown = run_cli("gan-eval", "--help", cwd=tmp_path).stdout
    metrics = shown.split("== Metrics", 1)[1]
    for name in METRICS:
        assert f"  {name} " in metrics and METRIC_HELP[name] in metrics, name
