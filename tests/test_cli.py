"""The real command lines end to end, in subprocesses, checking what a user would look at."""

from __future__ import annotations

import signal

import numpy as np
import pytest
from conftest import TINY_COMMAND, run_cli, start_training
from fixtures import write_mnist
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan_cli.runs.checkpoints import load_checkpoint

TINY = TINY_COMMAND


def test_train_sample_interp_end_to_end(tmp_path):
    run = tmp_path / "run"
    result = run_cli("gan-train", "model=wgan_gp", *TINY, "trainer.steps=6", "trainer.log_every=2",
                     "trainer.sample_every=3", "trainer.checkpoint_every=3", f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "step 6/6" in result.stdout + result.stderr

    events = EventAccumulator(str(run)).Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"loss/d", "loss/g", "D/real", "D/fake", "loss/gradient_penalty", "wasserstein_estimate",
            "lr/g", "lr/d", "speed/images_per_sec"} <= scalars
    assert [e.step for e in events.Scalars("loss/g")] == [2, 4, 6]
    assert "samples/fixed_noise" in events.Tags()["images"]
    assert [e.step for e in events.Images("samples/fixed_noise")] == [3, 6]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.pt", "step_0000003.pt", "step_0000006.pt"]

    ckpt = run / "checkpoints" / "last.pt"
    result = run_cli("gan-sample", f"ckpt={ckpt}", "n=64", "seed=3", f"out={tmp_path / 'grid.png'}",
                     "individual=true", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (8 * (16 + 2) + 2, 8 * (16 + 2) + 2)  # 8x8 grid of 16px images, 2px padding
    singles = sorted((tmp_path / "grid").glob("*.png"))
    assert len(singles) == 64 and Image.open(singles[0]).size == (16, 16)
    # The same seed gives the same samples.
    run_cli("gan-sample", f"ckpt={ckpt}", "n=64", "seed=3", f"out={tmp_path / 'again.png'}", cwd=tmp_path, check=True)
    assert np.array_equal(np.asarray(grid), np.asarray(Image.open(tmp_path / "again.png")))

    result = run_cli("gan-interp", f"ckpt={ckpt}", "steps=5", "seeds=[0,1,2]", "frames=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    interp_grid = Image.open(run / "samples" / "interp_slerp.png")
    assert interp_grid.size == (5 * 18 + 2, 2 * 18 + 2)  # 2 legs x 5 steps
    gif = Image.open(run / "samples" / "interp_slerp.gif")
    assert gif.n_frames == 3 * 4  # 3 legs (closed loop) x 4 frames


def test_sample_on_2d_data_writes_points_and_scatter(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", "model=gan", "data=ring", "trainer.device=cpu", "trainer.steps=3", "data.batch_size=32",
            f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    assert (run / "samples" / "step_0000003.png").is_file()
    result = run_cli("gan-sample", f"ckpt={run / 'checkpoints' / 'last.pt'}", "n=500", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    points = np.load(run / "samples" / "sample_seed0_n500.npy")
    assert points.shape == (500, 2) and np.isfinite(points).all()
    assert Image.open(run / "samples" / "sample_seed0_n500.png").size[0] > 100
    result = run_cli("gan-interp", f"ckpt={run / 'checkpoints' / 'last.pt'}", cwd=tmp_path)
    assert result.returncode == 2 and "gan-sample" in result.stderr


def test_resume_from_the_command_line(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", *TINY, "trainer.steps=2", f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    ckpt = run / "checkpoints" / "last.pt"
    result = run_cli("gan-train", f"resume={ckpt}", "trainer.steps=4", f"hydra.run.dir={tmp_path / 'more'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    resumed = load_checkpoint(tmp_path / "more" / "checkpoints" / "last.pt")
    assert resumed["step"] == 4 and resumed["config"]["data"]["resolution"] == 16  # the checkpoint's config
    result = run_cli("gan-train", f"resume={ckpt}", "model=wgan", cwd=tmp_path)
    assert result.returncode == 2 and "cannot be combined with resume" in result.stderr


def test_ctrl_c_leaves_a_usable_checkpoint(tmp_path):
    run = tmp_path / "run"
    process = start_training(*TINY, "trainer.steps=100000", "trainer.log_every=1", f"hydra.run.dir={run}",
                             cwd=tmp_path, until="step 3/")
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "resume=" in output
    checkpoint = load_checkpoint(run / "checkpoints" / "last.pt")
    assert checkpoint["step"] >= 3
    assert not list((run / "checkpoints").glob(".*tmp*"))  # no half-written files left behind


def test_nan_stops_training_and_names_the_last_good_checkpoint(tmp_path):
    run_cli("gan-train", *TINY, "trainer.steps=2", f"hydra.run.dir={tmp_path / 'good'}", cwd=tmp_path, check=True)
    good = tmp_path / "good" / "checkpoints" / "last.pt"
    # An absurd learning rate from step 3 on: the weights overflow at once.
    result = run_cli("gan-train", f"resume={good}", "optim.lr=1e30", "trainer.steps=50", "trainer.log_every=5",
                     "trainer.checkpoint_every=1", f"hydra.run.dir={tmp_path / 'bad'}", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "NaN or infinite at step 3" in result.stderr and f"the last good checkpoint is {good}" in result.stderr
    assert not list((tmp_path / "bad").rglob("*.pt"))  # no checkpoint of a diverged model


@pytest.mark.parametrize(
    "command,message",
    [
        (["gan-train", "model=stylegan9"], "Could not find 'model/stylegan9'"),
        (["gan-train", "data=mnist", "data.root={tmp}/nowhere"], "nowhere"),
        (["gan-train", "trainer.device=cuda:99"], "trainer.device=cuda:99"),
        (["gan-train", "data.batch_size=-3"], "data.batch_size=-3"),
        (["gan-train", "loss=bce", "loss.generator_loss=sideways"], "sideways"),
        (["gan-train", "loss=bce", "loss.real_label=0.2"], "loss.real_label=0.2"),
        (["gan-train", "data=folder", "data.root={tmp}"], "{tmp}"),
        (["gan-sample"], "ckpt= is required"),
        (["gan-sample", "ckpt={tmp}/missing.pt"], "missing.pt is not a checkpoint file"),
        (["gan-sample", "ckpt={tmp}/garbage.pt"], "could not be read as a gan-cli checkpoint"),
        (["gan-interp", "ckpt={tmp}/missing.pt"], "missing.pt"),
    ],
)
def test_bad_input_gets_a_clear_message(command, message, tmp_path):
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    args = [part.format(tmp=tmp_path) for part in command]
    extra = {"gan-train": "trainer.steps=1", "gan-sample": "n=4", "gan-interp": "steps=3"}[args[0]]
    result = run_cli(*args, extra, cwd=tmp_path)
    assert result.returncode != 0
    assert message.format(tmp=tmp_path) in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("*.pt")) or list(tmp_path.rglob("*.pt")) == [tmp_path / "garbage.pt"]


def test_missing_mnist_message_says_where_and_how(tmp_path):
    result = run_cli("gan-train", "data=mnist", f"data.root={tmp_path / 'data'}", cwd=tmp_path)
    assert result.returncode == 2
    assert str(tmp_path / "data" / "MNIST" / "raw") in result.stderr and "download" in result.stderr
    write_mnist(tmp_path / "data")
    result = run_cli("gan-train", "data=mnist", f"data.root={tmp_path / 'data'}", *TINY, "trainer.steps=2",
                     f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
