"""The BigGAN networks: shapes, the hierarchical z split, conditioning, orthogonal regularization."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from omegaconf import OmegaConf

from gan_cli.errors import UserError
from gan_cli.models.biggan import (
    BigGANDiscriminator,
    BigGANGenerator,
    orthogonal_penalty,
)
from gan_cli.models.layers import spectral


@pytest.fixture(autouse=True)
def one_thread():
    """These nets are small: one thread is faster than two fighting a busy machine (OpenMP spin-waits)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _generator(resolution=32, channels=3, attention=None, hierarchical=True, width=8, shared_dim=8):
    blocks = resolution.bit_length() - 3  # one up-block per doubling from 4x4
    latent_dim = 4 * (blocks + 1)
    return BigGANGenerator(latent_dim, num_classes=5, data_shape=OmegaConf.create([channels, resolution, resolution]),
                           base_width=width, shared_dim=shared_dim, attention_resolution=attention,
                           hierarchical=hierarchical)


def _inputs(generator, batch=4, seed=0):
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, generator.latent_dim, generator=rng)
    return z, torch.randint(generator.num_classes, (batch,), generator=rng)


@pytest.mark.parametrize("resolution, channels, g_attention, d_attention", [
    (16, 1, None, None), (16, 3, 8, 8), (32, 3, None, None), (32, 1, 16, 8), (64, 3, 32, 16), (64, 1, None, None),
])
def test_shapes(resolution, channels, g_attention, d_attention):
    generator = _generator(resolution, channels, g_attention)
    discriminator = BigGANDiscriminator(5, [channels, resolution, resolution], 8, attention_resolution=d_attention)
    assert (generator.attention is None) == (g_attention is None)
    assert (discriminator.attention is None) == (d_attention is None)
    z, labels = _inputs(generator)
    images = generator(z, labels)
    assert images.shape == (4, channels, resolution, resolution)
    assert images.abs().max() <= 1
    logits = discriminator(images, labels)
    assert logits.shape == (4,)
    logits.sum().backward()
    assert all(p.grad is not None for p in generator.parameters() if p.requires_grad)


def test_each_block_gets_its_own_z_chunk():
    generator = _generator(32).eval()
    assert generator.latent_chunks == len(generator.blocks) + 1 == 4
    z, labels = _inputs(generator)
    conditions = []
    for block in generator.blocks:
        block.norm1.register_forward_hook(lambda module, args, output: conditions.append(args[1]))
    base = generator(z, labels)
    for index, condition in enumerate(conditions):  # block i sees cat(shared(y), chunk i + 1)
        assert torch.equal(condition[:, 8:], z.split(4, dim=1)[index + 1])
        assert torch.equal(condition[:, :8], generator.shared(labels))
    for chunk in range(generator.latent_chunks):
        perturbed = z.clone()
        perturbed[:, 4 * chunk:4 * (chunk + 1)] += 1
        assert not torch.allclose(generator(perturbed, labels), base), chunk


def test_labels_change_the_output_and_are_required():
    generator = _generator(16).eval()
    z, labels = _inputs(generator)
    assert not torch.allclose(generator(z, labels), generator(z, (labels + 1) % 5))
    with pytest.raises(ValueError, match="class-conditional"):
        generator(z, None)
    with pytest.raises(ValueError, match="class-conditional"):
        BigGANDiscriminator(5, (3, 16, 16), 8)(torch.zeros(2, 3, 16, 16), None)


def test_non_hierarchical_generator_feeds_all_of_z_to_the_input():
    generator = BigGANGenerator(30, 5, (3, 32, 32), 8, shared_dim=8, hierarchical=False)
    assert generator.latent_chunks == 1 and generator.linear.in_features == 30
    z, labels = _inputs(generator)
    assert generator(z, labels).shape == (4, 3, 32, 32)


def test_configuration_errors():
    with pytest.raises(UserError, match=r"model\.latent_dim=30 .* multiple of 4 \(e\.g\. 28 or 32\)"):
        BigGANGenerator(30, 5, (3, 32, 32), 8)
    with pytest.raises(UserError, match=r"model\.generator\.attention_resolution=4: .* 8, 16, 32 pixels"):
        BigGANGenerator(32, 5, (3, 32, 32), 8, attention_resolution=4)
    with pytest.raises(UserError, match=r"model\.discriminator\.attention_resolution=32: .* 8, 16 pixels"):
        BigGANDiscriminator(5, (3, 32, 32), 8, attention_resolution=32)
    for shape in [(3, 24, 24), (3, 4, 4), (3, 32, 16), (2,)]:
        with pytest.raises(UserError, match=r"data\.resolution"):
            BigGANDiscriminator(5, shape, 8)
    with pytest.raises(UserError, match="num_classes"):
        BigGANGenerator(32, None, (3, 32, 32), 8)


def test_orthogonal_penalty():
    torch.manual_seed(0)
    orthonormal_rows = nn.Linear(16, 4)
    nn.init.orthogonal_(orthonormal_rows.weight)
    assert orthogonal_penalty(orthonormal_rows) < 1e-10
    normal_rows = nn.Linear(16, 4)
    assert orthogonal_penalty(normal_rows) > 1e-3

    # A spectral-normed layer: the penalty is on the raw W (as the official code, which adds its
    # gradient to the parameters), and computing it leaves the power-iteration state alone.
    layer = spectral(nn.Conv2d(4, 6, 3), True)
    state = {name: value.clone() for name, value in layer.state_dict().items()}
    penalty = orthogonal_penalty(layer)
    assert all(torch.equal(state[name], value) for name, value in layer.state_dict().items())
    raw = layer.parametrizations.weight.original.flatten(1)
    assert torch.allclose(penalty, (raw @ raw.t()).fill_diagonal_(0).square().sum())
    penalty.backward()
    assert layer.parametrizations.weight.original.grad.abs().sum() > 0


def test_orthogonal_penalty_of_the_generator_skips_the_class_embedding():
    generator = _generator(16)
    penalty = orthogonal_penalty(generator)
    assert penalty > 0
    with torch.no_grad():
        generator.shared.weight.mul_(3)
        generator.output_norm.weight.mul_(3)
    assert torch.allclose(orthogonal_penalty(generator), penalty)


def test_discriminator_projection_depends_on_labels():
    discriminator = BigGANDiscriminator(5, (3, 16, 16), 8).eval()
    images = torch.randn(4, 3, 16, 16)
    features = []
    discriminator.linear.register_forward_hook(lambda module, args, output: features.append(args[0]))
    labels = torch.tensor([0, 1, 2, 3])
    logits = discriminator(images, labels)
    other = discriminator(images, (labels + 1) % 5)
    assert not torch.allclose(logits, other)
    linear_term = discriminator.linear(features[0]).flatten()
    projection = (discriminator.projection.embedding.weight[labels] * features[0]).sum(1)
    assert torch.allclose(logits, linear_term + projection, atol=1e-5)


def test_parameter_counts_of_the_cifar_setting():
    generator = BigGANGenerator(128, 10, (3, 32, 32), 64, attention_resolution=None)
    discriminator = BigGANDiscriminator(10, (3, 32, 32), 64)
    g_count = sum(p.numel() for p in generator.parameters())
    d_count = sum(p.numel() for p in discriminator.parameters())
    print(f"BigGAN CIFAR 32x32 ch=64: G {g_count:,} parameters, D {d_count:,}")
    assert generator.latent_chunks == 4 and generator.chunk_dim == 32
    assert 4.0e6 < g_count < 4.8e6 and 3.9e6 < d_count < 4.6e6  # BigGAN-PyTorch: about 4.3M and 4.2M


def test_generator_trains_toward_a_fixed_target():
    torch.manual_seed(0)
    generator = _generator(16)
    z, labels = _inputs(generator, batch=8)
    target = torch.rand(8, 3, 16, 16) * 2 - 1
    optimizer = torch.optim.Adam(generator.parameters(), lr=2e-3)
    losses = []
    for _ in range(30):
        loss = (generator(z, labels) - target).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses


def test_orthogonal_regularization_has_the_official_gradient():
    """beta * 2 (W W^T * (1 - I)) W on each raw weight: BigGAN-PyTorch's hand-written ortho() step."""
    from gan_cli.training.objectives.regularizers import OrthogonalPenalty

    torch.manual_seed(0)
    layer = spectral(nn.Conv2d(4, 6, 3), True)
    OrthogonalPenalty(beta=1e-4)(layer).backward()
    raw = layer.parametrizations.weight.original.detach()
    w = raw.flatten(1)
    official = 1e-4 * 2 * ((w @ w.t()) * (1 - torch.eye(w.shape[0]))) @ w
    assert torch.allclose(layer.parametrizations.weight.original.grad.flatten(1), official, rtol=1e-5, atol=1e-12)
