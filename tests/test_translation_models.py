"""The image-to-image networks: pix2pix U-Net and PatchGAN, CycleGAN ResNet generator, SRGAN.

Reference parameter counts are those of junyanz/pytorch-CycleGAN-and-pix2pix (`unet_256`,
`resnet_9blocks`, `basic` D with n_layers=3), which these networks follow layer for layer.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from omegaconf import OmegaConf

from gan_cli.errors import UserError
from gan_cli.models.patchgan import PatchDiscriminator, patch_receptive_field
from gan_cli.models.srresnet import SRGANDiscriminator, SRResNet
from gan_cli.models.translator import ResnetGenerator
from gan_cli.models.unet import UNetGenerator


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def on_meta_device(build):
    """Build a large network without allocating or initializing its weights."""
    with torch.device("meta"):
        return build()


def assert_image(output: torch.Tensor, shape: tuple[int, ...]) -> None:
    assert tuple(output.shape) == shape
    assert torch.isfinite(output).all() and output.abs().max() <= 1.0


# The U-Net generator.


@pytest.mark.parametrize("size", [8, 32, 64])
def test_unet_makes_images_of_the_input_size(size):
    generator = UNetGenerator(OmegaConf.create([1, size, size]), 3, base_width=8).eval()
    assert generator.depth == size.bit_length() - 1  # down to 1x1
    assert_image(generator(torch.randn(2, 1, size, size)), (2, 3, size, size))


def test_unet_with_explicit_depth_and_instance_norm():
    generator = UNetGenerator([3, 32, 32], 3, base_width=8, depth=3, norm="instance")
    assert_image(generator(torch.randn(2, 3, 32, 32)), (2, 3, 32, 32))
    norms = [m for m in generator.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert norms and all(not m.affine and not m.track_running_stats for m in norms)
    assert all(m.bias is not None for m in generator.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def test_unet_256_has_the_reference_parameter_count():
    generator = on_meta_device(lambda: UNetGenerator([3, 256, 256], 3))
    assert generator.depth == 8
    assert parameter_count(generator) == 54_413_955


@pytest.mark.parametrize("depth, noisy_layers", [(8, [7, 6, 5]), (3, [2, 1]), (1, [])])
def test_unet_dropout_sits_on_the_innermost_decoder_layers(depth, noisy_layers):
    generator = UNetGenerator([3, 256, 256], 3, base_width=2, max_width=4, depth=depth)
    noisy = [index for index, layer in enumerate(generator.decoder)
             if any(isinstance(m, nn.Dropout) for m in layer.modules())]
    assert sorted(noisy, reverse=True) == noisy_layers
    quiet = UNetGenerator([3, 256, 256], 3, base_width=2, max_width=4, depth=depth, dropout=0)
    assert not any(isinstance(m, nn.Dropout) for m in quiet.modules())


def test_unet_decoder_reads_every_skip_connection():
    torch.manual_seed(0)
    generator = UNetGenerator([3, 32, 32], 3, base_width=8).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        features = generator.encode(images)
        output = generator.decode(features)
        assert torch.equal(output, generator(images))
        for level in range(generator.depth - 1):  # every encoder output but the bottleneck is a skip
            perturbed = list(features)
            perturbed[level] = features[level] + torch.randn_like(features[level])
            assert not torch.allclose(generator.decode(perturbed), output), level


@pytest.mark.parametrize("depth", [0, 6, True, 2.5, "3"])
def test_unet_rejects_bad_depths(depth):
    with pytest.raises(UserError, match="model.generator.depth"):
        UNetGenerator([3, 32, 32], 3, depth=depth)


@pytest.mark.parametrize("shape", [[3, 4, 4], [3, 48, 48], [3, 32, 64], [32, 32]])
def test_unet_rejects_bad_input_shapes(shape):
    with pytest.raises(UserError, match="model.generator.input_shape"):
        UNetGenerator(shape, 3)


def test_bad_norm_names_its_key():
    with pytest.raises(UserError, match="model.generator.norm='layer'"):
        UNetGenerator([3, 32, 32], 3, norm="layer")
    with pytest.raises(UserError, match="model.discriminator.norm"):
        PatchDiscriminator([3, 32, 32], norm="group")


# The PatchGAN discriminator.

# Logits per side for 32x32 and 64x64 images; None: too small for that receptive field.
PATCH_SIDES = {1: (32, 64), 16: (14, 30), 34: (6, 14), 70: (2, 6), 142: (None, 2), 286: (None, None),
               "full": (1, 1)}


@pytest.mark.parametrize("receptive_field", list(PATCH_SIDES))
@pytest.mark.parametrize("size", [32, 64])
def test_patchgan_outputs_one_logit_per_patch(receptive_field, size):
    side = PATCH_SIDES[receptive_field][size == 64]
    build = lambda: PatchDiscriminator([3, size, size], 3, receptive_field, base_width=8)  # noqa: E731
    if side is None:
        with pytest.raises(UserError, match=f"receptive_field={receptive_field} is too large.*70"):
            build()
        return
    images, condition = torch.randn(2, 3, size, size), torch.randn(2, 3, size, size)
    assert tuple(build()(images, condition).shape) == (2, 1, side, side)


def test_patchgan_full_works_on_small_images():
    discriminator = PatchDiscriminator([1, 8, 8], receptive_field="full", spectral_norm=True)
    assert tuple(discriminator(torch.randn(2, 1, 8, 8)).shape) == (2, 1, 1, 1)


def test_patchgan_receptive_fields_follow_the_reference_shape():
    assert [patch_receptive_field(n) for n in range(1, 6)] == [16, 34, 70, 142, 286]


@pytest.mark.parametrize("receptive_field, expected", [(70, 2_768_705), (16, 139_585), (142, 6_964_033)])
def test_patchgan_has_the_reference_parameter_count(receptive_field, expected):
    # 6 input channels: the pix2pix D sees the 3-channel input next to the 3-channel output.
    discriminator = on_meta_device(lambda: PatchDiscriminator([3, 256, 256], 3, receptive_field))
    assert parameter_count(discriminator) == expected


@pytest.mark.parametrize("receptive_field, size", [(1, 16), (16, 64), (34, 128), (70, 256)])
def test_patchgan_receptive_field_measured_by_gradients(receptive_field, size):
    torch.manual_seed(0)
    discriminator = PatchDiscriminator([1, size, size], receptive_field=receptive_field, base_width=8)
    discriminator = discriminator.double().eval()
    images = torch.randn(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    logits = discriminator(images)
    logits[0, 0, logits.shape[2] // 2, logits.shape[3] // 2].backward()
    rows, columns = images.grad[0, 0].abs().nonzero(as_tuple=True)
    assert 0 < rows.min() and rows.max() < size - 1  # the field lies inside the image: no padding
    assert rows.max() - rows.min() + 1 == receptive_field
    assert columns.max() - columns.min() + 1 == receptive_field


@pytest.mark.parametrize("receptive_field", [0, 2, 69, 71, 572, True, "70", "global", None])
def test_patchgan_rejects_bad_receptive_fields(receptive_field):
    with pytest.raises(UserError, match="model.discriminator.receptive_field.*1.*16, 34, 70, 142, 286.*full"):
        PatchDiscriminator([3, 64, 64], receptive_field=receptive_field)


def test_patchgan_condition_is_checked_and_used():
    torch.manual_seed(0)
    discriminator = PatchDiscriminator([3, 32, 32], condition_channels=2, base_width=8).eval()
    images, condition = torch.randn(2, 3, 32, 32), torch.randn(2, 2, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(discriminator(images, condition), discriminator(images, -condition))
    with pytest.raises(ValueError, match="condition_channels=2"):
        discriminator(images, torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match="D\\(images, condition\\)"):
        discriminator(images)
    with pytest.raises(ValueError, match="condition_channels=0"):
        PatchDiscriminator([3, 32, 32], base_width=8)(images, condition)


# The CycleGAN ResNet generator.


@pytest.mark.parametrize("size", [32, 64])
def test_resnet_generator_translates_images(size):
    generator = ResnetGenerator(OmegaConf.create([3, size, size]), base_width=8, dropout=0.5)
    assert generator.blocks == 6
    assert_image(generator(torch.randn(2, 3, size, size)), (2, 3, size, size))
    gray = ResnetGenerator([3, size, size], output_channels=1, base_width=8, blocks=2, norm="batch")
    assert_image(gray(torch.randn(2, 3, size, size)), (2, 1, size, size))


def test_resnet_generator_has_the_reference_parameter_count():
    generator = on_meta_device(lambda: ResnetGenerator([3, 256, 256]))
    assert generator.blocks == 9
    assert parameter_count(generator) == 11_378_179


@pytest.mark.parametrize("blocks", [0, -1, True, "nine", 2.0])
def test_resnet_generator_rejects_bad_block_counts(blocks):
    with pytest.raises(UserError, match="model.generator.blocks"):
        ResnetGenerator([3, 32, 32], blocks=blocks)


# SRGAN.


@pytest.mark.parametrize("scale", [2, 4, 8])
@pytest.mark.parametrize("size", [12, 24])
def test_srresnet_upscales(scale, size):
    generator = SRResNet(channels=3, scale=scale, base_width=16, blocks=2).eval()
    assert_image(generator(torch.randn(2, 3, size, size)), (2, 3, scale * size, scale * size))


def test_srresnet_is_fully_convolutional_with_the_paper_defaults():
    generator = SRResNet().eval()
    assert sum(isinstance(m, nn.PixelShuffle) for m in generator.modules()) == 2
    assert_image(generator(torch.randn(1, 3, 12, 20)), (1, 3, 48, 80))


@pytest.mark.parametrize("scale", [1, 3, 16, True, "4"])
def test_srresnet_rejects_bad_scales(scale):
    with pytest.raises(UserError, match="model.generator.scale"):
        SRResNet(scale=scale)


@pytest.mark.parametrize("size", [16, 24, 96])
def test_srgan_discriminator_gives_one_logit_per_crop(size):
    discriminator = SRGANDiscriminator(OmegaConf.create([3, 96, 96]), base_width=8)
    assert tuple(discriminator(torch.randn(2, 3, size, size)).shape) == (2, 1)


def test_srgan_discriminator_variants_and_bad_shapes():
    discriminator = SRGANDiscriminator([1, 24, 24], base_width=8, norm="instance", spectral_norm=True)
    assert tuple(discriminator(torch.randn(2, 1, 24, 24)).shape) == (2, 1)
    with pytest.raises(UserError, match="model.discriminator.data_shape"):
        SRGANDiscriminator([3, 8, 8])


def test_srresnet_bicubic_skip_starts_as_bicubic_upscaling():
    """With bicubic_skip the network learns a residual over bicubic upscaling, zero at the start."""
    import torch.nn.functional as F

    from gan_cli.models.srresnet import SRResNet

    network = SRResNet(channels=3, scale=4, base_width=8, blocks=1, bicubic_skip=True).eval()
    low = torch.rand(2, 3, 6, 6) * 2 - 1
    expected = F.interpolate(low, scale_factor=4, mode="bicubic", align_corners=False).clamp(-1, 1)
    assert torch.allclose(network(low), expected, atol=1e-6)


def test_srresnet_without_batch_norm_is_edsr_style_and_a_wrong_norm_is_named():
    plain = SRResNet(channels=3, scale=4, base_width=16, blocks=2, norm="none").eval()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert plain(torch.zeros(1, 3, 6, 6)).shape == (1, 3, 24, 24)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in SRResNet(base_width=16, blocks=2).modules())
    with pytest.raises(UserError, match=r"model\.generator\.norm='instance'"):
        SRResNet(norm="instance")
