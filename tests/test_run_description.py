"""A run described once: gan-train's own keys become typed settings at the start (one place holds
each key's type and range), lower code gets the parts it needs, and the data is built once a run."""

from __future__ import annotations

import ast
import dataclasses

import pytest
from conftest import CPU_SIZED, TINY_COMMAND, compose_train, tiny_model_overrides
from test_architecture import PACKAGE
from test_translation import TINY as TRANSLATION_TINY

from gan_cli.data import source
from gan_cli.errors import UserError
from gan_cli.run_settings import EvalRequest, RunSettings, TrainerSettings, options_of
from gan_cli.training.run import train
from gan_cli.training.train_options import TRAIN_OPTIONS
from gan_cli.training.validation import describe_run


def test_settings_are_typed_from_the_composed_config():
    run = describe_run(compose_train(["trainer.device=cpu", "trainer.precision=32", "augment.policy='color,cutout'",
                                      "eval.metrics=[fid,kid]", "regularizers.gradient_penalty=10"]))
    assert isinstance(run.settings, RunSettings) and isinstance(run.trainer, TrainerSettings)
    assert run.trainer.precision == "32" and isinstance(run.trainer.steps, int)
    assert run.augment.policy == ("color", "cutout")
    assert run.eval.metrics == ("fid", "kid") and run.eval.num_samples == "auto"
    assert run.regularizers.gradient_penalty == 10.0 and isinstance(run.regularizers.gradient_penalty, float)
    assert run.task.name == "generation" and run.data.name == "digits"
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.trainer.steps = 5  # resolved once: nothing below the command changes it


def test_every_key_of_the_table_is_a_field_of_the_settings():
    """The table gan-train checks and prints is read off the typed settings: one place per key."""
    assert list(TRAIN_OPTIONS) == [option.key for option in options_of(RunSettings)]
    assert [option.key for option in options_of(EvalRequest, "eval.")] == [k for k in TRAIN_OPTIONS if k.startswith("eval.")]


@pytest.mark.parametrize("override, message", [
    ("trainer.steps=0", "trainer.steps=0 is out of range"),
    ("eval.metrics=[fid,speed]", "eval.metrics=['fid', 'speed']"),
    ("augment.policy=blur", "augment.policy='blur'"),
    ("regularizers.r1=-1", "regularizers.r1=-1 is out of range"),
])
def test_a_bad_setting_is_named_when_the_run_is_described(override, message):
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        describe_run(compose_train(["trainer.device=cpu", override]))


# Functions that compose a config before it is described (gan-eval's options merged into a checkpoint's).
COMPOSERS = {"evaluation_config"}


def _root_config_readers() -> list[str]:
    """Functions below the commands that read gan-train's own nodes off a root config (cfg.trainer...)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts[0] in ("cli",) or path.name in ("job.py", "job_record.py", "spawn.py", "validation.py"):
            continue  # the commands and the job around train(): they hold the composed config
        tree = ast.parse(path.read_text())
        composing = {id(inner) for function in ast.walk(tree) if isinstance(function, ast.FunctionDef)
                     and function.name in COMPOSERS for inner in ast.walk(function)}
        for node in ast.walk(tree):
            if id(node) not in composing and (isinstance(node, ast.Attribute) and node.attr in ("trainer", "eval", "regularizers", "augment")
                    and isinstance(node.value, ast.Name) and node.value.id in ("cfg", "config")):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def test_no_code_below_the_commands_reads_settings_off_the_root_config():
    assert _root_config_readers() == []


def _count_builds(monkeypatch) -> list:
    calls = []
    real = source.build_dataset

    def counting(data_cfg):
        calls.append(str(data_cfg.get("split") or data_cfg.dataset.get("split") or "all"))
        return real(data_cfg)

    monkeypatch.setattr(source, "build_dataset", counting)
    return calls


def test_a_generation_run_builds_its_dataset_once(tmp_path, monkeypatch):
    """Training's batches, the evaluator's reference and real-data samples share one build."""
    calls = _count_builds(monkeypatch)
    cfg = compose_train(["model=dcgan", "data=digits", *CPU_SIZED, *tiny_model_overrides("dcgan"), "eval.every=3",
                         "eval.num_samples=40", "eval.num_real=40", f"eval.cache_dir={tmp_path / 'cache'}"])
    final = train(cfg, tmp_path / "run")
    assert final["step"] == 3 and "eval/fid" in final
    assert len(calls) == 1


def test_a_ring_run_builds_its_mixture_once(tmp_path, monkeypatch):
    """The preview's real points and the mode evaluator's mixture are the training data's build."""
    calls = _count_builds(monkeypatch)
    cfg = compose_train(["model=gan", "data=ring", *CPU_SIZED, *tiny_model_overrides("gan"), "eval.every=3",
                         "eval.num_samples=100"])
    train(cfg, tmp_path / "run")
    assert len(calls) == 1


def test_an_image_to_image_run_builds_each_split_once(tmp_path, monkeypatch):
    """pix2pix: the training split once, the held-out split once for the preview and the evaluator."""
    calls = _count_builds(monkeypatch)
    cfg = compose_train([*TRANSLATION_TINY["pix2pix"], *CPU_SIZED, "data.batch_size=4", "eval.every=3",
                         f"eval.cache_dir={tmp_path / 'cache'}"])
    final = train(cfg, tmp_path / "run")
    assert final["step"] == 3
    assert sorted(calls) == sorted(["train", "test"]) or len(calls) == 2, calls


def test_the_tiny_command_is_a_valid_run():
    run = describe_run(compose_train(TINY_COMMAND))
    assert run.latent_layout.latent_dim == 16 and run.data.shape == (1, 16, 16)


def test_network_capabilities_are_declared_not_probed():
    """What a network can do (style-based, class-embedded, growing) is a class it derives from
    (gan_cli/models/capabilities.py), asked with isinstance, never with hasattr."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("hasattr", "getattr"):
                subject = ast.unparse(node.args[0])
                if any(word in subject for word in ("generator", "discriminator", "network", "module")):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {ast.unparse(node)}")
    assert found == []


def test_a_run_without_checkpoints_says_so_at_its_end(tmp_path):
    from conftest import run_cli

    result = run_cli("gan-train", "debug=fast_dev_run", *TINY_COMMAND, f"hydra.run.dir={tmp_path / 'run'}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "No checkpoint (trainer.save_checkpoints=false)" in output and "Checkpoint: None" not in output
    assert "D(G(z)) " in output  # a generator of noise: its fakes are G(z)
