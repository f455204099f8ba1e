"""Image-to-image data (pix2pix, CycleGAN, SRGAN): on-disk layouts, jitter, splits, resume, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from conftest import compose_train
from omegaconf import OmegaConf
from PIL import Image

from gan_cli.data import StreamingBatches, build_batches, build_dataset
from gan_cli.data.batches import ResumableShardSampler
from gan_cli.data.digit_fonts import _glyph, font_paths, render_printed_digits
from gan_cli.data.digits import digits
from gan_cli.data.offline_pairs import digit_edges, photographs, printed_digits
from gan_cli.data.paired import paired_images
from gan_cli.data.pairs import ImagePairs, JointJitter
from gan_cli.data.super_resolution import sr_images
from gan_cli.data.unpaired import unpaired_images
from gan_cli.errors import UserError

# Helpers: tiny images in each real layout, seeded noise so that a wrong crop or flip shows.


def noise(width: int, height: int, seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def write_side_by_side(folder, count: int, size: int = 8, same_halves: bool = False, first_seed: int = 0):
    """count pix2pix files of 2*size x size: A | B, with B a copy of A when same_halves."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        a, b = noise(size, size, first_seed + 2 * i), noise(size, size, first_seed + 2 * i + 1)
        joined = Image.new("RGB", (2 * size, size))
        joined.paste(a, (0, 0))
        joined.paste(a if same_halves else b, (size, 0))
        joined.save(folder / f"{i:03d}.png")


def write_domain(folder, count: int, size: int = 16, first_seed: int = 0, suffix: str = "png"):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        noise(size, size, first_seed + i).save(folder / f"{i:03d}.{suffix}")


def round_trip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def draw(source, count: int):
    return [tuple(part.cpu() for part in source.next()) for _ in range(count)]


def same_batches(first, second) -> bool:
    return all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(first, second))


def paired_config(root, **values):
    return OmegaConf.create({
        "name": "paired", "batch_size": 2, "num_workers": 0, "in_memory": True,
        "shape": [3, 8, 8], "input_shape": [3, 8, 8],
        "dataset": {"_target_": "gan_cli.data.paired.paired_images", "root": str(root),
                    "resolution": 8, "load_size": 12, "flip": True},
        **values,
    })


# Paired (pix2pix).


def test_side_by_side_pairs_split_each_file_and_swap_with_direction(tmp_path):
    write_side_by_side(tmp_path / "val", 3)
    forward = paired_images(tmp_path, split="val", resolution=8)
    backward = paired_images(tmp_path, split="val", resolution=8, direction="BtoA")
    assert len(forward) == 3 and forward.task == "paired" and not forward.takes_sample_seed
    source, target = forward[1]
    assert source.shape == target.shape == (3, 8, 8) and source.dtype == torch.float32
    assert source.min() >= -1 and source.max() <= 1 and not torch.equal(source, target)
    expected_a = torch.as_tensor(np.array(noise(8, 8, 2))).permute(2, 0, 1).float() / 127.5 - 1
    assert torch.allclose(source, expected_a)  # the left half, pixel for pixel
    assert torch.equal(backward[1][0], target) and torch.equal(backward[1][1], source)
    assert torch.equal(forward.inputs()[1], source) and torch.equal(forward.targets()[2], forward[2][1])


def test_joint_jitter_gives_both_halves_the_same_crop_and_flip(tmp_path):
    write_side_by_side(tmp_path / "train", 4, same_halves=True)
    pairs = paired_images(tmp_path, resolution=8, load_size=12, flip=True)
    assert pairs.takes_sample_seed
    crops = set()
    for seed in range(12):
        source, target = pairs[2, seed]
        assert source.shape == (3, 8, 8) and torch.equal(source, target)
        assert torch.equal(pairs[2, seed][0], source)  # an item is a function of (index, seed)
        crops.add(source.numpy().tobytes())
    assert len(crops) > 3  # the seeds really draw different crops and flips


def test_jitter_draws_every_crop_position_and_both_flips():
    jitter = JointJitter(load_size=10, crop_size=8, flip=True)
    draws = {(d.top, d.left, d.flipped) for d in (jitter.draw(torch.Generator().manual_seed(s)) for s in range(200))}
    assert {(t, left) for t, left, _ in draws} == {(t, left) for t in range(3) for left in range(3)}
    assert {f for _, _, f in draws} == {True, False}
    assert not JointJitter(8, 8, flip=False).active


def test_two_folder_layout_matches_names_and_eval_splits_are_not_jittered(tmp_path):
    write_domain(tmp_path / "test" / "A", 3, size=12)
    write_domain(tmp_path / "test" / "B", 3, size=12, first_seed=10, suffix="jpg")
    pairs = paired_images(tmp_path, split="test", resolution=8, load_size=12, input_channels=1)
    assert pairs.layout == "two_folders" and len(pairs) == 3 and not pairs.takes_sample_seed
    source, target = pairs[0]
    assert source.shape == (1, 8, 8) and target.shape == (3, 8, 8)
    assert torch.equal(pairs[0, 1][0], pairs[0, 2][0])  # no randomness outside the train split
    backward = paired_images(tmp_path, split="test", resolution=8, direction="BtoA", channels=1, input_channels=3)
    assert backward[0][0].shape == (3, 8, 8) and backward[0][1].shape == (1, 8, 8)


def test_paired_errors_name_the_bad_value(tmp_path):
    write_side_by_side(tmp_path / "train", 2)
    Image.new("RGB", (15, 8)).save(tmp_path / "train" / "odd.png")
    with pytest.raises(UserError, match=r"odd\.png is 15x8"):
        paired_images(tmp_path)
    write_domain(tmp_path / "val" / "A", 3)
    write_domain(tmp_path / "val" / "B", 2)
    (tmp_path / "val" / "A" / "000.png").rename(tmp_path / "val" / "A" / "only_in_a.png")
    with pytest.raises(UserError, match=r"only in A: 002, only_in_a; only in B: 000"):
        paired_images(tmp_path, split="val")
    with pytest.raises(UserError, match=r"no test/ folder.*side by side.*two folders"):
        paired_images(tmp_path, split="test")
    with pytest.raises(UserError, match=r"nowhere.*does not exist"):
        paired_images(tmp_path / "nowhere", split="val")
    with pytest.raises(UserError, match=r"data.direction='AtoC'"):
        paired_images(tmp_path, split="val", direction="AtoC")
    with pytest.raises(UserError, match=r"data.split='valid'"):
        paired_images(tmp_path, split="valid")


# Unpaired (CycleGAN).


@pytest.fixture
def cyclegan_root(tmp_path):
    write_domain(tmp_path / "trainA", 5)
    write_domain(tmp_path / "trainB", 3, first_seed=100)
    write_domain(tmp_path / "testA", 2, first_seed=200)
    write_domain(tmp_path / "testB", 3, first_seed=300)
    return tmp_path


def test_unpaired_training_items_draw_their_target_by_sample_seed(cyclegan_root):
    domains = unpaired_images(cyclegan_root, resolution=16, load_size=16, flip=False)
    assert domains.task == "unpaired" and domains.takes_sample_seed and len(domains) == 5
    targets = [domains.targets()[j] for j in range(3)]
    chosen = set()
    for seed in range(20):
        source, target = domains[4, seed]
        assert torch.equal(source, domains.inputs()[4])  # no jitter here: the input is fixed
        chosen.add(next(j for j, image in enumerate(targets) if torch.equal(image, target)))
    assert chosen == {0, 1, 2}
    jittered = unpaired_images(cyclegan_root, resolution=8, load_size=12)
    assert jittered[0, 5][0].shape == (3, 8, 8) and torch.equal(jittered[0, 5][1], jittered[0, 5][1])


def test_unpaired_test_split_is_fixed_and_direction_swaps_domains(cyclegan_root):
    forward = unpaired_images(cyclegan_root, split="test", resolution=8)
    backward = unpaired_images(cyclegan_root, split="test", resolution=8, direction="BtoA")
    assert len(forward) == 2 and len(backward) == 3 and not forward.takes_sample_seed
    assert len(forward.targets()) == 3 and torch.equal(forward[1][1], forward.targets()[1])
    assert torch.equal(backward[2][1], backward.targets()[0])  # target i % len(targets)
    assert torch.equal(backward[0][0], forward[0][1]) and torch.equal(backward[0][1], forward[0][0])


def test_unpaired_errors_name_the_domain_folder(cyclegan_root):
    for image in (cyclegan_root / "trainB").iterdir():
        image.unlink()
    with pytest.raises(UserError, match=r"trainB is empty"):
        unpaired_images(cyclegan_root)
    (cyclegan_root / "testA").rename(cyclegan_root / "elsewhere")
    with pytest.raises(UserError, match=r"testA is missing"):
        unpaired_images(cyclegan_root, split="test")
    with pytest.raises(UserError, match=r"data.direction='both'"):
        unpaired_images(cyclegan_root, split="test", direction="both")


# Super-resolution (SRGAN).


@pytest.fixture
def high_resolution(tmp_path):
    for name, (width, height) in {"a": (40, 40), "b": (34, 37), "nested/c": (64, 40), "z": (50, 45)}.items():
        path = tmp_path / "hr" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        noise(width, height, len(name) + width).save(path)
    return tmp_path / "hr"


def test_super_resolution_crops_pair_with_their_bicubic_downscaling(high_resolution):
    train = sr_images(high_resolution, scale=4, crop=16, holdout=0.25)
    assert train.task == "super_resolution" and train.takes_sample_seed and len(train) == 3
    low, high = train[1, 7]
    assert low.shape == (3, 4, 4) and high.shape == (3, 16, 16)
    assert low.min() >= -1 and high.max() <= 1
    high_pixels = Image.fromarray(((high + 1) * 127.5).round().byte().permute(1, 2, 0).numpy())
    expected = high_pixels.resize((4, 4), Image.Resampling.BICUBIC)
    assert torch.allclose(((low + 1) * 127.5).round(), torch.as_tensor(np.array(expected)).permute(2, 0, 1).float())
    assert not torch.equal(train[1, 7][1], train[1, 8][1])  # the crop follows the sample seed


def test_super_resolution_holds_out_whole_images(high_resolution, tmp_path):
    train = sr_images(high_resolution, scale=4, crop=16, holdout=0.25)
    test = sr_images(high_resolution, split="test", scale=4, crop=16, holdout=0.25)
    assert len(test) == 1 and not test.takes_sample_seed and set(test.names).isdisjoint(train.names)
    low, high = test[0]  # z.png (last in order), 50x45, cut to 48x44
    assert high.shape == (3, 44, 48) and low.shape == (3, 11, 12)
    write_domain(tmp_path / "eval", 2, size=20)
    with_eval = sr_images(high_resolution, split="test", scale=4, crop=16, eval_root=tmp_path / "eval")
    assert len(with_eval) == 2 and len(sr_images(high_resolution, crop=16, eval_root=tmp_path / "eval")) == 4


def test_super_resolution_errors_name_the_bad_value(high_resolution):
    with pytest.raises(UserError, match=r"b\.png is 34x37, smaller than the crop data.crop=36"):
        sr_images(high_resolution, crop=36)
    with pytest.raises(UserError, match=r"data.crop=18 is not divisible by data.scale=4"):
        sr_images(high_resolution, crop=18)
    with pytest.raises(UserError, match=r"data.holdout=1.5"):
        sr_images(high_resolution, crop=16, holdout=1.5)


# Resumable randomness through the batch sources.


@pytest.mark.parametrize("num_workers", [0, 2])
def test_jittered_batches_resume_exactly(tmp_path, num_workers):
    write_side_by_side(tmp_path / "train", 9)
    config = paired_config(tmp_path, num_workers=num_workers)
    original = build_batches(config, "cpu", seed=3)
    assert isinstance(original, StreamingBatches)  # data.in_memory does not apply to image pairs
    draw(original, 2)
    state = round_trip(original.state_dict())
    expected = draw(original, 5)  # into the next epoch (4 batches of 2 per epoch)
    assert expected[0][1].dtype == torch.float32 and expected[0][1].shape == (2, 3, 8, 8)

    restored = build_batches(config, "cpu", seed=3)
    restored.load_state_dict(state)
    assert same_batches(draw(restored, 5), expected)
    assert not same_batches(draw(build_batches(config, "cpu", seed=3), 5), expected)


def test_each_epoch_draws_new_jitter_for_every_item(tmp_path):
    write_side_by_side(tmp_path / "train", 4)
    source = build_batches(paired_config(tmp_path, batch_size=4), "cpu", seed=0)  # one batch an epoch
    epochs = [{image.numpy().tobytes() for image in source.next()[0]} for _ in range(3)]
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2]


def test_sample_seeds_change_with_epoch_and_position():
    sampler = ResumableShardSampler(6, seed=0, sample_seeds=True)
    first = list(sampler)
    sampler.set_position(0, 2)
    assert list(sampler) == first[2:]
    sampler.set_position(1, 0)
    later = list(sampler)
    assert {index for index, _ in later} == set(range(6))
    assert len({seed for _, seed in first + later}) == 12


def test_build_batches_checks_the_target_and_input_shapes(tmp_path):
    write_side_by_side(tmp_path / "train", 4)
    with pytest.raises(UserError, match=r"data.input_shape=\[1, 8, 8\].*\[3, 8, 8\]"):
        build_batches(paired_config(tmp_path, input_shape=[1, 8, 8]), "cpu", seed=0)
    with pytest.raises(UserError, match=r"data.shape=\[3, 16, 16\]"):
        build_batches(paired_config(tmp_path, shape=[3, 16, 16]), "cpu", seed=0)


# The offline datasets and their configs.


def test_digit_edges_split_the_digits_and_outline_them():
    train, test = digit_edges(), digit_edges(split="test")
    assert isinstance(train, ImagePairs) and not train.takes_sample_seed
    assert (len(train), len(test)) == (1438, 359)
    everything = sorted(image.numpy().tobytes() for image in digits(32)[0])
    assert sorted(image.numpy().tobytes() for part in (train, test) for image in part.targets()) == everything
    edges, digit = train[0]
    assert edges.shape == digit.shape == (1, 32, 32) and set(edges.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(digit_edges()[5][0], train[5][0])  # deterministic
    assert train.input_labels.shape == (1438,) and set(train.input_labels.tolist()) == set(range(10))
    assert torch.equal(digit_edges(direction="BtoA")[3][0], train[3][1])


def test_printed_digits_render_every_digit_in_every_font():
    for path in font_paths():
        glyphs = [np.asarray(_glyph(str(path), digit, 0)) for digit in range(10)]
        assert all(glyph.max() > 0 for glyph in glyphs), path.name
        assert len({(glyph.shape, glyph.tobytes()) for glyph in glyphs}) == 10, path.name
    assert len(font_paths()) >= 12


def test_printed_digits_are_unpaired_with_handwritten_ones():
    train = printed_digits()
    assert train.task == "unpaired" and train.takes_sample_seed and len(train) == 2000
    assert len(train.targets()) == 1438 and train.input_labels[:12].tolist() == [*range(10), 0, 1]
    source, target = train[7, 123]
    assert source.shape == target.shape == (1, 32, 32) and source.max() == 1 and source.min() == -1
    means = torch.stack([train.inputs().images[train.input_labels == d].mean(0) for d in range(10)])
    assert torch.cdist(means.flatten(1), means.flatten(1)).add(torch.eye(10) * 1e3).min() > 1.0
    again = render_printed_digits.__wrapped__("train", 32, 2000)[0]  # uncached: rendering is deterministic
    assert torch.equal(again, train.inputs().images)
    test = printed_digits(split="test", count=50, direction="BtoA")
    assert len(test) == 359 and len(test.targets()) == 50 and not test.takes_sample_seed
    assert not torch.equal(test.targets()[0], train.inputs()[0])


def test_photographs_hold_out_chelsea_and_coffee():
    train, test = photographs(), photographs(split="test")
    assert train.names and set(train.names).isdisjoint(test.names)
    assert test.names == ["skimage.data.chelsea", "skimage.data.coffee"]
    low, high = train[0, 1]
    assert low.shape == (3, 24, 24) and high.shape == (3, 96, 96)
    assert [tuple(high.shape) for _, high in (test[0], test[1])] == [(3, 300, 448), (3, 400, 600)]
    train_sizes = {image.size[::-1] for image in train.images}
    assert not any(tuple(high.shape[1:]) in train_sizes for _, high in (test[0], test[1]))


@pytest.mark.parametrize("name", ["digits_edges", "paired", "digits_printed", "unpaired", "photos", "sr"])
def test_every_translation_config_builds_its_train_and_held_out_splits(name, tmp_path):
    write_side_by_side(tmp_path / "train", 2, size=16)
    write_side_by_side(tmp_path / "val", 1, size=16)
    for domain in ("trainA", "trainB", "testA", "testB"):
        write_domain(tmp_path / domain, 2)
    sizes = ["data.resolution=16", "data.batch_size=2", "data.num_workers=0"]
    if name in ("paired", "unpaired"):
        sizes.append("data.load_size=20")
    if name in ("photos", "sr"):
        sizes = ["data.crop=16", "data.lr_size=4", "data.batch_size=2", "data.num_workers=0", "data.crops_per_image=4"]
    root = [f"data.root={tmp_path / 'trainA'}"] if name == "sr" else [f"data.root={tmp_path}"]
    cfg = compose_train([f"data={name}", *(root if name in ("paired", "unpaired", "sr") else []), *sizes])
    assert cfg.data.task in ("paired", "unpaired", "super_resolution")
    source, target = build_batches(cfg.data, "cpu", seed=0).next()
    assert list(target.shape[1:]) == list(cfg.data.shape) and list(source.shape[1:]) == list(cfg.data.input_shape)
    held_out = build_dataset(OmegaConf.merge(cfg.data, {"split": cfg.data.eval_split}))
    assert len(held_out) > 0 and held_out[0][1].shape[0] == cfg.data.channels
