"""Bad values, crafted and damaged checkpoints, killed runs, shared folders: each a clean outcome."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch
from conftest import TINY_COMMAND, run_cli, start_training
from fixtures import write_image_folder
from omegaconf import OmegaConf

from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.runs.lock import run_folder_lock
from gan_cli.runs.status import read_status

TINY = TINY_COMMAND


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished 2-step run (lsgan, not the default model) and its checkpoint."""
    root = tmp_path_factory.mktemp("trained")
    run = root / "run"
    run_cli("gan-train", "model=lsgan", *TINY, "trainer.steps=2", f"hydra.run.dir={run}", cwd=root, check=True)
    return run


def _altered(trained: Path, tmp_path: Path, change, name="altered.pt") -> Path:
    checkpoint = load_checkpoint(trained / "checkpoints" / "last.pt")
    change(checkpoint)
    path = tmp_path / name
    torch.save(checkpoint, path)
    return path


def _plant(target: str, marker: Path):
    def change(checkpoint):
        for key in ("config", "config_source"):
            config = checkpoint[key]
            config["data"]["dataset"] = {"_target_": target, "_args_": [f"touch {marker}"]}
    return change


@pytest.mark.parametrize("command", ["gan-train", "gan-eval", "gan-sample", "gan-interp"])
def test_a_checkpoint_naming_foreign_code_is_refused_and_nothing_runs(command, trained, tmp_path):
    marker = tmp_path / "ran"
    crafted = _altered(trained, tmp_path, _plant("os.system", marker))
    key = "resume" if command == "gan-train" else "ckpt"
    extra = {"gan-train": [f"hydra.run.dir={tmp_path / 'run'}"], "gan-eval": ["num_samples=16"],
             "gan-sample": ["n=4"], "gan-interp": ["steps=3"]}[command]
    result = run_cli(command, f"{key}={crafted}", *extra, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "os.system" in result.stderr and "data.dataset._target_" in result.stderr
    assert "Traceback" not in result.stderr and not marker.exists()


def test_a_checkpoint_missing_keys_or_with_foreign_weights_is_a_clean_error(trained, tmp_path):
    no_optimizer = _altered(trained, tmp_path, lambda c: c.pop("d_optimizer"), "no_optimizer.pt")
    result = run_cli("gan-train", f"resume={no_optimizer}", f"hydra.run.dir={tmp_path / 'a'}", cwd=tmp_path)
    assert result.returncode == 2 and "lacks 'd_optimizer'" in result.stderr, result.stderr
    no_generator = _altered(trained, tmp_path, lambda c: c.pop("generator"), "no_generator.pt")
    result = run_cli("gan-sample", f"ckpt={no_generator}", cwd=tmp_path)
    assert result.returncode == 2 and "lacks 'generator'" in result.stderr, result.stderr

    def wider(checkpoint):
        for key in ("config", "config_source"):
            checkpoint[key]["model"]["generator"]["base_width"] = 16
    mismatched = _altered(trained, tmp_path, wider, "mismatched.pt")
    for command, key in (("gan-sample", "ckpt"), ("gan-train", "resume")):
        result = run_cli(command, f"{key}={mismatched}", f"hydra.run.dir={tmp_path / 'b'}", cwd=tmp_path)
        assert result.returncode == 2 and "do not fit" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_resume_continues_in_the_checkpoints_own_folder(trained, tmp_path):
    import shutil

    run = tmp_path / "lsgan_run"
    shutil.copytree(trained, run)
    result = run_cli("gan-train", f"resume={run / 'checkpoints' / 'last.pt'}", "trainer.steps=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "outputs").exists()  # no new folder named after the default model
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 4
    assert OmegaConf.load(run / ".hydra" / "config.yaml").model.name == "lsgan"
    status = read_status(run)
    assert status["status"] == "finished" and status["step"] == 4 and status["hparams"]["model"] == "lsgan"
    assert "Resuming lsgan" in (run / "train.log").read_text()

    elsewhere = tmp_path / "elsewhere"
    run_cli("gan-train", f"resume={run / 'checkpoints' / 'last.pt'}", "trainer.steps=5",
            f"hydra.run.dir={elsewhere}", cwd=tmp_path, check=True)
    assert OmegaConf.load(elsewhere / ".hydra" / "config.yaml").model.name == "lsgan"
    assert read_status(elsewhere)["hparams"]["model"] == "lsgan"


def test_one_run_per_folder_and_a_killed_run_leaves_no_lock(tmp_path):
    run = tmp_path / "run"
    with run_folder_lock(run):
        result = run_cli("gan-train", *TINY, "trainer.steps=2", f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 2 and "in use by another gan-train" in result.stderr, result.stderr
    assert not (run / "checkpoints").exists()

    process = start_training(*TINY, "trainer.steps=100000", "trainer.log_every=1", f"hydra.run.dir={run}",
                             cwd=tmp_path, until="step 2/")
    process.kill()  # no chance to clean up
    process.wait(timeout=60)
    (run / "checkpoints").mkdir(exist_ok=True)
    leftover = run / "checkpoints" / ".last.pt.tmp99999"
    leftover.write_bytes(b"half a checkpoint")
    run_cli("gan-train", *TINY, "trainer.steps=2", f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    assert not leftover.exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["optim.lr=1e999"], "optim.lr=inf"),
        (["model.ema_decay=1.5"], "model.ema_decay=1.5"),
        (["eval.every=-1"], "eval.every=-1"),
        (["trainer.seed=1.5"], "trainer.seed=1.5"),
        (["model.latent_dim=0"], "model.latent_dim=0"),
        (["hydra.run.dir={tmp}/afile/run"], "afile is a file"),
    ],
)
def test_bad_training_values_are_named_before_any_work(args, message, tmp_path):
    (tmp_path / "afile").write_text("a regular file")
    args = [a.format(tmp=tmp_path) for a in args]
    run_dir = [] if any(a.startswith("hydra.run.dir") for a in args) else [f"hydra.run.dir={tmp_path / 'run'}"]
    result = run_cli("gan-train", *TINY, "trainer.steps=2", *args, *run_dir, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message.format(tmp=tmp_path) in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.rglob("*.pt"))
    if run_dir:  # the folder says why its run failed
        assert message in read_status(tmp_path / "run")["error"]


@pytest.mark.parametrize(
    "command,args,message",
    [
        ("gan-interp", ["frames=0"], "frames=0"),
        ("gan-interp", ["fps=0"], "fps=0"),
        ("gan-sample", ["seed=abc"], "seed='abc'"),
        ("gan-sample", ["out={tmp}/afile/grid.png"], "afile is a file"),
    ],
)
def test_bad_sampling_values_are_named(command, args, message, trained, tmp_path):
    (tmp_path / "afile").write_text("a regular file")
    args = [a.format(tmp=tmp_path) for a in args]
    result = run_cli(command, f"ckpt={trained / 'checkpoints' / 'last.pt'}", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_unreadable_images_are_skipped_or_named(tmp_path):
    images = tmp_path / "images"
    write_image_folder(images, n=20)
    (images / "broken.png").write_bytes(b"not a png at all")
    run = tmp_path / "run"
    result = run_cli("gan-train", *TINY, "data=folder", f"data.root={images}", "data.channels=1", "data.num_workers=0",
                     "trainer.steps=2", f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "skipping 1 unreadable file(s) of 21" in (run / "train.log").read_text()

    junk = tmp_path / "junk"
    junk.mkdir()
    for i in range(3):
        (junk / f"image_{i}.jpg").write_bytes(b"\x00" * 100)
    result = run_cli("gan-train", *TINY, "data=folder", f"data.root={junk}", "trainer.steps=2",
                     f"hydra.run.dir={tmp_path / 'junk_run'}", cwd=tmp_path)
    assert result.returncode == 2 and "none of its 3 image files" in result.stderr and "image_0.jpg" in result.stderr


def test_a_second_ctrl_c_stops_at_once_without_a_traceback(tmp_path):
    process = start_training(*TINY, "trainer.steps=100000", "trainer.log_every=1", "data.resolution=64",
                             "model.generator.base_width=64", "model.discriminator.base_width=64",
                             f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, until="step 1/")
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output


def test_the_run_stamp_joins_the_process_group_with_the_runs_timeout(monkeypatch):
    from gan_cli import distributed
    from gan_cli.cli import train as train_command

    calls = []
    monkeypatch.setattr(distributed, "agreed_timestamp",
                        lambda fmt, timeout_s, device: calls.append((fmt, timeout_s, device)) or "stamp")
    monkeypatch.setattr(train_command, "_stamps", {})
    root = OmegaConf.create({"trainer": {"ddp_timeout_s": 42, "device": "cpu"}})
    assert train_command.run_stamp("%H", _root_=root) == "stamp" and calls == [("%H", 42, "cpu")]
    assert train_command.run_stamp("%H", _root_=root) == "stamp" and len(calls) == 1  # one stamp per run


def test_a_diverged_update_never_becomes_a_checkpoint_and_the_advice_works(trained, tmp_path):
    good = trained / "checkpoints" / "last.pt"
    bad = tmp_path / "bad"
    result = run_cli("gan-train", f"resume={good}", "optim.lr=1e30", "trainer.steps=50", "trainer.log_every=50",
                     "trainer.checkpoint_every=1", f"hydra.run.dir={bad}", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    for path in bad.rglob("*.pt"):  # whatever was saved is finite
        checkpoint = load_checkpoint(path)
        assert all(torch.isfinite(t).all() for t in checkpoint["generator"].values() if t.is_floating_point())
    advice = result.stderr.split("e.g. ", 1)[1].split(",")[0].split()  # gan-train resume=X optim.g_lr=.. optim.d_lr=..
    assert advice[0] == "gan-train" and advice[1].startswith("resume=")
    assert [a.split("=")[0] for a in advice[2:]] == ["optim.g_lr", "optim.d_lr"]
    assert float(advice[2].split("=")[1]) == pytest.approx(2e-4)  # a tenth of the rate, at most DCGAN's 2e-4
    # Following it word for word continues from a good state.
    rerun = run_cli(*advice, "trainer.steps=4",
                    f"hydra.run.dir={tmp_path / 'again'}", cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((tmp_path / "again" / "status.json").read_text())["status"] == "finished"
