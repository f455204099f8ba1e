"""Text-to-image (StackGAN, issue 22): captioned batches, both stages trained by the real gan-train,
exact resume, the Stage-II checks of its Stage-I checkpoint, and gan-sample / gan-interp / gan-eval
on the checkpoints, with the bad captions a user will type."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import CPU_SIZED, compose_train, run_cli
from PIL import Image

from gan_cli.data.batches import InMemoryBatches
from gan_cli.data.caption_batches import CaptionBatches, captions_of, padded_table
from gan_cli.errors import UserError
from gan_cli.training.run import train

TINY = ["model=stackgan", *CPU_SIZED, "data.count=64", "data.resolution=16", "model.latent_dim=8", "model.c_dim=8",
        "model.stage_one_width=4", "model.stage_two_width=4", "model.discriminator.base_width=4",
        "trainer.num_fixed_samples=16", "eval.every=0"]
STAGE_TWO = ["model.stage=2", "data.resolution=32"]


def tiny(*extra: str):
    return compose_train([*TINY, *extra])


@pytest.fixture(scope="module")
def stage_one(tmp_path_factory):
    """A tiny Stage-I run's folder (3 steps)."""
    folder = tmp_path_factory.mktemp("stage_one")
    train(tiny(), run_dir=folder)
    return folder


def test_each_image_comes_with_one_of_its_own_captions_and_the_pick_resumes():
    captions = [(f"a{i}", f"b{i}", f"c{i}") if i % 2 else (f"a{i}",) for i in range(20)]
    flat, rows, counts = padded_table(captions)
    assert rows.shape == (20, 3) and counts.tolist()[:2] == [1, 3]
    embeddings = torch.arange(len(flat), dtype=torch.float32)[rows][..., None]  # an embedding = its caption's index

    def source():
        images = InMemoryBatches(torch.arange(20.0)[:, None], torch.arange(20), 4, "cpu", seed=3)
        return CaptionBatches(images, embeddings, counts)

    batches, seen = source(), []
    for _ in range(12):  # past an epoch boundary
        images, text = batches.next()
        for index, value in zip(images[:, 0].long().tolist(), text[:, 0].long().tolist()):
            assert flat[value] in captions[index]
        seen.append(text)
    picks = {flat[int(v)] for t in seen for v in t[:, 0]}
    assert {"b1", "c1"} & picks and len(picks) > 20  # several captions of an image are drawn
    again = source()
    for _ in range(7):
        again.next()
    resumed = source()
    resumed.load_state_dict(again.state_dict())
    assert [torch.equal(resumed.next()[1], t) for t in seen[7:]] == [True] * 5


def test_an_image_without_captions_and_data_without_captions_are_named(tmp_path):
    from gan_cli.data import DataSource

    class Captioned(tuple):
        captions = (("a red one",), ())

    source = DataSource({"name": "mine", "dataset": {}})
    source.__dict__["dataset"] = Captioned((torch.zeros(2, 3, 16, 16), torch.zeros(2)))
    with pytest.raises(UserError, match="1 image\\(s\\) have no caption \\(the first: item 1\\)"):
        captions_of(source)
    with pytest.raises(UserError, match="but data=digits is generation data .* use data=captioned_digits"):
        train(compose_train(["model=stackgan", "data=digits", *CPU_SIZED, "data.resolution=16"]), run_dir=tmp_path)


def test_stage_one_trains_writes_captioned_previews_and_resumes_exactly(stage_one, tmp_path):
    checkpoint = torch.load(stage_one / "checkpoints" / "last.pt", weights_only=True)
    assert checkpoint["step"] == 3 and checkpoint["config"]["model"]["task"] == "text_to_image"
    preview = Image.open(stage_one / "samples" / "step_0000003.png")
    assert preview.height > 8 * 16 * 4  # 8 rows of enlarged 16x16 draws, each with its caption under it
    extra = ["trainer.steps=4", "trainer.checkpoint_every=2"]
    train(tiny(*extra), run_dir=tmp_path / "straight")
    train(tiny(*extra, "trainer.steps=2"), run_dir=tmp_path / "first")
    train(tiny(*extra, f"resume={tmp_path / 'first' / 'checkpoints' / 'last.pt'}"), run_dir=tmp_path / "second")
    a = torch.load(tmp_path / "straight" / "checkpoints" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "second" / "checkpoints" / "last.pt", weights_only=True)
    for key in ("generator", "discriminator"):
        assert all(torch.equal(a[key][name], b[key][name]) for name in a[key]), key


def test_stage_two_refines_the_frozen_stage_one_generator(stage_one, tmp_path):
    stage_one_ckpt = stage_one / "checkpoints" / "last.pt"
    train(tiny(*STAGE_TWO, f"model.stage1_ckpt={stage_one_ckpt}", "augment.policy=[translation,cutout]"),
          run_dir=tmp_path)
    first = torch.load(stage_one_ckpt, weights_only=True)["generator"]
    second = torch.load(tmp_path / "checkpoints" / "last.pt", weights_only=True)["generator"]
    for name, tensor in first.items():  # Stage I's weights and batch-norm statistics, unchanged
        assert torch.equal(second[f"stage_one.{name.removeprefix('stage_one.')}"], tensor), name
    assert any(name.startswith("stage_two.") for name in second)
    out = tmp_path / "two.png"
    result = run_cli("gan-sample", f"ckpt={tmp_path / 'checkpoints' / 'last.pt'}", "text=a big red seven", "n=3",
                     f"out={out}", cwd=tmp_path, check=True)
    assert "1 caption(s), a row of 3 each" in result.stdout and Image.open(out).width >= 3 * 32


@pytest.mark.parametrize("extra,message", [
    ([], "model.stage=2 refines a trained Stage-I generator, but model.stage1_ckpt is not set"),
    (["model.stage1_ckpt=/nowhere/last.pt"], "model.stage1_ckpt=/nowhere/last.pt is not a file"),
    (["model.stage1_ckpt=STAGE_ONE", "model.c_dim=6"], "model.c_dim=8 \\(this run: 6\\)"),
    (["model.stage1_ckpt=STAGE_ONE", "data.resolution=64"], "images of 16x16 \\(Stage II at data.resolution=64"),
])
def test_a_stage_two_run_without_a_fitting_stage_one_checkpoint_is_refused(extra, message, stage_one, tmp_path):
    extra = [e.replace("STAGE_ONE", str(stage_one / "checkpoints" / "last.pt")) for e in extra]
    result = run_cli("gan-train", *TINY, *STAGE_TWO, *extra, f"hydra.run.dir={tmp_path}", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert __import__("re").search(message, result.stderr + result.stdout), result.stderr
    assert not (tmp_path / "checkpoints" / "last.pt").exists()


def test_a_stage_two_checkpoint_is_not_a_stage_one(stage_one, tmp_path):
    first = stage_one / "checkpoints" / "last.pt"
    train(tiny(*STAGE_TWO, f"model.stage1_ckpt={first}"), run_dir=tmp_path / "two")
    with pytest.raises(UserError, match="holds model=stackgan model.stage=2, not a Stage-I stackgan run"):
        train(tiny("model.stage=2", "data.resolution=64", f"model.stage1_ckpt={tmp_path / 'two/checkpoints/last.pt'}"),
              run_dir=tmp_path / "three")


def test_gan_sample_draws_captions_and_refuses_the_bad_ones(stage_one, tmp_path):
    ckpt = f"ckpt={stage_one / 'checkpoints' / 'last.pt'}"
    out = tmp_path / "grid.png"
    result = run_cli("gan-sample", ckpt, 'text=["a large green three on black","a small red one"]', "n=4",
                     f"out={out}", "individual=true", cwd=tmp_path, check=True)
    assert "2 caption(s), a row of 4 each" in result.stdout
    assert len(list((tmp_path / "grid").glob("*.png"))) == 8
    for text, message in (("", "has no words"), ("qwerty zxcv", "has no word the text encoder knows"),
                          ("seven " * 2000, "characters long; a caption is at most 1,000")):
        bad = run_cli("gan-sample", ckpt, f"text={text!r}" if text else "text=''", cwd=tmp_path)
        assert bad.returncode != 0 and message in bad.stderr and "Traceback" not in bad.stderr, bad.stderr


def test_gan_interp_walks_between_captions_and_along_the_augmentation(stage_one, tmp_path):
    ckpt = f"ckpt={stage_one / 'checkpoints' / 'last.pt'}"
    text = run_cli("gan-interp", ckpt, "mode=text", "a=a red seven", "b=a blue one", "steps=5", "seeds=[0,1]",
                   f"out={tmp_path / 'text.png'}", cwd=tmp_path, check=True)
    assert "2 row(s) of 5 steps, mode=text" in text.stdout and (tmp_path / "text.png").is_file()
    walk = run_cli("gan-interp", ckpt, "mode=augmentation", "a=a red seven", f"out={tmp_path / 'ca.png'}",
                   cwd=tmp_path, check=True)
    assert "mode=augmentation" in walk.stdout
    wrong = run_cli("gan-interp", ckpt, "mode=codes", cwd=tmp_path)
    assert wrong.returncode != 0 and "is not a walk of a text-to-image model" in wrong.stderr
def test_gan_eval_judges_captions_beside_the_real_images(stage_one, tmp_path):
    out = tmp_path / "report.json"
    result = run_cli("gan-eval", f"ckpt={stage_one / 'checkpoints' / 'last.pt'}", "num_samples=128",
                     f"out={out}", cwd=tmp_path, check=True)
    report = json.loads(out.read_text())
    for name in ("fid", "r_precision", "digit_accuracy", "colour_accuracy", "attributes_right"):
        assert name in report["values"] and name in report["real_data"], name
    assert report["real_data"]["colour_accuracy"] > 0.9 and report["real_data"]["r_precision"] > 0.2  # chance: 1%
    assert "r_precision" in result.stdout


def test_stackgan_trains_on_two_processes_and_in_a_sweep(tmp_path):
    ddp = run_cli("gan-train", *TINY, "trainer.devices=2", f"hydra.run.dir={tmp_path / 'ddp'}", cwd=tmp_path,
                  check=True)
    assert "(2 process(es)" in ddp.stderr + ddp.stdout and (tmp_path / "ddp" / "checkpoints" / "last.pt").is_file()
    sweep = run_cli("gan-train", "-m", *TINY, "model.conditioning_augmentation=true,false",
                    f"hydra.sweep.dir={tmp_path / 'sweep'}", cwd=tmp_path, check=True)
    written = sorted((tmp_path / "sweep").glob("*/checkpoints/last.pt"))
    assert len(written) == 2, sweep.stdout + sweep.stderr
    kinds = {torch.load(p, weights_only=True)["config"]["model"]["conditioning_augmentation"] for p in written}
    assert kinds == {True, False}


def test_a_text_encoder_of_another_data_sets_words_is_refused(tmp_path):
    from test_captioned_folder import write_images

    root = tmp_path / "data"
    names = write_images(root)
    for name in names:
        text = (root / "captions" / name).with_suffix(".txt")
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text("this bird has wings that are brown and has a long beak\n")
    with pytest.raises(UserError, match="knows .* of the caption words of data=captioned_folder .* train one on"):
        train(compose_train(["model=stackgan", "data=captioned_folder", f"data.root={root}", *CPU_SIZED,
                             "data.num_workers=0", "data.batch_size=4"]), run_dir=tmp_path / "run")
