"""What a new user sees on the console and in the files (an issue filed by one): an error said once,
KID in the unit papers use with its floor explained, a GIF beside every walk's grid, a line saying what
gan-sample did to the user's own images, and held-out grids named by what they hold. (The issue's
last item, D(G(z)) in the log lines of models without z, was fixed before: Task.fake_label.)"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import run_cli, tiny_model_overrides
from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures" / "checkpoints"
BAD_BATCH = "data.batch_size='abc' is not valid"


def fixture(family: str, tmp_path: Path) -> Path:
    """A copy of a family's checkpoint fixture in a run folder of its own (its samples/ beside it)."""
    ckpt = tmp_path / "run" / "checkpoints" / f"{family}.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / f"{family}.pt", ckpt)
    return ckpt


# An error is said once on the console, and recorded in the run folder.

@pytest.mark.parametrize("processes", [[], ["trainer.devices=2", "trainer.device=cpu"]], ids=["one", "spawned"])
def test_a_failing_run_says_its_error_once_and_records_it(processes, tmp_path):
    run = tmp_path / "run"
    result = run_cli("gan-train", "data.batch_size=abc", *processes, f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 2
    assert (result.stdout + result.stderr).count(BAD_BATCH) == 1, result.stdout + result.stderr
    assert result.stderr.startswith(f"error: {BAD_BATCH}") and "Terminating process" not in result.stderr
    assert (run / "train.log").read_text().count(BAD_BATCH) == 1
    assert BAD_BATCH in json.loads((run / "status.json").read_text())["error"]


def test_a_failing_sweep_logs_each_job_once_and_ends_without_a_traceback(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli("gan-train", "-m", "data.batch_size=abc,xyz", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output
    assert output.count(BAD_BATCH) == 1 and output.count("data.batch_size='xyz' is not valid") == 1
    last = next(line for line in result.stderr.splitlines() if line.startswith("error: "))
    assert last.startswith(f"error: job {sweep / '0'} failed on a bad input") and str(sweep / "summary.md") in last
    assert BAD_BATCH in (sweep / "0" / "train.log").read_text()


# KID: x10^3 wherever people read it, stored unscaled, its floor explained.

def test_gan_eval_prints_kid_x1000_stores_it_unscaled_and_explains_its_floor(tmp_path):
    ckpt = fixture("dcgan", tmp_path)
    out = tmp_path / "eval.json"
    result = run_cli("gan-eval", f"ckpt={ckpt}", "metrics=[kid]", "num_samples=400", f"out={out}", cwd=tmp_path,
                     check=True)
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("kid "))
    shown, real = (float(v) for v in re.search(r"kid \(x10\^3\) (\S+) \(real data: (\S+)\)", line).groups())
    report = json.loads(out.read_text())
    assert shown == pytest.approx(report["values"]["kid"] * 1e3, rel=1e-5)
    assert real == pytest.approx(report["real_data"]["kid"] * 1e3, rel=1e-5)
    assert "0 is its floor in expectation" in line and "slightly below 0" in line
    # The digits classifier's features are brought to Inception's scale first: unscaled, this untrained
    # generator read 380,102 (and 3.8e8 x10^3); the real data reads a few units x10^3 around 0.
    assert 10 < shown < 1e4 and abs(real) < 20
    assert "divided by 11.16" in report["metrics"]["kid"]["protocol"]["kid"]["features"]


def test_the_sweep_summary_shows_kid_x1000_and_its_csv_keeps_it_unscaled(tmp_path):
    from gan_cli.runs.status import write_status
    from gan_cli.runs.sweep_summary import write_summary

    for job, kid in (("0", 0.0123), ("1", 0.0456)):
        write_status(tmp_path / job, status="finished", overrides=[f"trainer.seed={job}"])
        (tmp_path / job / "metrics.json").write_text(json.dumps({"kid": kid, "fid": 10.0 + int(job)}))
    summary = write_summary(tmp_path, sort_by="kid")
    markdown, csv = summary.markdown_path.read_text(), summary.csv_path.read_text()
    assert "| kid (x10^3) |" in markdown and "| 12.3 |" in markdown and "| 45.6 |" in markdown
    assert csv.splitlines()[0].split(",")[5:8] == ["trainer.seed", "kid", "fid"] and ",0.0123," in csv


# Every walk writes a GIF beside its grid; arithmetic, not a walk, one PNG.

def gif_of(path: Path) -> Image.Image:
    gif = Image.open(path)
    assert gif.format == "GIF" and gif.info.get("loop") == 0
    return gif


WALKS = [  # (family, options, frames in the GIF, its frame size)
    ("dcgan", ["seeds=[0,1]", "frames=3"], 2 * 3, (48, 48)),                   # z: 2 legs, back to the start
    ("stylegan2", ["space=w", "seeds=[0,1,2]", "frames=3"], 3 * 3, (48, 48)),  # W: 16 px images, x3 to >= 40
    ("stylegan2", ["mode=style_mixing", "rows=[1,2]", "cols=[3,4,5]", "frames=3"], 5, (74, 56)),  # crossover 1..5
    ("biggan", ["mode=classes", "classes=[0,3,7]", "frames=3"], 3 * 3, (48, 48)),
]


@pytest.mark.parametrize("family, options, frames, size", WALKS, ids=["z", "w", "style_mixing", "classes"])
def test_every_walk_writes_a_looping_gif_beside_its_grid(family, options, frames, size, tmp_path):
    ckpt = fixture(family, tmp_path)
    png = tmp_path / "walk.png"
    result = run_cli("gan-interp", f"ckpt={ckpt}", *options, "gif_size=40", "fps=10", f"out={png}", cwd=tmp_path,
                     check=True)
    assert result.stdout.strip() == f"wrote {png} and {png.with_suffix('.gif')}"
    gif = gif_of(png.with_suffix(".gif"))
    assert gif.n_frames == frames and gif.size == size
    # Style mixing holds each crossover for `frames` frames of 1/fps s; the walks move every frame.
    assert gif.info["duration"] == (300 if "mode=style_mixing" in options else 100)


def test_the_infogan_code_walk_writes_a_gif_and_arithmetic_only_its_picture(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", "model=infogan", "trainer.device=cpu", "trainer.steps=1", "trainer.sample_every=100",
            "trainer.checkpoint_every=100", "trainer.num_fixed_samples=4", "data.batch_size=4",
            *tiny_model_overrides("infogan"), f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    png = tmp_path / "codes.png"
    result = run_cli("gan-interp", f"ckpt={run / 'checkpoints' / 'last.pt'}", "steps=5", "frames=3", "gif_size=40",
                     f"out={png}", cwd=tmp_path, check=True)
    assert result.stdout.strip() == f"wrote {png} and {png.with_suffix('.gif')}"
    gif = gif_of(png.with_suffix(".gif"))  # the 10 categorical values in a 4-wide grid, the code there and back
    assert gif.n_frames == 2 * 3 and gif.size == (4 * 18 + 2, 3 * 18 + 2)

    ckpt = fixture("dcgan", tmp_path)
    arithmetic = tmp_path / "arithmetic.png"
    result = run_cli("gan-interp", f"ckpt={ckpt}", "mode=arithmetic", "a=1", "b=2", "c=3", f"out={arithmetic}",
                     cwd=tmp_path, check=True)
    assert result.stdout.strip() == f"wrote {arithmetic}" and not arithmetic.with_suffix(".gif").exists()
    help_text = run_cli("gan-interp", "--help", cwd=tmp_path, check=True).stdout
    assert "arithmetic is not a walk and writes one PNG" in help_text


# gan-sample says what it did to the user's images, once per kind.

def colour_photo(path: Path, size=(640, 480)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 120, 30)).save(path)
    return path


def test_gan_sample_says_once_how_it_turned_photos_into_the_models_inputs(tmp_path):
    pix2pix = fixture("pix2pix", tmp_path)
    photo = colour_photo(tmp_path / "photo.jpg")
    result = run_cli("gan-sample", f"ckpt={pix2pix}", f"input={photo}", f"out={tmp_path / 'one.png'}", cwd=tmp_path,
                     check=True)
    assert result.stdout.splitlines() == [
        "input photo.jpg: 640x480 RGB -> 16x16 grayscale (the pix2pix checkpoint was trained on 1-channel 16x16 "
        "images; converted to grayscale (luma), shorter side resized to 16 (bilinear), centre-cropped to square)",
        f"wrote {tmp_path / 'one.png'}"]

    folder = tmp_path / "folder"
    for name, size in (("a.png", (640, 480)), ("b.png", (800, 600)), ("c.png", (32, 32))):
        colour_photo(folder / name, size)
    Image.new("L", (16, 16), 100).save(folder / "fits.png")  # already the model's input: nothing to say
    for family in ("pix2pix", "cyclegan"):
        result = run_cli("gan-sample", f"ckpt={fixture(family, tmp_path)}", f"input={folder}",
                         f"out={tmp_path / family}", cwd=tmp_path, check=True)
        lines = result.stdout.splitlines()
        assert len(lines) == 3 and lines[-1].startswith("wrote ") and "3 more" in lines[-1]
        assert lines[0].startswith(f"input 2 files like a.png: 640x480 to 800x600 RGB -> 16x16 grayscale (the {family} ")
        assert lines[1].startswith("input c.png: 32x32 RGB -> 16x16 grayscale") and "centre-cropped" not in lines[1]

    srgan = fixture("srgan", tmp_path)
    result = run_cli("gan-sample", f"ckpt={srgan}", f"input={folder / 'fits.png'}", f"out={tmp_path / 'sr.png'}",
                     cwd=tmp_path, check=True)
    assert result.stdout.splitlines()[0] == ("input fits.png: 16x16 grayscale -> RGB at its own size (the srgan "
                                             "checkpoint reads 3-channel images of any size; grey copied to R, G and B)")
    small = colour_photo(tmp_path / "small.png", (24, 18))
    result = run_cli("gan-sample", f"ckpt={srgan}", f"input={small}", f"out={tmp_path / 'sr2.png'}", cwd=tmp_path,
                     check=True)
    assert result.stdout.splitlines() == [f"wrote {tmp_path / 'sr2.png'}"]  # RGB at any size: as it is


# Held-out grids: the task's column names, and the rows they hold.

def test_held_out_grids_name_their_columns_and_the_rows_they_hold(tmp_path):
    srgan = fixture("srgan", tmp_path)
    result = run_cli("gan-sample", f"ckpt={srgan}", cwd=tmp_path, check=True)  # n: 8 asked, data=photos has 2
    grid = tmp_path / "run" / "samples" / "heldout_AtoB_seed0_n2.png"
    assert result.stdout.strip() == (f"wrote {grid} (2 held-out images (asked 8; the held-out split has no more), "
                                     f"a row each: bicubic | output | original)")
    assert Image.open(grid).size[1] == 2 * 18 + 2
    pix2pix = fixture("pix2pix", tmp_path)
    result = run_cli("gan-sample", f"ckpt={pix2pix}", "n=3", cwd=tmp_path, check=True)
    grid = tmp_path / "run" / "samples" / "heldout_AtoB_seed0_n3.png"
    assert result.stdout.strip() == f"wrote {grid} (3 held-out images, a row each: input | output | target)"

