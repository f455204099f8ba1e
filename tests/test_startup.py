"""Start-up cost: importing a command's module pulls in no torch (so --help answers at once), and a
real `gan-sample` run on a z -> image checkpoint never imports torchvision's models or torch._dynamo
(seconds on a small machine). Figures: scripts/bench_startup.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_COMMAND, run_cli
from PIL import Image
from torchvision import transforms

from gan_cli.data.transforms import resize_crop_to_signed

COMMANDS = ["train", "sample", "interp", "evaluate", "report"]  # gan_cli.cli.<module> of the five commands
HEAVY = ("torchvision", "torch._dynamo")  # with them torchvision.models: seconds of import on 2 cores
BIN = Path(sys.executable).parent


def heavy(modules) -> list[str]:
    return sorted(name for name in modules if name == "torch" or name.startswith(HEAVY))


def imported_modules_of(command: str, args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run an installed command's own script with `args`; every module in sys.modules when it exits.

    (sys.modules, not `python -X importtime`: that report leaves out modules imported through
    importlib.import_module, as Hydra imports a config's `_target_`.)"""
    listing = cwd / f"{command}_modules.json"
    probe = ("import atexit, json, runpy, sys; "
             f"atexit.register(lambda: open({str(listing)!r}, 'w').write(json.dumps(sorted(sys.modules)))); "
             f"sys.argv = {[command, *args]!r}; runpy.run_path({str(BIN / command)!r}, run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=300)
    return result, set(json.loads(listing.read_text()))


@pytest.mark.parametrize("command", COMMANDS)
def test_importing_a_command_pulls_in_no_torch(command, tmp_path):
    probe = (f"import json, sys, gan_cli.cli.{command}; "
             f"print(json.dumps(sorted(m for m in sys.modules if m == 'torch' or m.startswith({HEAVY!r}))))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [], (
        f"importing gan_cli.cli.{command} imports {json.loads(result.stdout)}: import these inside the "
        f"functions that need them, so that the command's --help and its errors come at once")


def test_gan_train_help_imports_no_torch(tmp_path):
    result, modules = imported_modules_of("gan-train", ["--help"], tmp_path)
    assert result.returncode == 0 and "gan-train" in result.stdout
    assert "hydra" in modules and heavy(modules) == []


def test_sampling_a_digits_checkpoint_never_imports_torchvision_or_dynamo(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", *TINY_COMMAND, "trainer.steps=2", f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    out = tmp_path / "grid.png"
    result, modules = imported_modules_of("gan-sample", [f"ckpt={run / 'checkpoints' / 'last.pt'}", "n=4",
                                                         f"out={out}"], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert Image.open(out).size == (2 * 18 + 2, 2 * 18 + 2)  # 4 samples of 16 x 16, 2 per row
    assert "torch" in modules and "gan_cli.models.dcgan" in modules  # the report is read: the run built G
    assert heavy(modules) == ["torch"]


def test_the_folder_resize_is_torchvisions_without_importing_it():
    """ResizeCrop replaced torchvision's Resize + CenterCrop + ToTensor + Normalize: the same pixels."""
    rng = np.random.default_rng(0)
    for width, height, resolution in [(178, 218, 64), (40, 30, 16), (16, 16, 16), (33, 71, 31), (300, 7, 5)]:
        for channels in (1, 3):
            shape = (height, width, 3) if channels == 3 else (height, width)
            image = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))
            reference = transforms.Compose([transforms.Resize(resolution), transforms.CenterCrop(resolution),
                                            transforms.ToTensor(), transforms.Normalize([0.5] * channels, [0.5] * channels)])
            assert torch.equal(resize_crop_to_signed(resolution, channels)(image), reference(image))
