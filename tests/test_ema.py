"""The EMA of G: its half-life ramps up with the images seen (StyleGAN2's ema_rampup), and the loop
updates it for every family, so no objective can leave it frozen at the initial weights."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY_COMMAND, compose_train
from test_style_family import TINY as STYLE_TINY
from test_translation import TINY as TRANSLATION_TINY

from gan_cli.errors import UserError
from gan_cli.inference.loading import load_generator
from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.training.ema import EmaSchedule
from gan_cli.training.run import train

STEPS = ["trainer.device=cpu", "trainer.log_every=1", "trainer.sample_every=100", "trainer.checkpoint_every=100",
         "trainer.num_fixed_samples=4"]
FAMILIES = {
    "dcgan": [*TINY_COMMAND, "model.ema_decay=0.999"],
    "stylegan2": STYLE_TINY["stylegan2"],
    "progan": STYLE_TINY["progan"],
    "biggan": STYLE_TINY["biggan"],
    "pix2pix": [*TRANSLATION_TINY["pix2pix"], "model.ema_decay=0.999"],
    "srgan": [*TRANSLATION_TINY["srgan"], "model.ema_decay=0.999"],
}


def test_ramp_up_limits_the_half_life_to_a_share_of_the_images_seen():
    schedule = EmaSchedule(half_life_images=10_000, images_per_step=16, rampup=0.05)
    # After 100 steps (1,600 images) the half-life is 80 images: 5 steps.
    assert schedule.decay(100) == pytest.approx(0.5 ** (16 / 80))
    # Once 200,000 images are seen, the full half-life holds.
    assert schedule.decay(20_000) == pytest.approx(0.5 ** (16 / 10_000))
    assert schedule.decay(1) < 1e-5  # the first update all but copies G
    fixed = EmaSchedule.from_decay(0.999, images_per_step=64)
    assert fixed.decay(1) == pytest.approx(0.999) and fixed.decay(10**6) == pytest.approx(0.999)
    assert EmaSchedule.from_decay(0.999, 64, rampup=0.05).decay(10**6) == pytest.approx(0.999)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_moves_its_ema(family, tmp_path):
    """After 1 and after 3 steps from the same seed the EMA differs (an objective that forgot the
    update kept the initial copy), and after 3 it is an average, not a copy of G."""
    emas = {}
    for steps in (1, 3):
        train(compose_train([*FAMILIES[family], *STEPS, f"trainer.steps={steps}"]), run_dir=tmp_path / str(steps))
        emas[steps] = load_checkpoint(tmp_path / str(steps) / "checkpoints" / "last.pt")
    ema_1, ema_3, generator_3 = emas[1]["ema"], emas[3]["ema"], emas[3]["generator"]
    floats = [name for name, value in ema_3.items() if value.is_floating_point() and "noise_const" not in name]
    assert any(not torch.equal(ema_1[name], ema_3[name]) for name in floats), "the EMA did not move"
    assert any(not torch.equal(generator_3[name], ema_3[name]) for name in floats), "the EMA is a copy of G"


def test_a_ramp_up_that_is_not_a_positive_share_is_named(tmp_path):
    with pytest.raises(UserError, match=r"model\.ema_rampup=-1"):
        train(compose_train([*TINY_COMMAND, *STEPS, "model.ema_decay=0.9", "model.ema_rampup=-1",
                             "trainer.steps=1"]), run_dir=tmp_path)


def test_the_ema_samples_with_batch_norm_statistics_of_its_own(tmp_path):
    """G's running statistics do not fit the averaged weights: the stored EMA carries statistics of its
    own outputs, so in eval mode (gan-sample, the grids, gan-eval) it draws what it draws in training mode."""
    overrides = [*TINY_COMMAND, *STEPS, "model.ema_decay=0.5", "model.ema_rampup=null", "trainer.steps=4"]
    train(compose_train(overrides), run_dir=tmp_path)
    checkpoint = load_checkpoint(tmp_path / "checkpoints" / "last.pt")
    means = [name for name in checkpoint["ema"] if name.endswith("running_mean")]
    assert means and all(not torch.equal(checkpoint["ema"][n], checkpoint["generator"][n]) for n in means)
    ema, _ = load_generator(tmp_path / "checkpoints" / "last.pt")
    z = torch.randn(1024, 16, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        sampled = ema(z).mean(0)
        ema.train()
        batch_statistics = ema(z).mean(0)
    assert (sampled - batch_statistics).abs().mean() < 0.05
