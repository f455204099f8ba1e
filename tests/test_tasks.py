"""Tasks are objects: shared code asks the run's Task and never forks on a task's name, the packages
keep their layer order, and every task's facts agree with the configs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from test_architecture import PACKAGE, import_graph

from gan_cli.tasks import TASKS, check_task, task_of

ROOT = PACKAGE.parent
# README "Layout": a package imports only those after it (the top-level helper modules are the base).
LAYERS = ["cli", "training", "tasks", "eval", "inference", "text", "runs", ("data", "models", "distributed"), "base"]
# Where a task's name or a family's own network keys may be written: the tasks themselves, the data
# and configs that declare their task, and CycleGAN's objective (the family with the extra networks).
OWN_MODULES = ("gan_cli/tasks/", "gan_cli/data/", "gan_cli/training/objectives/cyclegan.py")


def layer_of(module: str) -> int:
    parts = module.split(".")
    package = parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else "base"
    for index, layer in enumerate(LAYERS):
        if package == layer or (isinstance(layer, tuple) and package in layer):
            return index
    raise AssertionError(f"{module} is in no layer of {LAYERS}: add its package to README's layout and LAYERS")


def test_no_package_imports_one_above_it():
    upward = [f"{module} -> {target}" for module, targets in import_graph().items() for target in targets
              if layer_of(target) < layer_of(module)
              or (layer_of(target) == layer_of(module) and target.split(".")[1:2] != module.split(".")[1:2]
                  and layer_of(module) != LAYERS.index("base"))]
    assert upward == []


def test_the_layer_check_sees_an_upward_import():
    assert layer_of("gan_cli.cli.train") < layer_of("gan_cli.tasks.paired_translation") < layer_of("gan_cli.eval.evaluator")
    assert layer_of("gan_cli.data.digits") == layer_of("gan_cli.models.dcgan") < layer_of("gan_cli.errors")


def forbidden_words() -> set[str]:
    """Every task's name, and every network key that only some tasks have."""
    keys = {key for task in TASKS.values() for key in task.networks}
    shared = set.intersection(*(set(task.networks) for task in TASKS.values()))
    return set(TASKS) | (keys - shared)


def string_constants(path: Path) -> list[tuple[int, str]]:
    """The string constants of a module (not the registry's dataset-module table and objective-module list,
    whose strings are module names)."""
    tree = ast.parse(path.read_text())
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_DATASETS" for t in node.targets):
            skipped |= {id(key) for key in node.value.keys}
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_OBJECTIVES" for t in node.targets):
            skipped |= {id(name) for name in node.value.elts}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped]


def test_no_shared_code_names_a_task_or_a_familys_network_keys():
    words = forbidden_words()
    assert {"paired", "unpaired", "super_resolution", "generation", "generator_ba", "discriminator_a"} <= words
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        if where.startswith(OWN_MODULES):
            continue
        found += [f"{where}:{line} {value!r}" for line, value in string_constants(path) if value in words]
    assert found == []


def test_the_fork_check_sees_a_task_name(tmp_path):
    module = tmp_path / "fork.py"
    module.write_text('def f(task):\n    return task == "unpaired"\n')
    assert (2, "unpaired") in string_constants(module)


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "conf" / "data").glob("*.yaml")))
def test_every_data_config_names_a_task_that_lists_it(name):
    data = _yaml(ROOT / "conf" / "data" / f"{name}.yaml")
    task = TASKS[task_of(data)]
    assert name in [d.strip() for d in task.data.split(",")]


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "conf" / "model").glob("*.yaml")))
def test_every_model_config_defines_only_its_tasks_networks(name):
    model = _yaml(ROOT / "conf" / "model" / f"{name}.yaml").get("model", {})
    task = TASKS[task_of(model)]
    defined = {key for key in model if key.startswith(("generator", "discriminator"))}
    assert defined <= set(task.networks), f"model={name} defines {defined - set(task.networks)}"
    assert {"generator", "discriminator"} <= defined


def test_model_and_data_of_different_tasks_are_refused_with_both_named():
    from omegaconf import OmegaConf

    from gan_cli.errors import UserError

    cfg = OmegaConf.create({"model": {"name": "pix2pix", "task": "paired"}, "data": {"name": "digits"}})
    with pytest.raises(UserError, match=r"model=pix2pix learns paired .* data=digits is generation data .* "
                                        r"use data=digits_edges"):
        check_task(cfg)
    cfg = OmegaConf.create({"model": {"name": "x", "task": "sound"}, "data": {"name": "digits"}})
    with pytest.raises(UserError, match=r"model.task='sound' is not a task gan-cli trains; the tasks are generation"):
        check_task(cfg)


def test_gan_train_help_names_every_task_with_its_models_and_data():
    import subprocess

    shown = subprocess.run(["gan-train", "--help"], capture_output=True, text=True, timeout=120, check=True).stdout
    assert "== Tasks: what a model makes" in shown
    flowing = " ".join(shown.split())  # the lines are wrapped
    for task in TASKS.values():
        assert f"{task.name}" in shown and f"model={task.models}; data={task.data}" in flowing
