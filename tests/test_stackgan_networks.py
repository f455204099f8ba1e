"""StackGAN's networks (issue 22): conditioning augmentation and its KL term, Stage-I and Stage-II
shapes at the data's resolution, the two scores of Stage-II's D, the paper's widths, and the
settings they refuse by name."""

from __future__ import annotations

import pytest
import torch

from gan_cli.errors import UserError
from gan_cli.models.stackgan import (
    ConditioningAugmentation,
    StageOneDiscriminator,
    StageOneGenerator,
    StageTwoDiscriminator,
    StageTwoGenerator,
    init_stackgan_weights,
    kl_divergence,
)


def test_conditioning_augmentation_samples_around_its_mean_and_its_kl_is_the_gaussians():
    torch.manual_seed(0)
    augment = ConditioningAugmentation(text_dim=16, c_dim=8)
    text = torch.randn(4, 16)
    code, mean, log_variance = augment(text)
    assert code.shape == mean.shape == log_variance.shape == (4, 8)
    again, _, _ = augment(text)
    assert not torch.equal(code, again)  # a new draw each time
    fixed, fixed_mean, _ = augment(text, sample=False)
    assert torch.equal(fixed, fixed_mean)
    draws = torch.stack([augment(text[:1])[0] for _ in range(4000)])
    assert torch.allclose(draws.mean(0), mean[:1], atol=0.1)
    assert torch.allclose(draws.std(0), (0.5 * log_variance[:1]).exp(), rtol=0.1)
    assert float(kl_divergence(torch.zeros(3, 8), torch.zeros(3, 8))) == 0.0
    # KL(N(1, e) || N(0, 1)) per dimension: -0.5 * (1 + 1 - 1 - e) = 0.5 * (e - 1), averaged over the
    # dimensions as the authors' code does (their weight 2.0 is of the mean)
    value = kl_divergence(torch.ones(2, 8), torch.ones(2, 8))
    assert float(value) == pytest.approx(0.5 * (torch.e - 1), rel=1e-5)
    assert float(kl_divergence(torch.tensor([[2.0, 0.0]]), torch.zeros(1, 2))) == pytest.approx(1.0)


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_stage_one_draws_at_the_data_resolution_and_its_d_scores_each_pair(resolution):
    generator = init_stackgan_weights(StageOneGenerator(100, 128, (3, resolution, resolution), base_width=8))
    discriminator = init_stackgan_weights(StageOneDiscriminator((3, resolution, resolution), base_width=8))
    images, mean, log_variance = (t.detach() for t in generator(torch.randn(5, 100), torch.randn(5, 128)))
    assert images.shape == (5, 3, resolution, resolution) and float(images.abs().max()) <= 1
    assert discriminator(images, mean).shape == (5,)


def test_the_papers_stage_one_widths_at_64():
    generator = StageOneGenerator(100, 1024, (3, 64, 64), base_width=128)
    convs = [m for m in generator.body if isinstance(m, torch.nn.Conv2d)]
    assert generator.fc[0].out_features == 1024 * 16 and [c.out_channels for c in convs] == [512, 256, 128, 64, 3]
    discriminator = StageOneDiscriminator((3, 64, 64), base_width=64)
    assert [m.out_channels for m in discriminator.encode if isinstance(m, torch.nn.Conv2d)] == [64, 128, 256, 512]


@pytest.mark.parametrize("resolution,scale", [(64, 4), (64, 2), (32, 2), (256, 4)])
def test_stage_two_refines_a_stage_one_image_to_scale_times_its_size(resolution, scale):
    small = resolution // scale
    generator = StageTwoGenerator(128, (3, resolution, resolution), base_width=4, scale=scale, residual_blocks=1)
    images, mean, _ = generator(torch.rand(2, 3, small, small) * 2 - 1, torch.randn(2, 128))
    assert images.shape == (2, 3, resolution, resolution)
    conditional, unconditional = StageTwoDiscriminator((3, resolution, resolution), base_width=4)(images, mean)
    assert conditional.shape == unconditional.shape == (2,)


def test_the_condition_changes_d_s_conditional_score_only():
    torch.manual_seed(0)
    discriminator = StageTwoDiscriminator((3, 32, 32), base_width=4).eval()
    images = torch.rand(2, 3, 32, 32)
    a, b = discriminator(images, torch.zeros(2, 128)), discriminator(images, torch.randn(2, 128))
    assert not torch.allclose(a[0], b[0]) and torch.equal(a[1], b[1])


def test_gradients_reach_the_conditioning_augmentation_through_the_image_and_the_kl():
    generator = StageOneGenerator(10, 12, (3, 16, 16), c_dim=4, base_width=4)
    images, mean, log_variance = generator(torch.randn(3, 10), torch.randn(3, 12))
    (images.mean() + kl_divergence(mean, log_variance)).backward()
    assert generator.augment.fc.weight.grad is not None and generator.augment.fc.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("build,message", [
    (lambda: StageOneGenerator(100, 128, (3, 12, 12)), "data.resolution=12 is not a StackGAN resolution"),
    (lambda: StageOneGenerator(100, 128, (3, 48, 48)), "data.resolution=48 is not a StackGAN resolution"),
    (lambda: StageOneDiscriminator((3, 32, 32), base_width=0), "model.discriminator.base_width=0 must be"),
    (lambda: StageTwoGenerator(128, (3, 64, 64), scale=3), "model.scale=3: Stage-II makes images 2 or 4 times"),
    (lambda: StageTwoGenerator(128, (3, 32, 32), scale=4), "leaves Stage-I images of 8x8"),
])
def test_settings_stackgan_cannot_build_are_refused_by_name(build, message):
    with pytest.raises(UserError, match=message):
        build()


def test_a_stage_two_with_the_sketch_skip_starts_as_the_upsampled_sketch():
    from gan_cli.models.stackgan import StackGANGenerator

    generator = StackGANGenerator(8, 16, (3, 32, 32), stage=2, c_dim=4, stage_one_width=4, stage_two_width=4,
                                  residual_blocks=1, sketch_skip=True).eval()
    z, text, noise = torch.randn(3, 8), torch.randn(3, 16), torch.randn(3, 4)
    sketch = generator.sketch(z, text, noise)
    images, _, _ = generator(z, text, noise=noise)
    upsampled = torch.nn.functional.interpolate(sketch, size=(32, 32), mode="bilinear", align_corners=False)
    assert sketch.shape == (3, 3, 16, 16) and torch.allclose(images, upsampled.clamp(-1, 1), atol=1e-6)
    assert not any(p.requires_grad for p in generator.stage_one.parameters())
    assert not generator.train().stage_one.training  # Stage I stays in eval mode
