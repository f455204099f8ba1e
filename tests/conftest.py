"""Shared fixtures: the real `train` config composed with CPU-sized overrides, one tmp_path per test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_module
from omegaconf import open_dict

# Under pytest-xdist (README's `-n auto`) every worker gets one CPU thread, and so do the commands it
# starts, so that the workers share the cores instead of oversubscribing them.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)

MODELS = ["gan", "dcgan", "lsgan", "wgan", "wgan_gp", "sngan"]
DATASETS = ["digits", "ring", "grid", "mnist", "fashion_mnist", "cifar10", "celeba", "folder"]
LOSSES = ["bce", "lsgan", "wasserstein", "hinge"]
OPTIMIZERS = ["adam", "rmsprop"]

# Fast settings every test run shares: 16x16 images, narrow nets, tiny batches, a few steps.
CPU_SIZED = [
    "trainer.device=cpu",
    "trainer.steps=3",
    "trainer.log_every=1",
    "trainer.sample_every=3",
    "trainer.checkpoint_every=3",
    "trainer.num_fixed_samples=4",
    "data.batch_size=8",
]


# Command-line settings for a tiny DCGAN run (16x16 digits, narrow nets), for the end-to-end tests.
TINY_COMMAND = [
    "trainer.device=cpu", "data.resolution=16", "data.batch_size=16", "model.latent_dim=16",
    "model.generator.base_width=8", "model.discriminator.base_width=8", "trainer.num_fixed_samples=16",
]


def start_training(*args: str, cwd: Path, until: str, timeout: float = 120, **popen) -> subprocess.Popen:
    """Start gan-train in a subprocess (output on its stdout) and return once it prints a line holding
    `until`, or after `timeout` seconds, to signal or kill it mid-run."""
    command = [str(Path(sys.executable).parent / "gan-train"), *args]
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **popen)
    deadline = time.time() + timeout
    for line in process.stdout:
        if until in line or time.time() > deadline:
            break
    return process


def tiny_model_overrides(model: str, image_data: bool = True) -> list[str]:
    if model == "infogan":  # z = noise + the 10-way categorical + 2 continuous codes
        return ["model.generator.base_width=8", "model.discriminator.base_width=8", "model.noise_dim=4",
                "model.latent_dim=16", "model.discriminator.q_width=16", "data.resolution=16"]
    if model == "pacgan":
        return ["model.generator.hidden=[32,32]", "model.discriminator.hidden=[32,32]", "model.latent_dim=8"]
    if model == "gan":
        return ["model.generator.hidden=[32,32]", "model.discriminator.hidden=[32,32]", "model.latent_dim=8"]
    overrides = ["model.generator.base_width=8", "model.discriminator.base_width=8", "model.latent_dim=8"]
    return overrides + (["data.resolution=16"] if image_data else [])


def compose_train(overrides: list[str]):
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        return compose(config_name="train", overrides=overrides)


@pytest.fixture
def tiny_cfg(tmp_path):
    """Compose the train config for a model/data pair with CPU-sized settings."""

    def make(model="dcgan", data="digits", extra=()):
        image_data = data not in ("ring", "grid")
        overrides = [f"model={model}", f"data={data}", *CPU_SIZED, *tiny_model_overrides(model, image_data), *extra]
        cfg = compose_train(overrides)
        with open_dict(cfg):
            cfg.resume = cfg.get("resume")
        return cfg

    return make


def run_cli(*args: str, cwd: Path, timeout: int = 300, check: bool = False) -> subprocess.CompletedProcess:
    """Run a gan-cli console command (installed entry point) in a subprocess."""
    command = [str(Path(sys.executable).parent / args[0]), *args[1:]]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HYDRA_FULL_ERROR": "0"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def audio_cache(tmp_path_factory, monkeypatch):
    """One cache folder for the session's synthesised audio sets (each spoken-digits subset made once)."""
    folder = tmp_path_factory.getbasetemp() / "audio_cache"
    monkeypatch.setenv("GAN_CLI_CACHE", str(folder))
    return folder
