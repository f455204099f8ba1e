"""The StyleGAN2 networks: shapes, the W average and truncation, noise modes, demodulation, style
mixing, the path-length gradient, the discriminator's minibatch std and projection, equalized
learning rate, bf16 autocast and a tiny training run. Every network is CPU-sized."""

from __future__ import annotations

import math

import pytest
import torch
from omegaconf import OmegaConf

from gan_cli.errors import UserError
from gan_cli.models.stylegan2 import StyleGAN2Discriminator, StyleGAN2Generator
from gan_cli.models.stylegan2_layers import (
    EqualizedLinear,
    mbstd_group_size,
    modulated_conv2d,
)

TINY = {"channel_base": 256, "channel_max": 32}


@pytest.fixture(autouse=True, scope="module")
def one_cpu_thread():
    """These networks are tiny: a second OpenMP thread only adds spin-waiting (40x slower on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_generator(resolution: int = 16, channels: int = 3, **kwargs) -> StyleGAN2Generator:
    return StyleGAN2Generator(latent_dim=32, data_shape=(channels, resolution, resolution), w_dim=32,
                              **TINY, **kwargs)


def tiny_discriminator(resolution: int = 16, channels: int = 3, **kwargs) -> StyleGAN2Discriminator:
    return StyleGAN2Discriminator(data_shape=(channels, resolution, resolution), **TINY, **kwargs)


def with_noise(generator: StyleGAN2Generator) -> StyleGAN2Generator:
    """Noise strengths start at 0 (noise has no effect); give every layer some."""
    with torch.no_grad():
        for name, parameter in generator.named_parameters():
            if name.endswith("noise_strength"):
                parameter.fill_(0.5)
    return generator


def moved_w_avg(generator: StyleGAN2Generator) -> StyleGAN2Generator:
    """w_avg starts at 0; move it so that truncation towards it is visible."""
    generator.mapping(torch.randn(64, generator.latent_dim), update_w_avg=True)
    return generator


# Shapes and configuration.


@pytest.mark.parametrize("resolution", [8, 16, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_networks_make_and_judge_images_of_the_data_shape(resolution, channels):
    data_shape = OmegaConf.create([channels, resolution, resolution])  # as Hydra passes it
    generator = StyleGAN2Generator(latent_dim=32, data_shape=data_shape, w_dim=32, **TINY)
    discriminator = StyleGAN2Discriminator(data_shape=data_shape, **TINY)
    assert generator.num_ws == 2 * int(math.log2(resolution)) - 2
    ws = generator.mapping(torch.randn(4, 32))
    assert ws.shape == (4, generator.num_ws, 32)
    images = generator.synthesis(ws)
    assert images.shape == (4, channels, resolution, resolution) and torch.isfinite(images).all()
    logits = discriminator(images)
    assert logits.shape == (4, 1) and torch.isfinite(logits).all()


@pytest.mark.parametrize("data_shape", [(3, 4, 4), (3, 24, 24), (3, 16, 32), (2,)])
def test_a_shape_that_is_not_a_power_of_two_image_is_a_user_error(data_shape):
    for build in (lambda: StyleGAN2Generator(data_shape=data_shape, **TINY),
                  lambda: StyleGAN2Discriminator(data_shape=data_shape, **TINY)):
        with pytest.raises(UserError, match="data.resolution"):
            build()


def test_an_unknown_noise_mode_is_a_user_error():
    generator = tiny_generator(8)
    with pytest.raises(UserError, match="noise_mode='fixed'"):
        generator(torch.randn(2, 32), noise_mode="fixed")


# The W average and truncation.


def test_w_avg_moves_only_when_asked_or_in_training_mode():
    generator = tiny_generator(8)
    z = torch.randn(8, 32)
    generator.eval()
    generator(z)
    generator.mapping(z)
    assert torch.equal(generator.w_avg, torch.zeros(32))
    generator.mapping(z, update_w_avg=True)
    moved = generator.w_avg.clone()
    assert not torch.equal(moved, torch.zeros(32))
    generator.train()
    generator(z)
    assert not torch.equal(generator.w_avg, moved)
    expected = generator.mapping(z)[:, 0].mean(0).lerp(moved, generator.w_avg_beta)
    torch.testing.assert_close(generator.w_avg, expected)


def test_truncation_psi_0_gives_the_average_w_and_identical_images():
    generator = with_noise(moved_w_avg(tiny_generator(16))).eval()
    z = torch.randn(4, 32)
    ws = generator.mapping(z, truncation_psi=0.0)
    torch.testing.assert_close(ws, generator.w_avg.expand(4, generator.num_ws, -1))
    images = generator(z, truncation_psi=0.0, noise_mode="const")
    assert (images - images[:1]).abs().max() < 1e-5
    assert (images[0] - generator(z[:1], noise_mode="const")[0]).abs().max() > 1e-3


def test_truncation_cutoff_truncates_only_the_first_ws():
    generator = moved_w_avg(tiny_generator(16))
    z = torch.randn(3, 32)
    plain, truncated = generator.mapping(z), generator.mapping(z, truncation_psi=0.5, truncation_cutoff=2)
    torch.testing.assert_close(truncated[:, :2], generator.w_avg.lerp(plain[:, :2], 0.5))
    torch.testing.assert_close(truncated[:, 2:], plain[:, 2:])


# Noise.


def test_const_noise_is_deterministic_and_leaves_the_global_rng_alone():
    generator = with_noise(tiny_generator(16)).eval()
    ws = generator.mapping(torch.randn(2, 32))
    state = torch.get_rng_state()
    first, second = generator.synthesis(ws), generator.synthesis(ws, noise_mode="const")
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first, second)
    torch.manual_seed(123)  # another generator draws other weights but the same fixed noise
    other = tiny_generator(16)
    for (name, buffer), (_, other_buffer) in zip(generator.named_buffers(), other.named_buffers()):
        if name.endswith("noise_const"):
            assert torch.equal(buffer, other_buffer)


def test_random_noise_differs_between_calls_and_none_differs_from_const():
    generator = with_noise(tiny_generator(16))
    ws = generator.mapping(torch.randn(2, 32))
    assert not torch.allclose(generator.synthesis(ws, "random"), generator.synthesis(ws, "random"))
    generator.train()
    assert not torch.allclose(generator.synthesis(ws), generator.synthesis(ws))  # auto = random in training
    assert not torch.allclose(generator.synthesis(ws, "none"), generator.synthesis(ws, "const"))
    unit_noise = tiny_generator(16)  # noise strength 0 at init: noise changes nothing yet
    assert torch.equal(unit_noise.synthesis(ws, "random"), unit_noise.synthesis(ws, "none"))


# Modulation and style mixing.


@pytest.mark.parametrize("up", [False, True])
def test_demodulation_keeps_unit_variance(up):
    torch.manual_seed(0)
    x = torch.randn(4, 64, 32, 32)
    weight = torch.randn(48, 64, 3, 3)
    styles = torch.rand(4, 64) * 4 + 0.5  # far from unit scale on purpose
    inner = slice(2, -2)  # away from the zero padding
    demodulated = modulated_conv2d(x, weight, styles, demodulate=True, up=up)[:, :, inner, inner]
    assert demodulated.shape[2] == (64 if up else 32) - 4
    if not up:  # upsampling blurs, which lowers the variance; without it the std is 1 in expectation
        assert 0.9 < demodulated.std().item() < 1.1
    assert demodulated.std().item() > 0.3
    modulated = modulated_conv2d(x, weight, styles, demodulate=False)[:, :, inner, inner]
    assert modulated.std().item() > 10


def test_style_mixing_differs_from_both_sources():
    generator = tiny_generator(16).eval()
    first, second = generator.mapping(torch.randn(2, 32)), generator.mapping(torch.randn(2, 32))
    mixed = torch.cat([first[:, :3], second[:, 3:]], dim=1)
    images = generator.synthesis(mixed)
    for source in (first, second):
        assert (images - generator.synthesis(source)).abs().amax(dim=(1, 2, 3)).min() > 1e-4


def test_path_length_gradient_reaches_the_weights():
    generator = with_noise(tiny_generator(16))
    ws = generator.mapping(torch.randn(4, 32))
    images = generator.synthesis(ws)
    pl_noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
    (pl_grads,) = torch.autograd.grad((images * pl_noise).sum(), ws, create_graph=True)
    lengths = pl_grads.square().sum(2).mean(1).sqrt()
    assert lengths.shape == (4,) and (lengths > 0).all()
    lengths.mean().backward()
    for name in ("blocks.1.convs.0.weight", "blocks.2.convs.1.affine.weight", "mapping_network.0.weight"):
        grad = generator.get_parameter(name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_conditional_generator_uses_its_labels():
    generator = tiny_generator(8, num_classes=4).eval()
    z = torch.randn(2, 32).repeat(2, 1)
    images = generator(z, torch.tensor([0, 0, 1, 2]))
    assert (images[:2] - images[2:]).abs().amax(dim=(1, 2, 3)).min() > 1e-4
    with pytest.raises(UserError, match="labels"):
        generator(z)


# The discriminator.


def test_class_conditioning_changes_the_logits():
    discriminator = tiny_discriminator(16, num_classes=5)
    images = torch.randn(1, 3, 16, 16).repeat(4, 1, 1, 1)
    logits = discriminator(images, torch.tensor([0, 1, 2, 3]))
    assert logits.shape == (4, 1)
    assert (logits - logits.T).abs().fill_diagonal_(1).min() > 1e-6
    with pytest.raises(UserError, match="labels"):
        discriminator(images)


@pytest.mark.parametrize("batch_size, group", [(8, 4), (6, 3), (3, 3), (5, 1), (2, 2)])
def test_minibatch_std_takes_the_largest_group_that_divides_the_batch(batch_size, group):
    assert mbstd_group_size(batch_size, 4) == group
    discriminator = tiny_discriminator(8)
    features = discriminator.mbstd(torch.randn(batch_size, 8, 4, 4))
    assert features.shape == (batch_size, 9, 4, 4)
    stds = features[:, -1, 0, 0]
    # Sample i is in group i % (B / group): its members share one statistic.
    assert torch.equal(stds, stds[: batch_size // group].repeat(group))
    assert discriminator(torch.randn(batch_size, 3, 8, 8)).shape == (batch_size, 1)


# Equalized learning rate, reduced precision, training.


def test_parameters_are_stored_at_unit_scale():
    generator, discriminator = tiny_generator(32), tiny_discriminator(32)
    mapping_weight = generator.mapping_network[0].weight
    assert 80 < mapping_weight.std().item() < 120  # N(0, 1) / lr_multiplier 0.01
    for name, parameter in [*generator.named_parameters(), *discriminator.named_parameters()]:
        if name.endswith("weight") and not name.startswith("mapping_network") and parameter.numel() >= 256:
            assert 0.8 < parameter.std().item() < 1.2, name
    layer = EqualizedLinear(256, 256, lr_multiplier=0.01)
    assert 0.8 < layer(torch.randn(512, 256)).std().item() < 1.2  # the runtime gain undoes the storage scale


def test_networks_run_under_bf16_autocast():
    generator, discriminator = tiny_generator(16, num_classes=3), tiny_discriminator(16, num_classes=3)
    labels = torch.tensor([0, 1, 2, 0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = discriminator(generator(torch.randn(4, 32), labels), labels)
    assert torch.isfinite(logits.float()).all()
    logits.float().sum().backward()
    assert torch.isfinite(generator.blocks[0].const.grad).all()


def test_a_few_adam_steps_fit_a_fixed_target():
    torch.manual_seed(0)
    generator = tiny_generator(8)
    z, target = torch.randn(4, 32), torch.rand(4, 3, 8, 8) * 2 - 1
    optimizer = torch.optim.Adam(generator.parameters(), lr=0.01, betas=(0.0, 0.99))
    losses = []
    for _ in range(30):
        loss = (generator(z, noise_mode="const") - target).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
