"""The loop owns every update: an objective only computes each phase's loss; the loop zeroes the
gradients, sums trainer.accumulate batches, runs the scaler and steps the optimizer, for every family."""

from __future__ import annotations

import ast

import pytest
import torch
from conftest import compose_train
from test_architecture import PACKAGE
from test_ema import FAMILIES, STEPS
from test_translation import TINY as TRANSLATION_TINY

from gan_cli.training.build import build_objective, build_state
from gan_cli.training.execution import Execution
from gan_cli.training.loop import update
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import describe_run

ALL_FAMILIES = {**FAMILIES, "cyclegan": TRANSLATION_TINY["cyclegan"]}
UPDATE_CALLS = {"zero_grad", "backward", "step"}


def test_no_objective_steps_an_optimizer():
    found = []
    for path in sorted((PACKAGE / "training" / "objectives").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in UPDATE_CALLS:
                found.append(f"{path.name}:{node.lineno} .{node.func.attr}()")
    assert found == []


def test_the_update_check_sees_an_optimizer_step():
    tree = ast.parse("optimizer.zero_grad()\nloss.backward()\noptimizer.step()\n")
    calls = {node.func.attr for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert calls == UPDATE_CALLS


def one_step(overrides, accumulate: int):
    """(batches drawn, whether G's and D's weights moved) in one training step made by the loop."""
    torch.manual_seed(0)
    cfg = compose_train([*overrides, *STEPS, "trainer.steps=4", f"trainer.accumulate={accumulate}"])
    run = describe_run(cfg)
    execution = Execution.from_settings(run.trainer, torch.device("cpu"), run.data.shape)
    state = build_state(run, execution)
    objective = build_objective(run, state, execution, RunningStats())
    draws, draw = [], state.batches.next
    state.batches.next = lambda: draws.append(1) or draw()
    before = {key: [p.detach().clone() for p in net.parameters()] for key, net in state.networks.items()}
    for phase in objective.phases():
        for repeat in range(phase.repeats):
            update(state, phase, repeat, accumulate)
    moved = {key: any(not torch.equal(a, b) for a, b in zip(before[key], net.parameters()))
             for key, net in state.networks.items()}
    return len(draws), moved


@pytest.mark.parametrize("family", list(ALL_FAMILIES))
def test_every_family_sums_accumulated_batches_into_one_update(family):
    overrides = [o for o in ALL_FAMILIES[family] if not o.startswith("model.ema_decay")]
    single, moved_single = one_step(overrides, 1)
    double, moved_double = one_step(overrides, 2)
    assert double == 2 * single > 0
    assert moved_double["generator"] and moved_double == moved_single
