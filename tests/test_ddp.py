"""Data-parallel training on CPU: 2 gloo processes behave like 2 GPUs."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import compose_train, run_cli, start_training, tiny_model_overrides

from gan_cli.distributed.spawn import launch_processes
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.runs.paths import RunPaths
from gan_cli.training.run import train

BIN = Path(sys.executable).parent


def _launch(cfg, run_dir):
    """trainer.devices=2 as gan-train runs it: two gloo processes training one run folder."""
    return launch_processes(train, cfg, run_dir, devices=2, log_file=RunPaths(run_dir).train_log)


def _cfg(model, extra=()):
    return compose_train([f"model={model}", "trainer.device=cpu", "trainer.log_every=1", "trainer.sample_every=100",
                          "trainer.num_fixed_samples=4", *tiny_model_overrides(model), *extra])


def test_two_ranks_equal_one_process_on_the_concatenated_batch(tmp_path):
    # No batch norm anywhere (MLP G and D), no per-sample randomness but data and latents (no dropout).
    steps = ["trainer.steps=4", "trainer.checkpoint_every=4", "model.discriminator.dropout=0"]
    _launch(_cfg("gan", [*steps, "data.batch_size=8"]), tmp_path / "ddp")

    train(_cfg("gan", [*steps, "data.batch_size=16"]), run_dir=tmp_path / "single")
    ddp = load_checkpoint(tmp_path / "ddp" / "checkpoints" / "last.pt")
    single = load_checkpoint(tmp_path / "single" / "checkpoints" / "last.pt")
    assert ddp["world_size"] == 2 and len(ddp["ranks"]) == 2
    # Identical weights on both ranks.
    assert ddp["ranks"][0]["weights_sha256"] == ddp["ranks"][1]["weights_sha256"]
    initial = {}
    for part in ("generator", "discriminator"):
        for name, value in single[part].items():
            torch.testing.assert_close(ddp[part][name], value, rtol=1e-4, atol=1e-5, msg=f"{part}.{name}")
            initial[name] = value
    # ... and training moved them (the comparison is not of two untouched nets).
    fresh = _cfg("gan", steps)
    from hydra.utils import instantiate

    torch.manual_seed(0)
    untouched = instantiate(fresh.model.generator).state_dict()
    assert any(not torch.allclose(untouched[k], single["generator"][k]) for k in untouched)


@pytest.mark.parametrize("model", ["wgan_gp", "dcgan"])  # gradient penalty through DDP; batch norm in D
def test_ranks_stay_identical_and_resume_exactly(model, tmp_path):
    base = ["trainer.checkpoint_every=2", "data.batch_size=8"]
    _launch(_cfg(model, [*base, "trainer.steps=4"]), tmp_path / "straight")
    _launch(_cfg(model, [*base, "trainer.steps=2"]), tmp_path / "half")
    resumed = _cfg(model, [*base, "trainer.steps=4", f"resume={tmp_path / 'half' / 'checkpoints' / 'last.pt'}"])
    _launch(resumed, tmp_path / "resumed")

    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.pt")
    again = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")
    assert straight["ranks"][0]["weights_sha256"] == straight["ranks"][1]["weights_sha256"]
    assert not (tmp_path / "resumed" / "checkpoints" / "step_0000002.pt").exists()
    for part in ("generator", "discriminator"):
        for name, value in straight[part].items():
            assert torch.equal(value, again[part][name]), f"{part}.{name}"
    if model == "wgan_gp":
        events = (tmp_path / "straight" / "train.log").read_text()
        assert "gp " in events


def test_devices_flag_writes_one_run_folder(tmp_path):
    result = run_cli("gan-train", "trainer.devices=2", "trainer.device=cpu", "trainer.steps=3", "trainer.log_every=1",
                     "data.batch_size=8",
                     *tiny_model_overrides("dcgan"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = list((tmp_path / "outputs").glob("*/*"))
    assert len(runs) == 1
    assert sorted(p.name for p in (runs[0] / "checkpoints").iterdir()) == ["last.pt", "step_0000003.pt"]
    # One TensorBoard log, written by rank 0 alone: every step's scalar appears once.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    assert all(p.parent == runs[0] for p in tmp_path.rglob("events.out.tfevents.*"))
    events = EventAccumulator(str(runs[0])).Reload()
    assert [e.step for e in events.Scalars("loss/g")] == [1, 2, 3]
    assert "2 process(es)" in result.stdout


def test_ctrl_c_stops_every_rank_at_one_step_with_a_checkpoint(tmp_path):
    """Ctrl-C reaches the terminal's whole process group; the ranks agree on the step over a host-side
    flag, rank 0 writes the checkpoint, and the command exits 130 with the resume command."""
    import os
    import signal

    run = tmp_path / "run"
    process = start_training("trainer.devices=2", "trainer.device=cpu", "trainer.steps=100000", "trainer.log_every=1",
                             "data.batch_size=8", *tiny_model_overrides("dcgan"), f"hydra.run.dir={run}",
                             cwd=tmp_path, until="step 3/", timeout=180, start_new_session=True)
    os.killpg(process.pid, signal.SIGINT)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    assert f"resume={run / 'checkpoints' / 'last.pt'}" in output
    checkpoint = load_checkpoint(run / "checkpoints" / "last.pt")
    assert checkpoint["step"] >= 3 and checkpoint["world_size"] == 2 and len(checkpoint["ranks"]) == 2


def test_torchrun_ranks_share_one_run_folder(tmp_path):
    command = [str(BIN / "torchrun"), "--standalone", "--nproc_per_node=2", "-m", "gan_cli.cli.train",
               "trainer.device=cpu", "trainer.steps=3", "data.batch_size=8", *tiny_model_overrides("dcgan")]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = list((tmp_path / "outputs").glob("*/*"))
    assert len(runs) == 1, runs
    checkpoint = load_checkpoint(runs[0] / "checkpoints" / "last.pt")
    assert checkpoint["world_size"] == 2 and checkpoint["step"] == 3


def test_a_dead_rank_stops_the_others_with_a_message(tmp_path):
    command = [str(BIN / "gan-train"), "trainer.devices=2", "trainer.device=cpu", "trainer.steps=100000",
               "trainer.log_every=1", "trainer.ddp_timeout_s=30", "data.batch_size=8", *tiny_model_overrides("dcgan"),
               f"hydra.run.dir={tmp_path / 'run'}"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 180
        for line in process.stdout:
            if "step 2/" in line or time.time() > deadline:
                break
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
        workers = [pid for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
        assert len(workers) == 2, children
        killed_at = time.time()
        subprocess.run(["kill", "-9", workers[-1]])
        _, stderr = process.communicate(timeout=120)
        assert time.time() - killed_at < 90
    finally:
        process.kill()
    assert process.returncode not in (0, None)
    assert "rank" in stderr and ("killed by SIGKILL" in stderr or "lost the process group" in stderr), stderr[-2000:]


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_saves_its_scaler(precision, tmp_path):

    final = train(_cfg("wgan_gp", [f"trainer.precision={precision}", "trainer.steps=3", "data.batch_size=8"]),
                  run_dir=tmp_path)
    assert torch.isfinite(torch.tensor(final["loss/d"]))
    checkpoint = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert checkpoint["config"]["trainer"]["precision"] == precision
    if precision == "fp16":
        assert checkpoint["d_scaler"]["scale"] > 0  # the scaler's state travels with the checkpoint
    else:
        assert checkpoint["d_scaler"] == {}


def test_bad_precision_and_devices_are_refused(tmp_path):
    result = run_cli("gan-train", "trainer.precision=fp8", "trainer.device=cpu", cwd=tmp_path)
    assert result.returncode == 2 and "trainer.precision='fp8'" in result.stderr
    result = run_cli("gan-train", "trainer.devices=0", cwd=tmp_path)
    assert result.returncode == 2 and "trainer.devices=0" in result.stderr


def test_ema_generator_is_saved_and_used_for_sampling(tmp_path):
    run_cli("gan-train", "model.ema_decay=0.9", "trainer.device=cpu", "trainer.steps=4", "data.batch_size=8",
            *tiny_model_overrides("dcgan"), f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, check=True)
    ckpt = tmp_path / "run" / "checkpoints" / "last.pt"
    checkpoint = load_checkpoint(ckpt)
    assert checkpoint["ema"] is not None
    assert any(not torch.equal(checkpoint["ema"][k], checkpoint["generator"][k]) for k in checkpoint["generator"])
    from gan_cli.inference.loading import load_generator
    from gan_cli.inference.sampling import batch_latents, generate

    ema, _ = load_generator(ckpt, use_ema=True)
    raw, _ = load_generator(ckpt, use_ema=False)
    z = batch_latents(4, ema.latent_dim, 0)
    assert not torch.allclose(generate(ema, z), generate(raw, z))


def test_compile_trains(tmp_path):
    final = train(_cfg("gan", ["trainer.compile=true", "trainer.steps=2", "data.batch_size=8"]), run_dir=tmp_path)
    assert final["step"] == 2


@pytest.mark.parametrize("model,extra", [
    ("dcgan", ["trainer.precision=bf16"]),    # G and D compiled, channels-last, bf16 autocast
    ("wgan_gp", []),                          # the gradient penalty's double backward: D stays eager
    ("sagan", []),                            # self-attention, spectral norm, EMA
    ("projection", []),                       # class-conditional ResNet G and projection D
])
def test_compile_with_channels_last_trains_resumes_and_samples(model, extra, tmp_path):
    settings = ["trainer.compile=true", "trainer.channels_last=true", "trainer.steps=2", "data.batch_size=8",
                "trainer.checkpoint_every=2", *extra]
    final = train(_cfg(model, settings), run_dir=tmp_path / "run")
    assert final["step"] == 2 and all(math.isfinite(final[k]) for k in ("loss/d", "loss/g"))
    ckpt = tmp_path / "run" / "checkpoints" / "last.pt"
    resumed = train(_cfg(model, [*settings, "trainer.steps=3", f"resume={ckpt}"]), run_dir=tmp_path / "more")
    assert resumed["step"] == 3
    result = run_cli("gan-sample", f"ckpt={ckpt}", "n=4", f"out={tmp_path / 'grid.png'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
