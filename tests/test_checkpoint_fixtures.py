"""Checkpoints written by an earlier gan-cli (tests/fixtures/checkpoints: each family after 2 tiny
steps, made by scripts/make_checkpoint_fixtures.py before tasks became objects and the loop took over
every update) still sample and resume; on the torch that wrote them, today's loop trains the same two
steps to the same weights, so the restructuring changed no family's training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import compose_train
from hydra import compose, initialize_config_module
from PIL import Image

from gan_cli.cli.sample import sample
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.tasks import load_for_task
from gan_cli.training.run import train

FIXTURES = Path(__file__).parent / "fixtures" / "checkpoints"
FAMILIES = sorted(path.stem for path in FIXTURES.glob("*.pt"))
# Families whose training changed on purpose after their fixture was written, and why: they still
# sample and resume from it, but train to other weights.
CHANGED = {"progan": "D reads its inputs at the working resolution, so the gradient penalty is measured there",
           "cyclegan": "its adversarial term is the plain MSE of the paper (loss=lsgan_mse), not Mao's half of it"}
# Tensors that get no gradient in exact arithmetic, so their two steps depend on the CPU's rounding: a
# convolution's bias in front of a batch norm (a per-channel shift the norm removes; Adam turns the rounding
# noise of its gradient into lr-sized steps), the running mean of the norm after it, and the power-iteration
# vectors of spectral norm on those biases. BigGAN's blocks put every conv bias in front of a batch norm.
NO_GRADIENT = {"biggan": ("conv1.bias", "conv2.bias", "shortcut.bias", "running_mean", "._u", "._v")}


def fixture(family: str, tmp_path: Path) -> tuple[Path, dict]:
    ckpt = tmp_path / f"{family}.pt"
    shutil.copy(FIXTURES / f"{family}.pt", ckpt)
    return ckpt, json.loads((FIXTURES / f"{family}.json").read_text())


def test_every_family_has_a_fixture():
    assert {"dcgan", "wgan_gp", "acgan", "stylegan2", "progan", "biggan", "pix2pix", "cyclegan", "srgan"} <= set(FAMILIES)


@pytest.mark.parametrize("family", FAMILIES)
def test_an_earlier_checkpoint_samples_and_resumes(family, tmp_path, capsys):
    ckpt, made = fixture(family, tmp_path)
    out = tmp_path / "sample.png"
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        sample(compose(config_name="sample", overrides=[f"ckpt={ckpt}", f"out={out}", "n=4"]))
    assert f"wrote {out}" in capsys.readouterr().out and Image.open(out).size[0] > 16
    assert load_for_task(ckpt).task.networks[0] == "generator"
    overrides = [o for o in made["overrides"] if not o.startswith("trainer.steps=")]
    train(compose_train([*overrides, "trainer.steps=3", f"resume={ckpt}"]), run_dir=tmp_path / "resumed")
    assert load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")["step"] == 3


@pytest.mark.parametrize("family", FAMILIES)
def test_todays_loop_trains_the_earlier_steps_to_the_same_weights(family, tmp_path):
    _, made = fixture(family, tmp_path)
    if made["torch"] != torch.__version__:
        pytest.skip(f"the fixture was written by torch {made['torch']}; this is {torch.__version__}")
    # A preset's defaults may have moved since (biggan: n_critic 1 -> 2): the fixture's own schedule.
    stored = load_checkpoint(FIXTURES / f"{family}.pt")["config"]["trainer"]
    schedule = [f"trainer.n_critic={stored['n_critic']}"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the fixture was made
    try:
        train(compose_train([*made["overrides"], *schedule]), run_dir=tmp_path / "run")
    finally:
        torch.set_num_threads(threads)
    old, new = load_checkpoint(FIXTURES / f"{family}.pt"), load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    keys = [key for key in old if key.startswith(("generator", "discriminator")) or key == "ema"]
    assert keys and old["ema" if "ema" in keys and old["ema"] is not None else "generator"]
    skipped = NO_GRADIENT.get(family, ())
    compared = [(key, name) for key in keys if old[key] is not None for name, tensor in old[key].items()
                if tensor.is_floating_point() and not any(part in name for part in skipped)]
    assert len(compared) > 20  # the weights themselves are always compared
    differing = [f"{key}.{name}" for key, name in compared
                 if not torch.allclose(new[key][name], old[key][name], rtol=1e-4, atol=1e-6)]
    if family in CHANGED:  # changed on purpose (CHANGED says how): the same steps now reach other weights
        assert differing, f"{family} trains to its fixture's weights, but CHANGED says: {CHANGED[family]}"
    else:
        assert not differing, f"{', '.join(differing[:5])} differ"
