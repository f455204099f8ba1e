"""StyleGAN2, ProGAN and BigGAN end to end on tiny digits: training, exact resume (ProGAN in the middle
of a fade, StyleGAN2 across its lazy regularizers, BigGAN with accumulated batches), truncation,
W walks, style mixing, class walks, two processes, and the combinations they refuse."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import compose_train, run_cli
from PIL import Image

from gan_cli.errors import UserError
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.training.run import train

TINY = {
    "stylegan2": ["model=stylegan2", "data.resolution=16", "data.batch_size=4", "model.latent_dim=16",
                  "model.generator.mapping_layers=2", "model.generator.channel_base=128", "model.generator.channel_max=16",
                  "model.discriminator.channel_base=128", "model.discriminator.channel_max=16",
                  "regularizers.r1_interval=2", "model.path_length_interval=2",
                  "model.path_length_weight=2", "model.mixing_prob=0.9"],  # config F's parts, off in the preset
    "progan": ["model=progan", "data.resolution=16", "data.batch_size=4", "model.latent_dim=16",
               "model.images_per_phase=8", "model.generator.channel_base=128", "model.generator.channel_max=16",
               "model.discriminator.channel_base=128", "model.discriminator.channel_max=16"],
    "biggan": ["model=biggan", "data.resolution=16", "data.batch_size=4", "model.latent_dim=24",
               "model.generator.base_width=4", "model.discriminator.base_width=4", "model.generator.shared_dim=8",
               "trainer.accumulate=2", "trainer.n_critic=1"],
}
STEPS = ["trainer.device=cpu", "trainer.steps=6", "trainer.log_every=1", "trainer.sample_every=3",
         "trainer.checkpoint_every=3", "trainer.num_fixed_samples=4"]


def _cfg(model, *extra):
    return compose_train([*TINY[model], *STEPS, *extra])


@pytest.mark.parametrize("model", ["stylegan2", "progan", "biggan"])
def test_training_resumes_exactly(model, tmp_path):
    final = train(_cfg(model), run_dir=tmp_path / "straight")
    assert final["step"] == 6 and math.isfinite(final["loss/g"]) and math.isfinite(final["loss/d"])
    half_steps = 4 if model == "progan" else 3  # ProGAN: step 4 is half-way through the fade into 8x8
    train(_cfg(model, f"trainer.steps={half_steps}", "optim.schedule_steps=6"), run_dir=tmp_path / "half")
    train(_cfg(model, f"resume={tmp_path / 'half' / 'checkpoints' / 'last.pt'}"), run_dir=tmp_path / "resumed")
    straight = load_checkpoint(tmp_path / "straight" / "checkpoints" / "last.pt")
    resumed = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.pt")
    for key in ("generator", "discriminator", "ema"):
        for name, value in straight[key].items():
            assert torch.equal(value, resumed[key][name]), f"{key}.{name}"
    if model == "stylegan2":
        assert torch.equal(straight["path_length"]["mean"], resumed["path_length"]["mean"])
        assert straight["path_length"]["mean"] > 0
    if model == "progan":
        half = load_checkpoint(tmp_path / "half" / "checkpoints" / "last.pt")
        # 4 images per step, 8 per phase: the half checkpoint is in the fade into 8x8.
        assert int(half["generator"]["stage"]) == 1 and float(half["generator"]["alpha"]) == 0.5
        assert int(straight["generator"]["stage"]) == 1 and float(straight["generator"]["alpha"]) == 1.0


def test_progan_logs_its_growth_and_samples_in_any_phase(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "run"
    run_cli("gan-train", *TINY["progan"], *STEPS, "trainer.steps=3", f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    events = EventAccumulator(str(run)).Reload()
    assert [e.value for e in events.Scalars("progan/resolution")] == [4.0, 4.0, 8.0]
    assert [round(e.value, 3) for e in events.Scalars("progan/alpha")] == [1.0, 1.0, 0.0]
    run_cli("gan-sample", f"ckpt={run / 'checkpoints' / 'last.pt'}", "n=4", f"out={tmp_path / 's.png'}",
            cwd=tmp_path, check=True)
    assert Image.open(tmp_path / "s.png").size == (2 * 18 + 2, 2 * 18 + 2)


def test_stylegan2_truncation_walks_and_style_mixing(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", *TINY["stylegan2"], *STEPS, "trainer.steps=2", f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    ckpt = run / "checkpoints" / "last.pt"
    run_cli("gan-sample", f"ckpt={ckpt}", "n=4", "truncation=0", f"out={tmp_path / 't0.png'}", cwd=tmp_path, check=True)
    run_cli("gan-sample", f"ckpt={ckpt}", "n=4", "truncation=0.7", f"out={tmp_path / 't7.png'}", cwd=tmp_path, check=True)
    average = torch.from_numpy(np.asarray(Image.open(tmp_path / "t0.png"))).clone()
    # psi = 0: every sample is the average W's image.
    assert torch.equal(average[2:18, 2:18], average[2:18, 20:36])
    assert Image.open(tmp_path / "t7.png").tobytes() != Image.open(tmp_path / "t0.png").tobytes()

    run_cli("gan-interp", f"ckpt={ckpt}", "space=w", "seeds=[0,1,2]", "steps=4", f"out={tmp_path / 'w.png'}",
            cwd=tmp_path, check=True)
    assert Image.open(tmp_path / "w.png").size == (4 * 18 + 2, 2 * 18 + 2)
    run_cli("gan-interp", f"ckpt={ckpt}", "mode=style_mixing", "rows=[1,2]", "cols=[3,4,5]", "crossover=2",
            f"out={tmp_path / 'mix.png'}", cwd=tmp_path, check=True)
    assert Image.open(tmp_path / "mix.png").size == (4 * 18 + 2, 3 * 18 + 2)
    bad = run_cli("gan-interp", f"ckpt={ckpt}", "mode=style_mixing", "crossover=99", cwd=tmp_path)
    assert bad.returncode == 2 and "crossover=99" in bad.stderr


def test_biggan_truncation_and_class_walk(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", *TINY["biggan"], *STEPS, "trainer.steps=2", f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    ckpt = run / "checkpoints" / "last.pt"
    run_cli("gan-sample", f"ckpt={ckpt}", "n=20", "truncation=0.5", f"out={tmp_path / 't.png'}", cwd=tmp_path, check=True)
    run_cli("gan-interp", f"ckpt={ckpt}", "mode=classes", "classes=[0,3,7]", "steps=5", f"out={tmp_path / 'c.png'}",
            cwd=tmp_path, check=True)
    assert Image.open(tmp_path / "c.png").size == (5 * 18 + 2, 2 * 18 + 2)
    bad = run_cli("gan-sample", f"ckpt={ckpt}", "truncation=-1", cwd=tmp_path)
    assert bad.returncode == 2 and "truncation=-1" in bad.stderr


def test_truncation_does_not_apply_to_other_models(tmp_path):
    from conftest import TINY_COMMAND

    run = tmp_path / "run"
    run_cli("gan-train", *TINY_COMMAND, "trainer.steps=1", f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    result = run_cli("gan-sample", f"ckpt={run / 'checkpoints' / 'last.pt'}", "truncation=0.7", cwd=tmp_path)
    assert result.returncode == 2 and "does not apply to model=sngan" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("model", ["stylegan2", "progan", "biggan"])
def test_two_processes(model, tmp_path):
    run = tmp_path / "run"
    result = run_cli("gan-train", *TINY[model], *STEPS, "trainer.steps=3", "trainer.devices=2", f"hydra.run.dir={run}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    checkpoint = load_checkpoint(run / "checkpoints" / "last.pt")
    assert checkpoint["ranks"][0]["weights_sha256"] == checkpoint["ranks"][1]["weights_sha256"]


@pytest.mark.parametrize("model,extra", [
    ("stylegan2", ["augment.policy=[color,translation]"]),
    ("stylegan2", ["loss=hinge"]),
    ("progan", ["loss=hinge", "regularizers.gradient_penalty=null", "regularizers.r1=10"]),
    ("biggan", ["augment.policy=[translation]"]),
    ("biggan", ["loss=bce", "regularizers.orthogonal=null"]),
])
def test_combinations_that_make_sense_train(model, extra, tmp_path):
    final = train(_cfg(model, "trainer.steps=2", "trainer.save_checkpoints=false", *extra), run_dir=tmp_path)
    assert math.isfinite(final["loss/g"])


@pytest.mark.parametrize("model,extra,message", [
    ("stylegan2", ["loss=wasserstein"], "Lipschitz"),
    ("stylegan2", ["regularizers.gradient_penalty=10"], "R1"),
    ("stylegan2", ["model.mixing_prob=1.5"], "model.mixing_prob=1.5"),
    ("stylegan2", ["model.path_length_interval=0"], "model.path_length_interval=0"),
    ("progan", ["regularizers.gradient_penalty=null"], "Lipschitz"),
    ("progan", ["model.images_per_phase=0"], "model.images_per_phase=0"),
    ("biggan", ["data=ring"], "BigGAN makes square images"),
    ("biggan", ["model.latent_dim=25"], "model.latent_dim=25"),
    ("biggan", ["trainer.accumulate=0"], "trainer.accumulate=0"),
    ("biggan", ["regularizers.orthogonal=-1"], "regularizers.orthogonal=-1"),
])
def test_combinations_that_cannot_work_are_refused(model, extra, message, tmp_path):
    with pytest.raises(UserError) as info:
        train(_cfg(model, *extra), run_dir=tmp_path)
    assert message in str(info.value)
    assert not (tmp_path / "checkpoints").exists()


def test_stylegan2_corrects_only_the_rate_of_the_update_its_lazy_penalty_adds(tmp_path):
    """The path-length penalty is an update of G's own, so G's rate is x 4/5 (betas ^ 4/5), as the paper;
    R1 joins D's regular update, which adds none: D keeps the configured rate."""
    from gan_cli.training.build import build_objective, build_state
    from gan_cli.training.execution import Execution
    from gan_cli.training.stats import RunningStats
    from gan_cli.training.validation import describe_run

    cfg = _cfg("stylegan2", "model.path_length_weight=2", "model.path_length_interval=4", "regularizers.r1_interval=16")
    run = describe_run(cfg)
    execution = Execution.from_settings(run.trainer, torch.device("cpu"), run.data.shape)
    state = build_state(run, execution)
    build_objective(run, state, execution, RunningStats())
    g_group, d_group = state.g_optimizer.param_groups[0], state.d_optimizer.param_groups[0]
    assert g_group["lr"] == pytest.approx(cfg.optim.lr * 4 / 5)
    assert g_group["betas"][1] == pytest.approx(0.99 ** (4 / 5))
    assert d_group["lr"] == pytest.approx(cfg.optim.lr) and d_group["betas"][1] == pytest.approx(0.99)
