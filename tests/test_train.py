"""Every variant trains on tiny data; resume is exact; bad combinations fail before training."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import MODELS
from fixtures import write_celeba, write_cifar10, write_image_folder, write_mnist

from gan_cli.errors import UserError
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.training.run import train


@pytest.mark.parametrize("model", MODELS)
def test_every_variant_trains_with_finite_losses(model, tiny_cfg, tmp_path):
    final = train(tiny_cfg(model, "digits"), run_dir=tmp_path)
    assert final["step"] == 3
    assert math.isfinite(final["loss/d"]) and math.isfinite(final["loss/g"])
    checkpoint = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    assert checkpoint["step"] == 3 and checkpoint["config"]["model"]["name"] == model
    assert (tmp_path / "samples" / "step_0000003.png").is_file()


@pytest.mark.parametrize("loss", ["bce", "lsgan", "wasserstein", "hinge"])
@pytest.mark.parametrize("data", ["ring", "grid"])
def test_mlp_gan_on_2d_mixtures(data, loss, tiny_cfg, tmp_path):
    extra = [f"loss={loss}"] + (["regularizers.gradient_penalty=1"] if loss == "wasserstein" else [])
    final = train(tiny_cfg("gan", data, extra), run_dir=tmp_path)
    assert math.isfinite(final["loss/d"])
    assert (tmp_path / "samples" / "step_0000003.png").is_file()  # the scatter plot


def test_wgan_gp_logs_penalty_and_wasserstein_estimate(tiny_cfg, tmp_path):
    final = train(tiny_cfg("wgan_gp", "digits"), run_dir=tmp_path)
    assert final["loss/gradient_penalty"] > 0 and "wasserstein_estimate" in final


def test_weight_clipping_bounds_the_critic(tiny_cfg, tmp_path):
    train(tiny_cfg("wgan", "digits"), run_dir=tmp_path)
    weights = load_checkpoint(tmp_path / "checkpoints" / "last.pt")["discriminator"]
    largest = max(w.abs().max().item() for name, w in weights.items() if not name.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert largest <= 0.01 + 1e-7


@pytest.mark.parametrize(
    "data,write",
    [
        ("mnist", lambda root: write_mnist(root)),
        ("fashion_mnist", lambda root: write_mnist(root, fashion=True)),
        ("cifar10", lambda root: write_cifar10(root)),
        ("celeba", lambda root: write_celeba(root, n=12)),
        ("folder", lambda root: write_image_folder(root, n=10)),
    ],
)
def test_real_dataset_loaders_feed_training(data, write, tiny_cfg, tmp_path):
    root = tmp_path / "data"
    write(root)
    extra = [f"data.root={root}", "data.num_workers=0"]
    final = train(tiny_cfg("dcgan", data, extra), run_dir=tmp_path / "run")
    assert final["step"] == 3 and math.isfinite(final["loss/d"])


def _weights(path):
    checkpoint = load_checkpoint(path)
    return {f"{part}.{k}": v for part in ("generator", "discriminator") for k, v in checkpoint[part].items()}, checkpoint


@pytest.mark.parametrize("model,data,schedule", [("dcgan", "digits", []), ("wgan_gp", "digits", []),
                                                 ("gan", "ring", ["optim.schedule=linear", "optim.decay_start=0.25",
                                                                  "optim.schedule_steps=4"]),
                                                 ("sngan", "folder", [])])
def test_resume_is_exact(model, data, schedule, tiny_cfg, tmp_path):
    extra = ["trainer.steps=4", "trainer.checkpoint_every=2", *schedule]
    if data == "folder":
        write_image_folder(tmp_path / "images", n=20)
        extra += [f"data.root={tmp_path / 'images'}", "data.num_workers=0"]
    train(tiny_cfg(model, data, extra), run_dir=tmp_path / "straight")

    train(tiny_cfg(model, data, [*extra, "trainer.steps=2"]), run_dir=tmp_path / "first_half")
    resumed = tiny_cfg(model, data, [*extra, f"resume={tmp_path / 'first_half' / 'checkpoints' / 'last.pt'}"])
    train(resumed, run_dir=tmp_path / "second_half")

    straight, straight_ckpt = _weights(tmp_path / "straight" / "checkpoints" / "last.pt")
    halves, halves_ckpt = _weights(tmp_path / "second_half" / "checkpoints" / "last.pt")
    assert straight_ckpt["step"] == halves_ckpt["step"] == 4
    # The resumed run did only the last two steps: it never wrote a step-2 checkpoint of its own.
    assert (tmp_path / "straight" / "checkpoints" / "step_0000002.pt").is_file()
    assert not (tmp_path / "second_half" / "checkpoints" / "step_0000002.pt").exists()
    first_half, _ = _weights(tmp_path / "first_half" / "checkpoints" / "last.pt")
    assert any(not torch.equal(first_half[name], straight[name]) for name in straight)
    assert straight.keys() == halves.keys()
    for name in straight:
        assert torch.equal(straight[name], halves[name]), name
    # And the optimizers' moments too.
    for a, b in zip(straight_ckpt["g_optimizer"]["state"].values(), halves_ckpt["g_optimizer"]["state"].values()):
        assert all(torch.equal(a[k], b[k]) for k in a if torch.is_tensor(a[k]))


@pytest.mark.parametrize(
    "model,extra,message",
    [
        ("dcgan", ["loss=wasserstein"], "Lipschitz"),
        ("dcgan", ["regularizers.gradient_penalty=10"], "batch norm"),
        ("wgan_gp", ["regularizers.weight_clip=0.01"], "choose one"),
        ("dcgan", ["trainer.steps=0"], "trainer.steps=0"),
        ("dcgan", ["optim.lr=-1"], "optim.lr=-1"),
        ("dcgan", ["data.batch_size=0"], "data.batch_size=0"),
        ("dcgan", ["data.batch_size=5000"], "fewer than one global batch"),
        ("dcgan", ["optim.schedule=cosine"], "optim.schedule='cosine'"),
        ("dcgan", ["optim.schedule=linear", "optim.decay_start=1.5"], "optim.decay_start=1.5"),
    ],
)
def test_combinations_that_cannot_work_fail_before_training(model, extra, message, tiny_cfg, tmp_path):
    with pytest.raises(UserError) as info:
        train(tiny_cfg(model, "digits", extra), run_dir=tmp_path)
    assert message in str(info.value)
    assert not (tmp_path / "checkpoints").exists()


def test_conv_model_on_points_names_the_fix(tiny_cfg, tmp_path):
    with pytest.raises(Exception) as info:
        train(tiny_cfg("dcgan", "ring"), run_dir=tmp_path)
    assert "model=gan" in str(info.value)


def test_linear_schedule_decays_the_learning_rates_to_zero(tiny_cfg, tmp_path):
    """optim.schedule=linear: constant until decay_start x steps, then linearly to 0; logged as lr/g, lr/d."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from gan_cli.training.schedules import schedule_factor

    factor = schedule_factor("linear", 0.5, None, 10)
    assert [factor(step) for step in range(10)] == [1, 1, 1, 1, 1, 1.0, 0.8, 0.6, 0.4, 0.2]
    assert schedule_factor("constant", 0.5, None, 10)(9) == 1.0
    cfg = tiny_cfg("gan", "ring", ["trainer.steps=8", "trainer.log_every=2", "optim.schedule=linear",
                                   "optim.decay_start=0.5", "optim.g_lr=1e-3", "optim.d_lr=4e-3"])
    train(cfg, run_dir=tmp_path)
    events = EventAccumulator(str(tmp_path)).Reload()
    # The rate logged at step s is the one the step s update used (0-based step s - 1).
    assert [round(e.value, 9) for e in events.Scalars("lr/g")] == [1e-3, 1e-3, 0.75e-3, 0.25e-3]
    assert [round(e.value, 9) for e in events.Scalars("lr/d")] == [4e-3, 4e-3, 3e-3, 1e-3]
