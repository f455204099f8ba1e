"""The wider GAN family: conditional models, ACGAN, InfoGAN, SAGAN, ResNet SNGAN, R1, DiffAugment."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import run_cli, tiny_model_overrides
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan_cli.errors import UserError
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.training.build import build_objective, build_state
from gan_cli.training.execution import Execution
from gan_cli.training.loop import update
from gan_cli.training.objectives.regularizers import R1Penalty
from gan_cli.training.run import train
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import describe_run

FAMILY = ["cgan", "acgan", "projection", "infogan", "sagan", "sngan_resnet"]


@pytest.mark.parametrize("model", FAMILY)
def test_every_new_model_trains_with_finite_losses(model, tiny_cfg, tmp_path):
    final = train(tiny_cfg(model, "digits"), run_dir=tmp_path)
    assert final["step"] == 3 and math.isfinite(final["loss/d"]) and math.isfinite(final["loss/g"])
    if model == "acgan":
        assert math.isfinite(final["loss/d_class"]) and math.isfinite(final["loss/g_class"])
    if model == "infogan":
        assert final["loss/info"] > 0
    if model == "sagan":
        assert load_checkpoint(tmp_path / "checkpoints" / "last.pt")["ema"] is not None


@pytest.mark.parametrize("model", ["cgan", "acgan", "projection"])
def test_conditional_models_refuse_unlabelled_data(model, tiny_cfg, tmp_path):
    from fixtures import write_image_folder

    write_image_folder(tmp_path / "images", n=10)
    cfg = tiny_cfg(model, "folder", [f"data.root={tmp_path / 'images'}", "data.num_workers=0"])
    with pytest.raises(Exception) as info:
        train(cfg, run_dir=tmp_path / "run")
    assert "labelled dataset" in str(info.value) or "num_classes" in str(info.value)


@pytest.mark.parametrize("extra", [["regularizers.r1=10"], ["regularizers.r1=10", "regularizers.r1_interval=4"],
                                   ["augment.policy=[color,translation,cutout]"]])
@pytest.mark.parametrize("model", ["sngan", "gan"])
def test_regularizers_and_augmentation_work_with_any_model(model, extra, tiny_cfg, tmp_path):
    final = train(tiny_cfg(model, "digits", extra), run_dir=tmp_path)
    assert math.isfinite(final["loss/d"])
    if "regularizers.r1=10" in extra and "regularizers.r1_interval=4" not in extra:
        assert final["loss/r1"] > 0


def test_r1_is_the_squared_input_gradient_and_lazy_scaling():
    weight = torch.tensor([0.5, -2.0, 1.0])

    def critic(x, labels=None):
        return x @ weight  # grad_x D = w for every sample

    real = torch.randn(8, 3)
    assert torch.isclose(R1Penalty(10.0)(critic, real, real), 0.5 * 10.0 * weight.square().sum())
    assert torch.isclose(R1Penalty(10.0, interval=4)(critic, real, real), 4 * 0.5 * 10.0 * weight.square().sum())
    with pytest.raises(UserError):
        R1Penalty(10.0, interval=0)


class RecordingDiscriminator(torch.nn.Module):
    """Wraps D and keeps what it was shown."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x, labels=None):
        self.seen.append(x.detach().clone())
        return self.inner(x, labels)


def _one_d_update(cfg):
    torch.manual_seed(0)
    run = describe_run(cfg)
    execution = Execution.from_settings(run.trainer, torch.device("cpu"), run.data.shape)
    state = build_state(run, execution)
    objective = build_objective(run, state, execution, RunningStats())
    objective.d_train = RecordingDiscriminator(state.discriminator)
    d_phase = objective.phases()[0]
    position = state.batches.state_dict()
    expected_real, _ = state.batches.next()
    state.batches.load_state_dict(position)
    update(state, d_phase, 0)
    grads = [p.grad.clone() for p in state.discriminator.parameters() if p.grad is not None]
    return objective.d_train.seen, expected_real, objective.stats.flush(), grads


def test_diffaugment_changes_what_d_sees(tiny_cfg):
    seen, real, _, _ = _one_d_update(tiny_cfg("dcgan", "digits", ["augment.policy=[translation,cutout]"]))
    assert seen[0].shape == real.shape and not torch.equal(seen[0], real)
    seen, real, _, _ = _one_d_update(tiny_cfg("dcgan", "digits"))
    assert torch.equal(seen[0], real)  # without augmentation D sees the data as they are


def test_r1_changes_ds_update(tiny_cfg):
    _, _, stats, plain = _one_d_update(tiny_cfg("sngan", "digits"))
    seen, real, stats_r1, with_r1 = _one_d_update(tiny_cfg("sngan", "digits", ["regularizers.r1=10"]))
    assert "loss/r1" in stats_r1 and stats_r1["loss/r1"] > 0 and "loss/r1" not in stats
    assert len(seen) == 3  # real, fake, and the real batch again for the penalty's input gradient
    assert any(not torch.allclose(a, b) for a, b in zip(plain, with_r1))


def test_conditional_sampling_by_class_and_per_class_grid(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", "model=acgan", "trainer.device=cpu", "trainer.steps=2", "data.batch_size=16",
            "trainer.num_fixed_samples=20", *tiny_model_overrides("acgan"), f"hydra.run.dir={run}",
            cwd=tmp_path, check=True)
    grid = Image.open(run / "samples" / "step_0000002.png")
    assert grid.size == (2 * 18 + 2, 10 * 18 + 2)  # training grid: a row per class, 2 per row
    ckpt = run / "checkpoints" / "last.pt"
    result = run_cli("gan-sample", f"ckpt={ckpt}", "n=6", "label=3", "individual=true",
                     f"out={tmp_path / 'three.png'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "three").glob("*.png"))) == 6
    run_cli("gan-sample", f"ckpt={ckpt}", "n=30", f"out={tmp_path / 'all.png'}", cwd=tmp_path, check=True)
    assert Image.open(tmp_path / "all.png").size == (3 * 18 + 2, 10 * 18 + 2)  # 10 rows of 3
    result = run_cli("gan-sample", f"ckpt={ckpt}", "label=12", cwd=tmp_path)
    assert result.returncode == 2 and "label=12" in result.stderr and "0 to 9" in result.stderr

    from gan_cli.inference.loading import checkpoint_layout, load_generator
    from gan_cli.inference.sampling import generate

    generator, checkpoint = load_generator(ckpt)
    z, labels, _ = checkpoint_layout(checkpoint).grid(4, seed=0, label=7)
    assert labels.tolist() == [7] * 4 and generate(generator, z, labels).shape == (4, 1, 16, 16)


def test_infogan_mutual_information_falls_and_code_walk(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", "model=infogan", "trainer.device=cpu", "trainer.steps=60", "trainer.log_every=10",
            "data.batch_size=32", *tiny_model_overrides("infogan"), f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    info = [e.value for e in EventAccumulator(str(run)).Reload().Scalars("info/categorical")]
    # Starts near ln(10) = 2.30 (Q guessing) and falls steadily as G writes the code and Q reads it.
    assert info[-1] < info[0] - 0.1, info
    assert sum(b < a for a, b in zip(info, info[1:])) >= len(info) - 2, info
    result = run_cli("gan-interp", f"ckpt={run / 'checkpoints' / 'last.pt'}", "steps=5", f"out={tmp_path / 'codes.png'}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "codes.png").size == (5 * 18 + 2, 10 * 18 + 2)  # rows = categorical values


def test_latent_arithmetic(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", "trainer.device=cpu", "trainer.steps=2", "data.batch_size=16",
            *tiny_model_overrides("dcgan"), f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    ckpt = run / "checkpoints" / "last.pt"
    result = run_cli("gan-interp", f"ckpt={ckpt}", "mode=arithmetic", "a=[1,2,3]", "b=4", "c=5",
                     f"out={tmp_path / 'sum.png'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "sum.png").size == (4 * 18 + 2, 18 + 2)
    result = run_cli("gan-interp", f"ckpt={ckpt}", "mode=arithmetic", "a=1", cwd=tmp_path)
    assert result.returncode == 2 and "a=SEED b=SEED c=SEED" in result.stderr
