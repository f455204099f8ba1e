"""Numbers Python holds but torch cannot (1e39, 2**70) are named before any work; a run whose weights
explode without becoming NaN stops with the last checkpoint that really resumes; a checkpoint with
diverged numbers is refused."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import TINY_COMMAND, compose_train, run_cli

from gan_cli.errors import UserError
from gan_cli.numbers import DIVERGED_VALUE, check_number_range
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.runs.status import read_status
from gan_cli.training.validation import describe_run

# The original GAN on the 2-D ring: MLPs without batch norm, so a huge learning rate explodes the
# weights themselves (1e12 after one Adam step) while every loss of that step stays finite. The paper's
# hard targets and no dropout: the steps below are timed for that plain game.
RING = ["model=gan", "data=ring", "loss=bce", "model.discriminator.dropout=0", "trainer.device=cpu",
        "model.generator.hidden=[32,32]", "model.discriminator.hidden=[32,32]", "model.latent_dim=8",
        "data.batch_size=16", "trainer.num_fixed_samples=16"]


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    """A healthy 2-step run on the ring and its checkpoint."""
    root = tmp_path_factory.mktemp("ring")
    run_cli("gan-train", *RING, "trainer.steps=2", f"hydra.run.dir={root / 'run'}", cwd=root, check=True)
    return root / "run" / "checkpoints" / "last.pt"


@pytest.mark.parametrize(
    "args,message",
    [
        (["optim.lr=1e39"], "optim.lr=1e+39 is out of range: it is used as a float32"),
        (["model=wgan_gp", "regularizers.gradient_penalty=1e39"], "regularizers.gradient_penalty=1e+39 is out of range"),
        (["trainer.ddp_timeout_s=1e30"], "trainer.ddp_timeout_s=1e+30 is out of range"),
        ([f"trainer.seed={2**70}"], f"trainer.seed={2**70} is out of range: it is used as a seed"),
        ([f"model.latent_dim={10**20}"], f"model.latent_dim={10**20} is out of range: it is used as a 64-bit integer"),
    ],
)
def test_numbers_beyond_what_they_become_are_named_before_any_work(args, message, tmp_path):
    result = run_cli("gan-train", *TINY_COMMAND, "trainer.steps=2", *args, f"hydra.run.dir={tmp_path / 'run'}",
                     cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert "holds" in result.stderr  # the valid range is spelled out
    assert not list(tmp_path.rglob("*.pt"))
    assert message in read_status(tmp_path / "run")["error"]


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["optim.lr=3e38"], "lr / (1 - beta1) = 6e+38"),  # in float32 range, but not Adam's first update
        (["optim.g_lr=3e38"], "optim.g_lr=3e+38"),
        (["optim.betas=[1.5,0.9]"], "optim.betas=[1.5, 0.9] must be two numbers in [0, 1)"),
        (["model=acgan", "model.auxiliary.weight=1e39"], "model.auxiliary.weight=1e+39 is out of range"),
        (["trainer.steps=9223372036854775808"], "trainer.steps=9223372036854775808 is out of range"),
        (["eval.seed=-1"], "eval.seed=-1 is out of range"),
    ],
)
def test_every_key_of_the_run_config_is_checked(overrides, message):
    with pytest.raises(UserError) as raised:
        describe_run(compose_train(["trainer.device=cpu", *overrides]))
    assert message in str(raised.value)
    describe_run(compose_train(["trainer.device=cpu", "optim.lr=1e38", f"trainer.seed={2**63 - 1}"]))  # in range


def test_the_shared_range_check_for_other_commands():
    check_number_range(65504.0, "scale", "float16")
    with pytest.raises(UserError, match=r"scale=70000 is out of range: it is used as a float16.*±65504"):
        check_number_range(70000, "scale", "float16")
    with pytest.raises(UserError, match=r"seed=18446744073709551616 .* 0 to 2\*\*63 - 1"):
        check_number_range(2**64, "seed", "seed")
    with pytest.raises(UserError, match="n=1e\\+39"):
        check_number_range(1e39, "n")
    with pytest.raises(UserError, match="n=nan is not a finite number"):
        check_number_range(float("nan"), "n")
    check_number_range("not a number", "n")  # types are checked where the value is read


def test_weights_that_explode_without_nan_never_become_the_good_checkpoint(ring_run, tmp_path):
    # Before: the 1e12 weights of step 3 were written as step_0000003.pt and last.pt, and named good.
    result = run_cli("gan-train", f"resume={ring_run}", "optim.lr=1e12", "trainer.steps=5", "trainer.checkpoint_every=1",
                     "trainer.log_every=100", f"hydra.run.dir={tmp_path / 'bad'}", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "the model diverged by step 3" in result.stderr
    assert re.search(r"the discriminator's weights reach [0-9.]+e\+12 \(net\.\d\.weight\)", result.stderr)
    assert f"the last good checkpoint is {ring_run}" in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "bad").rglob("*.pt"))
    advice = result.stderr.split("e.g. ", 1)[1].split(",")[0].split()
    assert advice[:2] == ["gan-train", f"resume={ring_run}"] and advice[2] == "optim.g_lr=0.0002"

    # The checkpoint it calls good resumes with a sane learning rate and finishes.
    again = tmp_path / "again"
    rerun = run_cli("gan-train", advice[1], "optim.lr=2e-4", "trainer.steps=5", f"hydra.run.dir={again}", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert read_status(again)["status"] == "finished"
    final = load_checkpoint(again / "checkpoints" / "last.pt")
    assert final["step"] == 5
    assert max(t.abs().max() for t in final["discriminator"].values()) < DIVERGED_VALUE


def test_a_loss_no_healthy_run_reaches_stops_at_the_next_log_line(ring_run, tmp_path):
    # lr=1e5: weights of 1e5 after step 3 are within the weight bound, but step 4's loss is ~1e32.
    result = run_cli("gan-train", f"resume={ring_run}", "optim.lr=1e5", "trainer.steps=6", "trainer.log_every=1",
                     f"hydra.run.dir={tmp_path / 'bad'}", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "the model diverged: a loss reached" in result.stderr and "at step 4" in result.stderr
    assert f"the last good checkpoint is {ring_run}" in result.stderr
    assert not list((tmp_path / "bad").rglob("*.pt"))


@pytest.mark.parametrize(
    "command,part,tensor,value,message",
    [
        # gan-sample draws from the EMA (the preset keeps one), so that is the part it must refuse.
        ("gan-sample", "ema", "net.0.weight", 1e20, "the ema's weights reach 1e+20 (net.0.weight)"),
        ("gan-train", "generator", "net.2.bias", float("nan"), "the generator's weights are NaN or infinite (net.2.bias)"),
        ("gan-train", "d_optimizer", "exp_avg_sq", float("inf"), "the d_optimizer's moment estimates are NaN or infinite"),
    ],
)
def test_a_checkpoint_with_diverged_numbers_is_refused(command, part, tensor, value, message, ring_run, tmp_path):
    checkpoint = load_checkpoint(ring_run)
    if part.endswith("optimizer"):
        next(iter(checkpoint[part]["state"].values()))[tensor].fill_(value)
    else:
        checkpoint[part][tensor].view(-1)[0] = value
    crafted = tmp_path / "crafted.pt"
    torch.save(checkpoint, crafted)
    key = "ckpt" if command == "gan-sample" else "resume"
    result = run_cli(command, f"{key}={crafted}", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"{crafted} holds a diverged model: {message}" in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "run").rglob("*.pt")) and not list(tmp_path.rglob("*.png"))


def test_the_other_commands_whole_numbers_fit_int64(ring_run, tmp_path):
    result = run_cli("gan-sample", f"ckpt={ring_run}", f"seed={2**70}", f"out={tmp_path / 'grid.png'}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"seed={2**70} is out of range" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "grid.png").exists()
