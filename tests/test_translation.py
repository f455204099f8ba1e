"""pix2pix, CycleGAN and SRGAN end to end on the offline data: training, exact resume, the
comparison grids and loss terms in TensorBoard, gan-sample on the user's images and on the held-out
split, gan-eval's metrics, and the errors a user will meet."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
import torch
from conftest import compose_train, run_cli
from PIL import Image

from gan_cli.errors import UserError
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.training.objectives.image_pool import ImagePool
from gan_cli.training.run import train

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import bench_quality  # noqa: E402

# Tiny versions of each model on its offline data: 16x16 digits, 24-px photograph crops.
TINY = {
    "pix2pix": ["model=pix2pix", "data.resolution=16", "data.batch_size=4", "model.generator.base_width=8",
                "model.discriminator.base_width=8", "model.discriminator.receptive_field=16"],
    "cyclegan": ["model=cyclegan", "data.resolution=16", "data.batch_size=2", "model.generator.base_width=8",
                 "model.generator.blocks=2", "model.discriminator.base_width=8", "model.discriminator.receptive_field=16",
                 "model.pool_size=3"],
    "srgan": ["model=srgan", "data.crop=24", "data.lr_size=6", "data.batch_size=2", "model.generator.base_width=8",
              "model.generator.blocks=2", "model.discriminator.base_width=8", "model.pretrain_steps=2"],
}
STEPS = ["trainer.device=cpu", "trainer.steps=4", "trainer.log_every=1", "trainer.sample_every=2",
         "trainer.checkpoint_every=2", "trainer.num_fixed_samples=4"]
NETWORKS = {"pix2pix": ("generator", "discriminator"), "srgan": ("generator", "discriminator"),
            "cyclegan": ("generator", "generator_ba", "discriminator", "discriminator_a")}


def _cfg(model, *extra):
    return compose_train([*TINY[model], *STEPS, *extra])


@pytest.mark.parametrize("model", ["pix2pix", "cyclegan", "srgan"])
def test_training_resumes_exactly(model, tmp_path):
    """Two steps, a checkpoint, two more == four straight (SRGAN crosses from pre-training to the
    adversarial phase at the resume; CycleGAN carries its image pools)."""
    final = train(_cfg(model), run_dir=tmp_path / "straight")
    assert final["step"] == 4 and math.isfinite(final["loss/g"])
    train(_cfg(model, "trainer.steps=2", "optim.schedule_steps=4"), run_dir=tmp_path / "half")
    train(_cfg(model, f"resume={tmp_path / 'half' / 'checkpoints' / 'last.pt'}"), run_dir=tmp_path / "resumed")
    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.pt")
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")
    half = load_checkpoint(tmp_path / "half" / "checkpoints" / "last.pt")
    for key in NETWORKS[model]:
        assert straight[key].keys() == resumed[key].keys()
        for name, value in straight[key].items():
            assert torch.equal(value, resumed[key][name]), f"{key}.{name}"
        assert any(not torch.equal(v, half[key][k]) for k, v in straight[key].items() if v.is_floating_point()), key
    if model == "cyclegan":
        assert straight["image_pools"]["a"]["count"] == 3
        assert torch.equal(straight["image_pools"]["b"]["images"], resumed["image_pools"]["b"]["images"])


def test_loss_terms_and_comparison_grids_reach_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(_cfg("cyclegan"), run_dir=tmp_path)
    events = EventAccumulator(str(tmp_path), size_guidance={"images": 0}).Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"loss/cycle_a", "loss/cycle_b", "loss/identity_a", "loss/identity_b", "loss/g_ab", "loss/d_a",
            "loss/d_b"} <= scalars
    assert {"samples/AtoB", "samples/BtoA"} <= set(events.Tags()["images"])
    grid = Image.open(tmp_path / "samples" / "step_0000004_BtoA.png")
    # Four held-out rows of input | translation | cycle at 16 px with 2 px padding.
    assert grid.size == (3 * 18 + 2, 4 * 18 + 2)


def test_srgan_phases_and_the_bicubic_reference(tmp_path):
    final = train(_cfg("srgan", "eval.every=4"), run_dir=tmp_path)
    assert "loss/content" in final and "loss/pixel" in final
    assert math.isfinite(final["eval/psnr"]) and 0 < final["eval/ssim"] <= 1
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["eval_step"] == 4 and "psnr" in metrics


def test_pix2pix_commands_end_to_end(tmp_path):
    """gan-train, then gan-sample on the held-out split and on the user's own files, gan-eval, gan-interp."""
    run = tmp_path / "run"
    result = run_cli("gan-train", *TINY["pix2pix"], *STEPS, f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    ckpt = run / "checkpoints" / "last.pt"
    assert "l1 " in result.stdout  # the L1 term on the progress line
    assert "D(G(x)) " in result.stdout and "D(G(z))" not in result.stdout  # translations of inputs: no z

    heldout = run_cli("gan-sample", f"ckpt={ckpt}", "n=3", cwd=tmp_path, check=True)
    grid = Image.open(run / "samples" / "heldout_AtoB_seed0_n3.png")
    assert grid.size == (3 * 18 + 2, 3 * 18 + 2) and "input | output | target" in heldout.stdout

    photos = tmp_path / "mine"
    photos.mkdir()
    for i, size in enumerate([(40, 30), (16, 16)]):
        Image.new("RGB", size, (i * 100, 50, 200)).save(photos / f"edge{i}.png")
    run_cli("gan-sample", f"ckpt={ckpt}", f"input={photos}", f"out={tmp_path / 'out'}", cwd=tmp_path, check=True)
    outputs = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in outputs] == ["edge0.png", "edge1.png"]
    assert all(Image.open(p).size == (16, 16) and Image.open(p).mode == "L" for p in outputs)

    evaluated = run_cli("gan-eval", f"ckpt={ckpt}", cwd=tmp_path, check=True)
    report = json.loads((run / "checkpoints" / "last.eval.json").read_text())
    assert {"psnr", "ssim", "l1", "fid", "label_accuracy"} <= set(report["values"])
    assert 0 <= report["values"]["label_accuracy"] <= 1 and "real targets" in evaluated.stdout

    interp = run_cli("gan-interp", f"ckpt={ckpt}", cwd=tmp_path)
    assert interp.returncode == 2 and "no latent space" in interp.stderr.replace("without a latent space", "no latent space")
    assert len(interp.stderr.strip().splitlines()) == 1 and "Traceback" not in interp.stderr


def test_cyclegan_and_srgan_sample_and_evaluate(tmp_path):
    for model in ("cyclegan", "srgan"):
        run = tmp_path / model
        run_cli("gan-train", *TINY[model], *STEPS, f"hydra.run.dir={run}", cwd=tmp_path, check=True)
        ckpt = run / "checkpoints" / "last.pt"
        image = tmp_path / f"{model}.png"
        Image.new("RGB", (20, 12), (200, 30, 30)).save(image)
        extra = ["direction=BtoA"] if model == "cyclegan" else []
        run_cli("gan-sample", f"ckpt={ckpt}", f"input={image}", f"out={tmp_path / f'{model}_out.png'}", *extra,
                cwd=tmp_path, check=True)
        written = Image.open(tmp_path / f"{model}_out.png")
        # SR upscales the whole image x4; CycleGAN translates at its 16 px resolution.
        assert written.size == ((80, 48) if model == "srgan" else (16, 16))
        evaluated = run_cli("gan-eval", f"ckpt={ckpt}", cwd=tmp_path, check=True)
        report = json.loads((run / "checkpoints" / "last.eval.json").read_text())
        if model == "srgan":
            assert report["reference"] == "bicubic" and "psnr" in report["reference_values"]
            assert "bicubic:" in evaluated.stdout
        else:
            assert {"fid", "kid", "label_accuracy"} <= set(report["values"])
        # The quality benchmark reads the same checkpoint: its held-out grid and its scores.
        grid = bench_quality.draw_grid(model, tmp_path, tmp_path / "grids")
        assert grid == tmp_path / "grids" / f"{model}.png" and Image.open(grid).width > 0
        values, _, reference = bench_quality.translation_values(ckpt)
        assert values.keys() == report["values"].keys() and reference.keys() == report["reference_values"].keys()


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["model=pix2pix", "data=digits"], "data=digits_edges"),
        (["data=digits_edges"], "model=sngan"),
        ([*TINY["pix2pix"], "model.discriminator.receptive_field=71"], "receptive_field=71"),
        ([*TINY["cyclegan"], "model.pool_size=-1"], "model.pool_size=-1"),
        ([*TINY["pix2pix"], "model.l1_weight=-1"], "model.l1_weight=-1"),
        ([*TINY["cyclegan"], "model.ema_decay=0.999"], "model.ema_decay=0.999"),
        ([*TINY["srgan"], "model.pretrain_steps=1.5"], "model.pretrain_steps=1.5"),
        ([*TINY["srgan"], "loss.perceptual.weights=/nonexistent/vgg19.pth"], "loss.perceptual.weights"),
        ([*TINY["srgan"], "loss.perceptual.layer=conv9_9"], "conv9_9"),
    ],
)
def test_bad_settings_fail_before_training(overrides, message, tmp_path):
    cfg = compose_train(["trainer.device=cpu", "trainer.steps=2", *overrides])
    with pytest.raises(UserError) as info:
        train(cfg, run_dir=tmp_path)
    assert message in str(info.value)
    assert not (tmp_path / "checkpoints").exists()


def test_bad_sample_inputs_are_one_line_errors(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", *TINY["cyclegan"], *STEPS, "trainer.steps=1", f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    ckpt = run / "checkpoints" / "last.pt"
    not_image = tmp_path / "notes.png"
    not_image.write_text("not an image")
    cases = [([f"input={not_image}"], "is not an image"), ([f"input={tmp_path / 'missing'}"], "does not exist"),
             (["direction=sideways"], "direction='sideways'")]
    for args, message in cases:
        result = run_cli("gan-sample", f"ckpt={ckpt}", *args, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_vgg_content_loss_from_a_weights_file(tmp_path):
    """A VGG19 weights file (here with random weights, holding only the layers up to conv2_2) turns the
    content loss from the pixel MSE into the feature distance; without one the run says so."""
    from torchvision.models.vgg import cfgs, make_layers

    features = make_layers(cfgs["E"])[:8]
    weights = tmp_path / "vgg19_conv2_2.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, weights)
    final = train(_cfg("srgan", f"loss.perceptual.weights={weights}", "loss.perceptual.layer=conv2_2",
                       "model.pretrain_steps=0"), run_dir=tmp_path / "vgg")
    assert math.isfinite(final["loss/content"])
    # The feature distance is not the pixel MSE.
    assert not math.isclose(final["loss/content"], final["loss/pixel"], rel_tol=1e-3)
    without = train(_cfg("srgan", "model.pretrain_steps=0"), run_dir=tmp_path / "pixel")
    assert math.isclose(without["loss/content"], without["loss/pixel"], rel_tol=1e-6)


def test_image_pool_round_trips_through_a_checkpoint():
    pool = ImagePool(4, seed=0, name="b")
    for _ in range(3):
        pool.query(torch.randn(3, 1, 4, 4))
    copy = ImagePool(4, seed=0, name="b")
    copy.load_state_dict(pool.state_dict())
    batch = torch.randn(3, 1, 4, 4)
    assert torch.equal(pool.query(batch), copy.query(batch))
    assert pool.count == copy.count == 4


def test_cyclegan_trains_under_two_processes(tmp_path):
    """trainer.devices=2 on CPU: a real gloo process group; the four networks stay identical across ranks."""
    run = tmp_path / "run"
    result = run_cli("gan-train", *TINY["cyclegan"], *STEPS, "trainer.steps=2", "trainer.devices=2",
                     f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    checkpoint = load_checkpoint(run / "checkpoints" / "last.pt")
    assert checkpoint["world_size"] == 2 and checkpoint["step"] == 2
    assert checkpoint["ranks"][0]["weights_sha256"] == checkpoint["ranks"][1]["weights_sha256"]
    assert "2 process(es)" in result.stdout


@pytest.mark.parametrize("model", ["pix2pix", "srgan"])
def test_bfloat16_autocast_trains(model, tmp_path):
    final = train(_cfg(model, "trainer.precision=bf16", "trainer.steps=3", "trainer.save_checkpoints=false"),
                  run_dir=tmp_path)
    assert final["step"] == 3 and math.isfinite(final["loss/g"])
