"""The conditional, ResNet, self-attention and InfoGAN networks, and DiffAugment (narrow nets, CPU)."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn as nn
from torch.nn.utils import parametrize

from gan_cli.errors import UserError
from gan_cli.models.attention import SAGANDiscriminator, SAGANGenerator, SelfAttention
from gan_cli.models.conditional import (
    ACGANDiscriminator,
    ConditionalBatchNorm2d,
    ConditionalDCGANDiscriminator,
    ConditionalDCGANGenerator,
)
from gan_cli.models.infogan import InfoGANDiscriminator
from gan_cli.models.resnet import ResNetDiscriminator, ResNetGenerator
from gan_cli.training.objectives.augment import (
    DiffAugment,
    cutout,
    diff_augment,
    translation,
)

LATENT = 8
CLASSES = 10
SHAPES = [(channels, size, size) for size in (16, 32, 64) for channels in (1, 3)]

# name -> (data_shape -> network); all narrow so the whole file stays fast on two CPU cores.
GENERATORS = {
    "cgan": lambda shape: ConditionalDCGANGenerator(LATENT, shape, CLASSES, base_width=8),
    "cgan_embedding": lambda shape: ConditionalDCGANGenerator(LATENT, shape, CLASSES, base_width=8, label_embedding=6),
    "resnet": lambda shape: ResNetGenerator(LATENT, shape, base_width=16),
    "resnet_conditional": lambda shape: ResNetGenerator(LATENT, shape, base_width=16, num_classes=CLASSES),
    "resnet_attention": lambda shape: ResNetGenerator(
        LATENT, shape, base_width=16, spectral_norm=True, attention_resolution=shape[1] // 2),
    "sagan": lambda shape: SAGANGenerator(LATENT, shape, base_width=8),
    "sagan_conditional": lambda shape: SAGANGenerator(LATENT, shape, base_width=8, num_classes=CLASSES),
}
DISCRIMINATORS = {
    "cgan": lambda shape: ConditionalDCGANDiscriminator(shape, CLASSES, base_width=8),
    "acgan": lambda shape: ACGANDiscriminator(shape, CLASSES, base_width=8),
    "infogan": lambda shape: InfoGANDiscriminator(shape, categorical=[10], continuous=2, base_width=8),
    "resnet": lambda shape: ResNetDiscriminator(shape, base_width=16),
    "projection": lambda shape: ResNetDiscriminator(shape, base_width=16, num_classes=CLASSES),
    "resnet_attention": lambda shape: ResNetDiscriminator(shape, base_width=16, attention_resolution=8),
    "sagan": lambda shape: SAGANDiscriminator(shape, base_width=8),
    "sagan_conditional": lambda shape: SAGANDiscriminator(shape, base_width=8, num_classes=CLASSES),
}
CONDITIONAL_GENERATORS = ["cgan", "cgan_embedding", "resnet_conditional", "sagan_conditional"]
CONDITIONAL_DISCRIMINATORS = ["cgan", "projection", "sagan_conditional"]
SPECTRAL = {
    "resnet D": lambda: ResNetDiscriminator((3, 32, 32), base_width=16, num_classes=CLASSES),
    "resnet G with SN": lambda: ResNetGenerator(LATENT, (3, 32, 32), base_width=16, num_classes=CLASSES,
                                                spectral_norm=True, attention_resolution=16),
    "sagan G": lambda: SAGANGenerator(LATENT, (3, 32, 32), base_width=8, num_classes=CLASSES),
    "sagan D": lambda: SAGANDiscriminator((3, 32, 32), base_width=8, num_classes=CLASSES),
    "cgan D with SN": lambda: ConditionalDCGANDiscriminator((3, 32, 32), CLASSES, base_width=8, norm="none",
                                                            spectral_norm=True),
    "acgan D with SN": lambda: ACGANDiscriminator((3, 32, 32), CLASSES, base_width=8, norm="none", spectral_norm=True),
    "infogan D with SN": lambda: InfoGANDiscriminator((3, 32, 32), base_width=8, norm="none", spectral_norm=True),
}


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


def labels_for(batch: int, offset: int = 0) -> torch.Tensor:
    return (torch.arange(batch) + offset) % CLASSES


def logits_of(output) -> torch.Tensor:
    return output[0] if isinstance(output, tuple) else output


# Shapes and the interface contract.


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", GENERATORS)
def test_generator_makes_images_of_the_data_shape(name, shape):
    generator = GENERATORS[name](shape)
    images = generator(torch.randn(4, LATENT), labels_for(4))
    assert images.shape == (4, *shape)
    assert images.min() >= -1 and images.max() <= 1
    assert generator.latent_dim == LATENT and generator.data_shape == shape
    assert generator.num_classes == (CLASSES if name in CONDITIONAL_GENERATORS else None)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", DISCRIMINATORS)
def test_discriminator_gives_one_logit_per_image(name, shape):
    discriminator = DISCRIMINATORS[name](shape)
    output = discriminator(torch.randn(4, *shape), labels_for(4))
    assert logits_of(output).shape == (4,)
    assert discriminator.data_shape == shape
    assert isinstance(discriminator.norm, str)


def test_acgan_discriminator_adds_class_logits():
    output = ACGANDiscriminator((3, 32, 32), CLASSES, base_width=8)(torch.randn(5, 3, 32, 32))
    logits, extras = output
    assert logits.shape == (5,)
    assert set(extras) == {"class_logits"} and extras["class_logits"].shape == (5, CLASSES)


def test_infogan_discriminator_adds_code_predictions():
    discriminator = InfoGANDiscriminator((1, 32, 32), categorical=[10, 4], continuous=3, base_width=8)
    logits, extras = discriminator(torch.randn(5, 1, 32, 32))
    assert logits.shape == (5,)
    assert extras["code_logits"].shape == (5, 14)
    assert extras["code_mean"].shape == (5, 3) and extras["code_log_std"].shape == (5, 3)
    assert discriminator.code_dim == 17
    # D and Q share the body: a loss on the codes alone trains the body.
    extras["code_mean"].sum().backward()
    assert discriminator.body[0].weight.grad.abs().sum() > 0
    assert discriminator.adversarial_head.weight.grad is None


def test_infogan_q_head_follows_the_body_norm():
    """No batch norm anywhere with norm=layer, so the R1/gradient penalties stay allowed."""
    discriminator = InfoGANDiscriminator((1, 16, 16), base_width=8, norm="layer")
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in discriminator.modules())
    assert any(isinstance(m, nn.BatchNorm1d) for m in InfoGANDiscriminator((1, 16, 16), base_width=8).modules())


@pytest.mark.parametrize("categorical, continuous", [([1], 2), ([], 0), ([10], -1), ("10", 2)])
def test_infogan_rejects_bad_codes(categorical, continuous):
    with pytest.raises(UserError, match="InfoGAN"):
        InfoGANDiscriminator((1, 16, 16), categorical=categorical, continuous=continuous, base_width=8)


@pytest.mark.parametrize("network", [
    lambda: ConditionalDCGANGenerator(LATENT, [2], CLASSES),
    lambda: ACGANDiscriminator([2], CLASSES),
    lambda: InfoGANDiscriminator([2]),
    lambda: ResNetGenerator(LATENT, [2]),
    lambda: ResNetDiscriminator([2]),
    lambda: SAGANGenerator(LATENT, [2]),
    lambda: SAGANDiscriminator([2]),
])
def test_image_networks_point_2d_data_to_model_gan(network):
    with pytest.raises(UserError, match="model=gan"):
        network()


def test_resnet_discriminator_has_the_sngan_cifar_layout():
    """32x32: optimized block, one down-block to 8x8, two blocks at 8x8; 16x16 drops the down-block."""
    assert len(ResNetDiscriminator((3, 32, 32), base_width=16).blocks) == 4
    assert len(ResNetDiscriminator((3, 16, 16), base_width=16).blocks) == 3
    assert len(ResNetDiscriminator((3, 64, 64), base_width=16).blocks) == 5
    assert len(ResNetGenerator(LATENT, (3, 32, 32), base_width=16).blocks) == 3  # 4 -> 8 -> 16 -> 32


def test_mlp_discriminator_dropout_is_active_in_training_only():
    """Goodfellow et al. trained D with dropout; off by default, so the default D's weights keep their names."""
    from gan_cli.models.mlp import MLPDiscriminator
    plain, dropped = MLPDiscriminator([1, 8, 8]), MLPDiscriminator([1, 8, 8], dropout=0.5)
    assert not any(isinstance(m, nn.Dropout) for m in plain.modules())
    assert sum(isinstance(m, nn.Dropout) for m in dropped.modules()) == 2  # one per hidden layer
    x = torch.randn(16, 1, 8, 8)
    torch.manual_seed(0)
    assert not torch.equal(dropped.train()(x), dropped(x))  # fresh masks per call
    assert torch.equal(dropped.eval()(x), dropped(x))


@pytest.mark.parametrize("dropout", [-0.1, 1.0, 1.5])
def test_mlp_discriminator_rejects_a_dropout_outside_0_1(dropout):
    from gan_cli.models.mlp import MLPDiscriminator
    with pytest.raises(UserError, match=r"model\.discriminator\.dropout=.*\[0, 1\)"):
        MLPDiscriminator([1, 8, 8], dropout=dropout)


def test_conditional_dcgan_discriminator_supports_packing():
    discriminator = ConditionalDCGANDiscriminator((1, 16, 16), CLASSES, base_width=8, packing=2)
    assert discriminator(torch.randn(6, 1, 16, 16), labels_for(6)).shape == (3,)


# Conditioning.


@pytest.mark.parametrize("name", CONDITIONAL_GENERATORS)
def test_conditional_generator_follows_the_label(name):
    generator = GENERATORS[name]((1, 16, 16))
    for module in generator.modules():
        if isinstance(module, ConditionalBatchNorm2d):  # class gains 1, biases 0 at init: give them a class effect
            nn.init.normal_(module.gain.weight, 1.0, 0.5)
            nn.init.normal_(module.bias.weight, 0.0, 0.5)
    generator.eval()
    z = torch.randn(4, LATENT)
    with torch.no_grad():
        first, second = generator(z, labels_for(4)), generator(z, labels_for(4, offset=3))
        again = generator(z, labels_for(4))
    assert torch.equal(first, again)
    assert (first - second).abs().amax(dim=(1, 2, 3)).min() > 1e-4  # every sample changed


def test_conditional_batch_norm_starts_as_plain_batch_norm():
    generator = GENERATORS["resnet_conditional"]((1, 16, 16)).eval()
    z = torch.randn(4, LATENT)
    with torch.no_grad():
        assert torch.allclose(generator(z, labels_for(4)), generator(z, labels_for(4, offset=3)))


@pytest.mark.parametrize("name", CONDITIONAL_DISCRIMINATORS)
def test_conditional_discriminator_follows_the_label(name):
    discriminator = DISCRIMINATORS[name]((3, 16, 16)).eval()
    images = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        first, second = discriminator(images, labels_for(4)), discriminator(images, labels_for(4, offset=3))
    assert (first - second).abs().min() > 1e-6


def test_projection_term_is_the_inner_product_of_class_embedding_and_features():
    discriminator = ResNetDiscriminator((3, 16, 16), base_width=16, num_classes=CLASSES).eval()
    features = {}
    discriminator.linear.register_forward_hook(lambda module, args, output: features.update(h=args[0]))
    images, labels = torch.randn(3, 3, 16, 16), labels_for(3)
    with torch.no_grad():
        logits = discriminator(images, labels)
        expected = discriminator.linear(features["h"]).flatten() + (
            discriminator.projection.embedding(labels) * features["h"]).sum(1)
    assert torch.allclose(logits, expected, atol=1e-5)


@pytest.mark.parametrize("network, call", [
    (lambda: ConditionalDCGANGenerator(LATENT, (1, 16, 16), CLASSES, 8), lambda n: n(torch.randn(2, LATENT))),
    (lambda: ResNetGenerator(LATENT, (1, 16, 16), 16, CLASSES), lambda n: n(torch.randn(2, LATENT))),
    (lambda: ConditionalDCGANDiscriminator((1, 16, 16), CLASSES, base_width=8), lambda n: n(torch.randn(2, 1, 16, 16))),
    (lambda: ResNetDiscriminator((1, 16, 16), 16, CLASSES), lambda n: n(torch.randn(2, 1, 16, 16))),
    (lambda: SAGANDiscriminator((1, 16, 16), 8, CLASSES), lambda n: n(torch.randn(2, 1, 16, 16))),
])
def test_conditional_networks_need_labels(network, call):
    with pytest.raises(UserError, match="needs the class labels"):
        call(network())


@pytest.mark.parametrize("num_classes", [None, 1, 2.5])
def test_conditional_networks_need_a_class_count(num_classes):
    with pytest.raises(UserError, match="num_classes"):
        ConditionalDCGANGenerator(LATENT, (1, 16, 16), num_classes)
    with pytest.raises(UserError, match="num_classes"):
        ACGANDiscriminator((1, 16, 16), num_classes)


# Spectral normalization and self-attention.


@pytest.mark.parametrize("name", SPECTRAL)
def test_spectral_norm_is_on_every_layer(name):
    network = SPECTRAL[name]()
    layers = [m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    projection = getattr(network, "projection", None)
    if projection is not None:
        assert parametrize.is_parametrized(projection.embedding, "weight")


def test_sngan_resnet_generator_has_no_spectral_norm_by_default():
    generator = ResNetGenerator(LATENT, (3, 32, 32), base_width=16)
    assert not any(parametrize.is_parametrized(m) for m in generator.modules())
    assert generator.attention is None


def test_self_attention_starts_as_the_identity():
    attention = SelfAttention(32)
    x = torch.randn(2, 32, 8, 8)
    assert attention.gamma.item() == 0.0
    assert torch.equal(attention(x), x)
    with torch.no_grad():
        attention.gamma.fill_(1.0)
    out = attention(x)
    assert out.shape == x.shape and not torch.allclose(out, x)


@pytest.mark.parametrize("size", [(8, 8), (5, 7), (1, 1)])
def test_self_attention_keeps_the_shape(size):
    x = torch.randn(2, 16, *size)
    assert SelfAttention(16, spectral_norm=False)(x).shape == x.shape


@pytest.mark.parametrize("network, expected", [
    (lambda: SAGANGenerator(LATENT, (3, 64, 64), base_width=8), 32),
    (lambda: SAGANDiscriminator((3, 64, 64), base_width=8), 32),
    (lambda: SAGANGenerator(LATENT, (3, 32, 32), base_width=8), 16),
    (lambda: SAGANDiscriminator((3, 32, 32), base_width=8, attention_resolution=8), 8),
    (lambda: ResNetGenerator(LATENT, (3, 32, 32), base_width=16, attention_resolution=16), 16),
])
def test_attention_sits_at_its_resolution(network, expected):
    network = network()
    seen = []
    network.attention.register_forward_hook(lambda module, args, output: seen.append(args[0].shape[-1]))
    if hasattr(network, "latent_dim"):
        network(torch.randn(2, LATENT))
    else:
        network(torch.randn(2, *network.data_shape))
    assert seen == [expected]


@pytest.mark.parametrize("network", [
    lambda: SAGANGenerator(LATENT, (3, 32, 32), attention_resolution=32),
    lambda: SAGANDiscriminator((3, 32, 32), attention_resolution=2),
    lambda: ResNetDiscriminator((3, 32, 32), attention_resolution=32),
])
def test_attention_resolution_must_be_a_feature_map_size(network):
    with pytest.raises(UserError, match="attention_resolution"):
        network()


@pytest.mark.parametrize("name", ["resnet", "projection", "sagan_conditional", "resnet_attention"])
def test_discriminator_allows_input_gradient_penalties(name):
    """R1 and WGAN-GP differentiate D's input gradient again (double backward)."""
    discriminator = DISCRIMINATORS[name]((3, 16, 16))
    if getattr(discriminator, "attention", None) is not None:
        nn.init.constant_(discriminator.attention.gamma, 0.5)  # at 0 the attention path gets no gradient
    images = torch.randn(4, 3, 16, 16, requires_grad=True)
    logits = logits_of(discriminator(images, labels_for(4)))
    (gradient,) = torch.autograd.grad(logits.sum(), images, create_graph=True)
    gradient.square().sum().backward()
    weights = [p for name, p in discriminator.named_parameters() if name.endswith("weight.original")]
    assert weights and all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)


# DiffAugment.


def test_diff_augment_changes_the_images_but_not_their_shape():
    for shape in [(4, 3, 32, 32), (4, 1, 16, 16), (4, 3, 16, 24)]:
        x = torch.rand(shape) * 2 - 1
        out = diff_augment(x)
        assert out.shape == x.shape and not torch.allclose(out, x)


def test_diff_augment_is_differentiable():
    x = (torch.rand(4, 3, 16, 16) * 2 - 1).requires_grad_()
    diff_augment(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # and through to G's weights
    generator = GENERATORS["sagan"]((3, 16, 16))
    diff_augment(generator(torch.randn(4, LATENT))).sum().backward()
    assert all(p.grad is not None for p in generator.blocks[0].parameters())


def test_diff_augment_draws_per_sample():
    x = torch.rand(1, 3, 16, 16).expand(8, -1, -1, -1)
    for policy in ["color", "translation", "cutout"]:
        out = diff_augment(x, policy)
        assert not all(torch.equal(out[0], out[i]) for i in range(1, 8)), policy


def test_diff_augment_is_repeatable_with_a_seeded_generator():
    x = torch.rand(4, 3, 16, 16)
    first = diff_augment(x, generator=torch.Generator().manual_seed(7))
    again = diff_augment(x, generator=torch.Generator().manual_seed(7))
    other = diff_augment(x, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_translation_shifts_each_image_with_zero_fill():
    x = torch.rand(8, 2, 16, 16) + 1  # no zeros of its own
    out = translation(x, ratio=0.125)  # at most 2 pixels
    for image, shifted in zip(x, out):
        matches = []
        for dy, dx in itertools.product(range(-2, 3), repeat=2):
            expected = torch.zeros_like(image)
            expected[:, max(dy, 0):16 + min(dy, 0), max(dx, 0):16 + min(dx, 0)] = \
                image[:, max(-dy, 0):16 + min(-dy, 0), max(-dx, 0):16 + min(-dx, 0)]
            matches.append(torch.equal(shifted, expected))
        assert sum(matches) == 1


def test_cutout_zeroes_one_square_of_half_the_size():
    x = torch.ones(16, 3, 16, 16)
    out = cutout(x, ratio=0.5)
    for image in out:
        zero = image[0] == 0
        assert torch.equal(zero, image[1] == 0) and torch.equal(image[image != 0], torch.ones_like(image[image != 0]))
        rows, cols = zero.any(dim=1), zero.any(dim=0)
        assert torch.equal(zero, rows[:, None] & cols[None, :])  # a rectangle (a square clipped at the border)
        assert 4 <= rows.sum() <= 8 and 4 <= cols.sum() <= 8


def test_color_works_on_one_channel():
    x = torch.rand(4, 1, 16, 16) * 2 - 1
    out = diff_augment(x, ["color"])
    assert out.shape == x.shape and not torch.allclose(out, x)


def test_diff_augment_leaves_points_and_empty_policies_alone():
    points = torch.randn(8, 2)
    assert diff_augment(points) is points
    images = torch.randn(2, 3, 16, 16)
    assert torch.equal(DiffAugment("")(images), images)


@pytest.mark.parametrize("policy", ["colour", "color,flip", ["translation", "zoom"]])
def test_diff_augment_rejects_unknown_policies(policy):
    with pytest.raises(UserError, match="color, translation, cutout"):
        DiffAugment(policy)
    with pytest.raises(UserError):
        diff_augment(torch.zeros(1, 1, 16, 16), policy)


def test_diff_augment_object_applies_its_policy():
    augment = DiffAugment("cutout")
    assert augment.names == ["cutout"] and "cutout" in repr(augment)
    x = torch.ones(4, 1, 16, 16)
    assert (augment(x) == 0).any()
