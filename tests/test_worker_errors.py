"""Images that fail only when a DataLoader worker decodes them, in every layout read from disk: too
many is one paragraph and exit status 2 (never torch's "Caught UserError in DataLoader worker" and
the worker's traceback), a file or two is skipped with a warning naming it, deterministically."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_COMMAND, run_cli, start_training
from fixtures import write_celeba, write_div2k, write_facades, write_horse2zebra
from omegaconf import OmegaConf
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from gan_cli.data import build_batches
from gan_cli.data.paired import paired_images
from gan_cli.data.workers import ReportingWorkerErrors
from gan_cli.errors import UserError
from gan_cli.runs.status import read_status

# Each layout as a tiny gan-train command line, one loading worker and a few steps.
COMMON = ["trainer.device=cpu", "trainer.log_every=1", "trainer.sample_every=100", "trainer.checkpoint_every=100",
          "trainer.num_fixed_samples=4", "data.batch_size=2", "data.num_workers=1"]
PIX2PIX = ["model=pix2pix", "data=paired", "data.resolution=16", "data.load_size=16", "model.generator.base_width=8",
           "model.discriminator.base_width=8", "model.discriminator.receptive_field=16"]
CYCLEGAN = ["model=cyclegan", "data=unpaired", "data.resolution=16", "data.load_size=16",
            "model.generator.base_width=8", "model.generator.blocks=2", "model.discriminator.base_width=8",
            "model.discriminator.receptive_field=16", "model.pool_size=3"]
SRGAN = ["model=srgan", "data=sr", "data.crop=24", "data.lr_size=6", "model.generator.base_width=8",
         "model.generator.blocks=2", "model.discriminator.base_width=8", "model.pretrain_steps=2"]
DCGAN = [*TINY_COMMAND, "data.batch_size=2"]


def noise_png(path: Path, size: tuple[int, int], seed: int) -> None:
    """Random pixels: PNG cannot compress them, so most of the file is pixel data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def layout(name: str, root: Path) -> tuple[list[str], list[Path], Path]:
    """(command line, the files whose pixels break in test (a) (all but what item 0 reads, which the
    main process decodes up front), the file truncated mid-run in test (b)) of a layout on disk."""
    if name == "paired side by side":
        files = sorted((write_facades(root, counts=(6, 2, 2)) / "train").glob("*.jpg"))
        return [*PIX2PIX, f"data.root={root}"], files[1:], files[3]
    if name == "paired two folders":
        seeds = iter(range(100))
        for split, count in (("train", 6), ("val", 2)):
            for side in "AB":
                for i in range(count):
                    noise_png(root / split / side / f"{i:03d}.png", (16, 16), seed=next(seeds))
        files = sorted((root / "train" / "B").glob("*.png"))
        return [*PIX2PIX, f"data.root={root}"], files[1:], files[3]
    if name == "unpaired":
        write_horse2zebra(root, counts=(6, 4, 2, 2))
        inputs, targets = sorted((root / "trainA").glob("*.jpg")), sorted((root / "trainB").glob("*.jpg"))
        return [*CYCLEGAN, f"data.root={root}"], inputs[1:], targets[2]  # (b): a target-side file
    if name == "sr":
        write_div2k(root, sizes=((32, 32),) * 6, valid=((32, 32),))
        files = sorted((root / "DIV2K_train_HR").glob("*.png"))
        folders = [f"data.root={root / 'DIV2K_train_HR'}", f"data.eval_root={root / 'DIV2K_valid_HR'}"]
        return [*SRGAN, *folders], files[1:], files[3]
    if name == "folder":
        for i in range(6):
            noise_png(root / ("nested" if i % 2 else "") / f"image_{i}.png", (20, 20), seed=i)
        files = sorted(root.rglob("*.png"))
        return [*DCGAN, "data=folder", f"data.root={root}"], files[1:], files[3]
    assert name == "celeba"
    files = write_celeba(root, n=12)[:8]  # the train split
    return [*DCGAN, "data=celeba", f"data.root={root}"], files[1:], files[3]


LAYOUTS = ["paired side by side", "paired two folders", "unpaired", "sr", "folder", "celeba"]


def break_pixels(path: Path) -> None:
    """Cut the file inside its pixel data: its header still reads, so the up-front scan keeps it,
    and it fails only when decoded (in a DataLoader worker)."""
    data = path.read_bytes()
    for keep in range(len(data) - 8, len(data) // 4, -8):
        path.write_bytes(data[:keep])
        try:
            with Image.open(path) as image:
                image.size
        except OSError:
            continue
        try:
            with Image.open(path) as image:
                image.convert("RGB")
        except OSError:
            return
    raise AssertionError(f"no cut of {path} keeps its header readable and its pixels broken")


def assert_one_paragraph(stderr: str, *names: Path) -> str:
    message = stderr.strip()
    assert message.startswith("error: ") and "\n" not in message, stderr
    assert "Traceback" not in message and "DataLoader worker" not in message and "Caught" not in message
    assert any(str(name) in message for name in names), message
    return message


@pytest.mark.parametrize("name", LAYOUTS)
def test_too_many_files_failing_in_a_worker_is_one_paragraph_naming_them(name, tmp_path):
    command, broken, _ = layout(name, tmp_path / "data")
    for path in broken:
        break_pixels(path)
    run = tmp_path / "run"
    result = run_cli("gan-train", *command, *COMMON, "trainer.steps=3", f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    message = assert_one_paragraph(result.stderr, *broken)
    assert "could not be decoded while loading, too many to skip" in message
    assert "skipping" in result.stdout  # the first failures were skipped with a warning, before it gave up
    assert read_status(run)["status"] == "failed" and "too many to skip" in read_status(run)["error"]


@pytest.mark.parametrize("name", LAYOUTS)
def test_a_file_truncated_mid_run_is_skipped_with_a_warning_and_the_run_finishes(name, tmp_path):
    command, _, truncated = layout(name, tmp_path / "data")
    run = tmp_path / "run"
    # Two workers, 3 batches of 2 an epoch (CelebA: 4), 9 steps: the epochs after the cut read the file again.
    process = start_training(*command, *COMMON, "data.num_workers=2", "trainer.steps=9", f"hydra.run.dir={run}",
                             cwd=tmp_path, until="Training ")
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    output, _ = process.communicate(timeout=240)
    assert process.returncode == 0, output
    assert f"skipping {truncated}: it cannot be decoded" in output
    assert "Traceback" not in output and "Done: 9 steps" in output
    assert read_status(run)["status"] == "finished"


def test_gan_eval_reading_real_images_in_workers_gives_the_paragraph_too(tmp_path):
    images = tmp_path / "images"
    for i in range(20):
        noise_png(images / f"image_{i:02d}.png", (16, 16), seed=i)
    run = tmp_path / "run"
    run_cli("gan-train", *DCGAN, "data=folder", f"data.root={images}", "data.channels=1", *COMMON, "trainer.steps=1",
            f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    broken = sorted(images.glob("*.png"))
    for path in broken:
        break_pixels(path)
    # The real samples are read by DataLoader workers alone (no item is decoded up front).
    result = run_cli("gan-eval", f"ckpt={run / 'checkpoints' / 'last.pt'}", "feature_extractor=digits_classifier",
                     "metrics=[fid]", "num_samples=16", "num_real=16", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "too many to skip" in assert_one_paragraph(result.stderr, *broken)


# The mechanism itself: a UserError (any subclass, any text) crosses the worker boundary intact.


class Diverging(UserError):
    exit_code = 3


class FailingDataset(Dataset):
    message = "data.value=7 is out of range [1, 5]:\nuse a smaller one. [gan-cli message lookalike] ]"

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index):
        raise Diverging(self.message)


def test_a_user_error_in_a_worker_keeps_its_message_and_exit_status():
    loader = DataLoader(ReportingWorkerErrors(FailingDataset()), batch_size=2, num_workers=1)
    with pytest.raises(UserError) as raised:
        next(iter(loader))
    assert str(raised.value) == FailingDataset.message and raised.value.exit_code == 3
    # Without workers the error is itself, untouched.
    with pytest.raises(Diverging):
        next(iter(DataLoader(ReportingWorkerErrors(FailingDataset()), batch_size=2, num_workers=0)))


# Skipping is a pure function of (index, sample seed): a resumed run sees the same batches.


def side_by_side_root(root: Path, count: int = 9) -> list[Path]:
    for i in range(count):
        noise_png(root / "train" / f"{i:03d}.png", (16, 8), seed=i)
    return sorted((root / "train").glob("*.png"))


def test_a_failing_file_is_replaced_by_the_next_with_the_same_draws_and_resumes_exactly(tmp_path):
    files = side_by_side_root(tmp_path)
    break_pixels(files[2])
    pairs = paired_images(tmp_path, resolution=8, load_size=12)
    for seed in (0, 7):
        assert all(torch.equal(a, b) for a, b in zip(pairs[2, seed], pairs[3, seed]))
    assert len({pairs[2, seed][0].numpy().tobytes() for seed in range(10)}) > 1  # the draws follow the seed

    config = OmegaConf.create({
        "name": "paired", "batch_size": 2, "num_workers": 2, "shape": [3, 8, 8], "input_shape": [3, 8, 8],
        "dataset": {"_target_": "gan_cli.data.paired.paired_images", "root": str(tmp_path), "resolution": 8,
                    "load_size": 12, "flip": True},
    })
    original = build_batches(config, "cpu", seed=3)
    [original.next() for _ in range(2)]
    buffer = io.BytesIO()
    torch.save(original.state_dict(), buffer)
    expected = [original.next() for _ in range(5)]  # into the next epoch: the broken file comes up
    restored = build_batches(config, "cpu", seed=3)
    buffer.seek(0)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    for (x, y), (x2, y2) in zip(expected, [restored.next() for _ in range(5)]):
        assert torch.equal(x, x2) and torch.equal(y, y2)
