"""The ProGAN networks: full-resolution shapes at every stage, the fade-in, the growth schedule and state."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
from omegaconf import OmegaConf

from gan_cli.errors import UserError
from gan_cli.models.progan import (
    ProGANDiscriminator,
    ProGANGenerator,
    growth_at,
    minibatch_stddev,
)
from gan_cli.training.ema import make_ema, update_ema

# Narrow networks: 16 feature maps at 4x4, fewer above.
NARROW = {"channel_base": 64, "channel_max": 16}
LATENT = 8


def narrow_pair(resolution: int, channels: int = 3, **kwargs):
    torch.manual_seed(0)
    shape = OmegaConf.create([channels, resolution, resolution])
    generator = ProGANGenerator(LATENT, shape, **NARROW, **kwargs)
    discriminator = ProGANDiscriminator(shape, **NARROW, **kwargs)
    return generator, discriminator


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def grown(network, stage: int, alpha: float):
    network.set_growth(stage, alpha)
    return network


# Shapes and the growth state.


@pytest.mark.parametrize("resolution", [8, 16, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_outputs_have_the_full_data_shape_at_every_stage(resolution, channels):
    generator, discriminator = narrow_pair(resolution, channels)
    assert generator.num_stages == discriminator.num_stages == int(math.log2(resolution)) - 1
    z = torch.randn(4, LATENT)
    for stage in range(generator.num_stages):
        for alpha in (0.0, 0.5, 1.0):
            generator.set_growth(stage, alpha)
            discriminator.set_growth(stage, alpha)
            assert generator.current_resolution() == discriminator.current_resolution() == 4 << stage
            images = generator(z)
            assert images.shape == (4, channels, resolution, resolution)
            logits = discriminator(images)
            assert logits.shape == (4, 1) and torch.isfinite(logits).all()


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_generator_output_is_nearest_upsampled_from_the_current_resolution(stage):
    generator = grown(narrow_pair(16)[0], stage, 1.0)
    images = generator(torch.randn(3, LATENT))
    block = 16 // generator.current_resolution()
    tiles = images.view(3, 3, 4 << stage, block, 4 << stage, block)
    assert torch.equal(tiles, tiles[:, :, :, :1, :, :1].expand_as(tiles))
    if stage == 2:
        assert not torch.equal(images[..., 0], images[..., 1])  # full resolution: no blocks


@pytest.mark.parametrize("resolution", [16, 32])
def test_alpha_zero_gives_the_previous_stage(resolution):
    generator, discriminator = narrow_pair(resolution)
    z, images = torch.randn(5, LATENT), torch.randn(5, 3, resolution, resolution)
    for stage in range(1, generator.num_stages):
        old_images = grown(generator, stage - 1, 1.0)(z)
        old_logits = grown(discriminator, stage - 1, 1.0)(images)
        torch.testing.assert_close(grown(generator, stage, 0.0)(z), old_images)
        torch.testing.assert_close(grown(discriminator, stage, 0.0)(images), old_logits)
        assert not torch.allclose(grown(generator, stage, 0.5)(z), old_images)
        assert not torch.allclose(grown(discriminator, stage, 0.5)(images), old_logits)


def test_set_growth_rejects_bad_values():
    generator, discriminator = narrow_pair(16)
    for network in (generator, discriminator):
        for stage in (-1, 3, 1.0, True, "1"):
            with pytest.raises(ValueError, match="stage"):
                network.set_growth(stage, 1.0)
        for alpha in (-0.1, 1.5, float("nan"), None):
            with pytest.raises(ValueError, match="alpha"):
                network.set_growth(1, alpha)
        network.set_growth(2, 0)
        assert network.current_resolution() == 16 and network.alpha.item() == 0.0


@pytest.mark.parametrize("shape", [[3, 4, 4], [3, 12, 12], [3, 16, 8], [16, 16]])
def test_unsupported_shapes_are_user_errors(shape):
    for build in (lambda: ProGANGenerator(LATENT, shape, **NARROW), lambda: ProGANDiscriminator(shape, **NARROW)):
        with pytest.raises(UserError, match="data.resolution" if len(shape) == 3 else "image data"):
            build()


def test_growth_schedule_of_the_paper():
    expected = []
    for seen in range(700):
        if seen < 100:
            expected.append((0, 1.0))
        elif seen < 200:
            expected.append((1, (seen - 100) / 100))
        elif seen < 300:
            expected.append((1, 1.0))
        elif seen < 400:
            expected.append((2, (seen - 300) / 100))
        else:
            expected.append((2, 1.0))
    assert [growth_at(seen, 3, 100) for seen in range(700)] == expected
    assert growth_at(150, 3, 100) == (1, 0.5) and growth_at(10**9, 3, 100) == (2, 1.0)
    with pytest.raises(ValueError):
        growth_at(-1, 3, 100)


def test_growth_state_is_in_the_state_dict_and_follows_the_ema():
    generator, discriminator = narrow_pair(16)
    for network in (generator, discriminator):
        grown(network, 1, 0.25)
        state = network.state_dict()
        assert state["stage"].item() == 1 and state["alpha"].item() == 0.25
    ema = make_ema(generator)
    copy = ProGANGenerator(LATENT, [3, 16, 16], **NARROW)
    assert copy.current_resolution() == 4
    copy.load_state_dict(generator.state_dict())
    assert copy.current_resolution() == 8 and copy.alpha.item() == 0.25
    z = torch.randn(2, LATENT)
    torch.testing.assert_close(copy(z), generator(z))
    grown(generator, 2, 0.75)
    update_ema(ema, generator, 0.999)
    assert ema.current_resolution() == 16 and ema.alpha.item() == 0.75


# The minibatch standard deviation.


def reference_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """The feature one sample gets: std over its group (samples n with the same n % (B / group))."""
    groups = x.shape[0] // group
    stats = [x[m::groups].std(dim=0, unbiased=False).mean() for m in range(groups)]
    return torch.stack([stats[n % groups] for n in range(x.shape[0])])


@pytest.mark.parametrize("batch, group", [(6, 3), (3, 3), (8, 4), (5, 1)])
def test_minibatch_stddev_uses_the_largest_group_dividing_the_batch(batch, group):
    x = torch.randn(batch, 5, 4, 4)
    out = minibatch_stddev(x, 4)
    assert out.shape == (batch, 6, 4, 4) and torch.equal(out[:, :5], x)
    assert torch.equal(out[:, 5], out[:, 5, :1, :1].expand(-1, 4, 4))
    torch.testing.assert_close(out[:, 5, 0, 0], reference_stddev(x, group), atol=2e-4, rtol=1e-4)  # + the 1e-8 under the sqrt


@pytest.mark.parametrize("batch", [6, 3, 1])
def test_discriminator_takes_any_batch_size(batch):
    discriminator = grown(narrow_pair(8)[1], 1, 0.5)
    assert discriminator(torch.randn(batch, 3, 8, 8)).shape == (batch, 1)


# Gradients and training.


def layers_with_gradients(network: nn.Module) -> set[str]:
    return {name.rsplit(".", 1)[0] for name, p in network.named_parameters() if p.grad is not None}


def test_gradients_reach_only_the_layers_in_use():
    generator, discriminator = narrow_pair(16)
    discriminator(grown(generator, 0, 1.0)(torch.randn(4, LATENT))).sum().backward()
    assert layers_with_gradients(generator) == {"dense", "conv", "to_rgb.0"}
    assert layers_with_gradients(discriminator) == {"from_rgb.0", "conv", "dense", "output"}
    generator.zero_grad(set_to_none=True)
    discriminator.zero_grad(set_to_none=True)
    grown(discriminator, 1, 0.5)
    discriminator(grown(generator, 1, 0.5)(torch.randn(4, LATENT))).sum().backward()
    assert layers_with_gradients(generator) == {
        "dense", "conv", "stages.0.conv1", "stages.0.conv2", "to_rgb.0", "to_rgb.1"}
    assert layers_with_gradients(discriminator) == {
        "from_rgb.0", "from_rgb.1", "stages.0.conv1", "stages.0.conv2", "conv", "dense", "output"}


def test_generator_fits_a_target_image_at_stage_one():
    generator = grown(narrow_pair(16)[0], 1, 1.0)
    z = torch.randn(4, LATENT)
    target = torch.rand(1, 3, 16, 16) * 2 - 1
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-2, betas=(0.0, 0.99))
    losses = []
    for _ in range(30):
        loss = (generator(z) - target).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0], losses


# Labels and size.


def test_conditional_networks_use_the_labels():
    generator, discriminator = narrow_pair(8, num_classes=4)
    grown(generator, 1, 1.0)
    z, labels = torch.randn(3, LATENT).repeat(2, 1), torch.tensor([0, 1, 2, 3, 3, 3])
    images = generator(z, labels)
    assert not torch.allclose(images[:3], images[3:])
    logits = discriminator(images, labels)
    assert logits.shape == (6, 1)
    assert not torch.allclose(logits, discriminator(images, labels.flip(0)))
    with pytest.raises(UserError, match="labels"):
        generator(z)


def test_channel_widths_and_parameter_counts():
    generator = ProGANGenerator(512, [3, 32, 32], channel_base=2048, channel_max=256)
    discriminator = ProGANDiscriminator([3, 32, 32], channel_base=2048, channel_max=256)
    assert [layer.weight.shape[1] for layer in generator.to_rgb] == [256, 256, 128, 64]
    assert [layer.weight.shape[0] for layer in discriminator.from_rgb] == [256, 256, 128, 64]
    assert discriminator.conv.weight.shape[1] == 257  # + the minibatch stddev map
    assert (parameter_count(generator), parameter_count(discriminator)) == (4_426_956, 3_377_985)


def test_reals_are_faded_between_resolutions_during_a_fade_in():
    """As G's images blend the upsampled previous resolution into the new one, so do the reals D sees."""
    discriminator = ProGANDiscriminator((1, 16, 16), channel_base=64, channel_max=8)
    images = torch.rand(2, 1, 16, 16) * 2 - 1
    discriminator.set_growth(1, 1.0)  # 8x8, faded in: the reals as they are
    assert torch.equal(discriminator.fade_reals(images), images)
    discriminator.set_growth(1, 0.25)
    faded = discriminator.fade_reals(images)
    at_8 = torch.nn.functional.avg_pool2d(images, 2)
    at_4_up = torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(at_8, 2), scale_factor=2)
    # What D reads (pooled to 8x8) is 0.75 of the 4x4 image and 0.25 of the 8x8 one.
    assert torch.allclose(torch.nn.functional.avg_pool2d(faded, 2), 0.75 * at_4_up + 0.25 * at_8, atol=1e-6)
    discriminator.set_growth(2, 0.0)  # the start of the fade into 16x16: the 8x8 reals, upsampled
    start = discriminator.fade_reals(images)
    assert torch.allclose(start, torch.nn.functional.interpolate(at_8, scale_factor=2), atol=1e-6)


def test_the_optimizers_start_afresh_when_a_fade_begins_and_when_it_ends():
    from gan_cli.training.objectives.progressive import _phase_changed

    # 4x4 stable -> fading into 8x8 (alpha 0 at the boundary, then > 0) -> 8x8 faded in -> stable.
    assert not _phase_changed((0, 1.0), (1, 0.0))
    assert _phase_changed((1, 0.0), (1, 0.25))
    assert not _phase_changed((1, 0.25), (1, 0.75))
    assert _phase_changed((1, 0.75), (1, 1.0))
    assert not _phase_changed((1, 1.0), (1, 1.0))


@pytest.mark.parametrize("stage", [0, 1, 2])
def test_d_reads_the_working_resolution_and_its_gradient_is_measured_there(stage):
    """D pools its R x R input to the stage's resolution r; the same scores from the pooled images, and
    the input gradient on R x R is R / r times smaller than on r x r (what the gradient penalty must see)."""
    _, discriminator = narrow_pair(16)
    grown(discriminator, stage, 1.0)
    full = torch.randn(4, 3, 16, 16, requires_grad=True)
    working = discriminator.at_working_resolution(full.detach()).requires_grad_(True)
    size = 4 << stage
    assert working.shape[-1] == size
    assert torch.allclose(discriminator(full), discriminator(working), atol=1e-5)
    (grad_full,) = torch.autograd.grad(discriminator(full).sum(), full)
    (grad_working,) = torch.autograd.grad(discriminator(working).sum(), working)
    ratio = grad_working.flatten(1).norm(dim=1) / grad_full.flatten(1).norm(dim=1)
    assert torch.allclose(ratio, torch.full_like(ratio, 16 / size), rtol=1e-4)


def test_the_training_step_hands_d_images_at_its_working_resolution():
    from conftest import compose_train
    from test_style_family import TINY

    from gan_cli.training.build import build_objective, build_state
    from gan_cli.training.execution import Execution
    from gan_cli.training.loop import update
    from gan_cli.training.stats import RunningStats
    from gan_cli.training.validation import describe_run

    cfg = compose_train([*TINY["progan"], "trainer.device=cpu", "trainer.steps=2"])
    run = describe_run(cfg)
    execution = Execution.from_settings(run.trainer, torch.device("cpu"), run.data.shape)
    state = build_state(run, execution)
    objective = build_objective(run, state, execution, RunningStats())
    seen = []
    state.discriminator.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[-1]))
    for phase in objective.phases():
        update(state, phase, 0)
    assert seen and set(seen) == {4}  # stage 0 of a 16 x 16 run: reals, fakes and the penalty's interpolates
