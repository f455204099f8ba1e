"""The dataset layer: loaders on fixture files, batch sources, exact resume, errors."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from fixtures import write_celeba, write_cifar10, write_image_folder, write_mnist
from omegaconf import OmegaConf
from PIL import Image

from gan_cli.data import (
    InMemoryBatches,
    MixtureBatches,
    StreamingBatches,
    build_batches,
    build_mixture,
    real_samples,
)
from gan_cli.data.digits import digits
from gan_cli.data.folder import folder
from gan_cli.data.mixtures import grid, ring
from gan_cli.data.torchvision_sets import celeba, cifar10, fashion_mnist, mnist
from gan_cli.data.transforms import resize_crop_to_signed
from gan_cli.errors import UserError

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


# Helpers.

def indexed_images(num_samples: int, shape=(1, 4, 4)) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose every pixel is the sample's index, so a batch tells which samples it holds."""
    images = torch.arange(num_samples, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, *shape)
    return images.contiguous(), torch.arange(num_samples) % 10


def sample_ids(batch_images: torch.Tensor) -> list[int]:
    return batch_images.flatten(1)[:, 0].long().tolist()


def round_trip(state: dict) -> dict:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def draw(source, count: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [tuple(part.cpu() for part in source.next()) for _ in range(count)]


def assert_same_batches(first, second) -> None:
    assert len(first) == len(second)
    for (x1, y1), (x2, y2) in zip(first, second):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


def assert_exact_resume(make_source, consumed: int, following: int) -> None:
    """A source restored from a saved state draws what the original would have drawn next."""
    original = make_source()
    draw(original, consumed)
    state = round_trip(original.state_dict())
    expected = draw(original, following)

    restored = make_source()
    restored.load_state_dict(state)
    assert_same_batches(draw(restored, following), expected)

    # Without the state a fresh source starts elsewhere, so the check above can fail.
    fresh_first = make_source().next()[0].cpu()
    assert not torch.equal(fresh_first, expected[0][0])


def data_config(**values):
    return OmegaConf.create({"batch_size": 4, "num_workers": 0, **values})


# Image sets on fixture files.

def test_digits_are_the_scikit_learn_digits_in_signed_range():
    images, labels = digits(resolution=32)
    assert images.shape == (1797, 1, 32, 32) and images.dtype == torch.float32
    assert labels.dtype == torch.long and sorted(labels.unique().tolist()) == list(range(10))
    assert images.min() == -1.0 and images.max() <= 1.0 and images.max() > 0.99

    from sklearn.datasets import load_digits

    native, _ = digits(resolution=8)
    expected = torch.as_tensor(load_digits().images, dtype=torch.float32) / 8.0 - 1.0
    assert torch.allclose(native[:, 0], expected)


@pytest.mark.parametrize("fashion", [False, True])
def test_mnist_family_loads_fixture(tmp_path, fashion):
    written_images, written_labels = write_mnist(tmp_path, n=40, fashion=fashion)
    load = fashion_mnist if fashion else mnist
    images, labels = load(str(tmp_path), resolution=32)
    assert images.shape == (40, 1, 32, 32) and images.dtype == torch.float32
    assert -1.0 <= images.min() and images.max() <= 1.0
    assert labels.tolist() == written_labels.tolist()

    native, _ = load(str(tmp_path), resolution=28)
    expected = torch.from_numpy(written_images).float() / 127.5 - 1.0
    assert torch.allclose(native[:, 0], expected)


def test_cifar10_loads_fixture(tmp_path):
    written_images, written_labels = write_cifar10(tmp_path, n_per_batch=6)
    images, labels = cifar10(str(tmp_path), resolution=32)
    assert images.shape == (30, 3, 32, 32)
    assert labels.tolist() == written_labels.tolist()
    expected = torch.from_numpy(written_images).permute(0, 3, 1, 2).float() / 127.5 - 1.0
    assert torch.allclose(images, expected)
    assert cifar10(str(tmp_path), resolution=16)[0].shape == (30, 3, 16, 16)


def test_celeba_streams_resized_center_crops_of_the_train_split(tmp_path):
    paths = write_celeba(tmp_path, n=12)
    faces = celeba(str(tmp_path), resolution=64)
    assert len(faces) == 8
    image, label = faces[3]
    assert image.shape == (3, 64, 64) and label == -1
    assert -1.0 <= image.min() and image.max() <= 1.0
    expected = resize_crop_to_signed(64, 3)(Image.open(paths[3]).convert("RGB"))
    assert torch.equal(image, expected)
    assert len(celeba(str(tmp_path), split="all")) == 12
    assert len(celeba(str(tmp_path), split="test")) == 2


def test_folder_finds_nested_images_of_any_suffix_case(tmp_path):
    paths = write_image_folder(tmp_path, n=10, size=(40, 30))
    images = folder(str(tmp_path), resolution=16, channels=3)
    assert len(images) == len(paths) == 10
    assert sorted(images.paths) == paths
    for index in range(len(images)):
        image, label = images[index]
        assert image.shape == (3, 16, 16) and label == -1
        assert -1.0 <= image.min() and image.max() <= 1.0
    assert folder(str(tmp_path), resolution=8, channels=1)[0][0].shape == (1, 8, 8)


# Missing data.

@pytest.mark.parametrize(
    "load, expected_path",
    [
        (mnist, "MNIST/raw/train-images-idx3-ubyte"),
        (fashion_mnist, "FashionMNIST/raw/t10k-labels-idx1-ubyte"),
        (cifar10, "cifar-10-batches-py/data_batch_1"),
        (celeba, "celeba/img_align_celeba"),
        (celeba, "celeba/list_eval_partition.txt"),
    ],
)
def test_missing_dataset_names_the_expected_files(tmp_path, load, expected_path):
    with pytest.raises(UserError) as error:
        load(str(tmp_path))
    message = str(error.value)
    assert str(tmp_path / expected_path) in message
    assert f"data.root={tmp_path}" in message and "download" in message


def test_missing_mnist_half_names_only_the_missing_files(tmp_path):
    write_mnist(tmp_path, n=8)
    (tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(UserError) as error:
        mnist(str(tmp_path))
    assert "t10k-images-idx3-ubyte" in str(error.value)
    assert "train-images-idx3-ubyte" not in str(error.value)


def test_folder_without_images_or_missing_is_a_user_error(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("no images here")
    with pytest.raises(UserError, match="holds no images"):
        folder(str(tmp_path / "empty"))
    with pytest.raises(UserError) as error:
        folder(str(tmp_path / "nowhere"))
    assert str(tmp_path / "nowhere") in str(error.value)


# 2D mixtures.

def nearest_modes(points: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    return torch.cdist(points, centers).argmin(dim=1)


@pytest.mark.parametrize(
    "mixture, num_modes, std",
    [(ring(), 8, 0.01), (grid(), 25, 0.05)],
    ids=["ring", "grid"],
)
def test_mixture_samples_cover_every_mode_with_its_std(mixture, num_modes, std):
    generator = torch.Generator().manual_seed(0)
    points = mixture.sample(50_000, generator=generator)
    assert points.shape == (50_000, 2) and mixture.centers.shape == (num_modes, 2)
    modes = nearest_modes(points, mixture.centers)
    counts = torch.bincount(modes, minlength=num_modes).float()
    assert (counts > 0).all()
    assert counts.min() > 0.85 * counts.mean()  # uniform over the modes
    residuals = points - mixture.centers[modes]
    assert residuals.std(dim=0).sub(std).abs().max() < 0.03 * std
    assert mixture.std == std


def test_ring_has_eight_equally_spaced_modes_on_the_unit_circle():
    centers = ring().centers
    assert torch.allclose(centers.norm(dim=1), torch.ones(8))
    angles = torch.atan2(centers[:, 1], centers[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles.sort().values, torch.arange(8) * (math.pi / 4), atol=1e-5)


def test_grid_has_25_modes_at_even_coordinates():
    centers = {tuple(point) for point in grid().centers.round().long().tolist()}
    assert centers == {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}


# Batch sources.

@pytest.mark.parametrize("device", DEVICES)
def test_in_memory_batches_cover_each_sample_once_per_epoch(device):
    images, labels = indexed_images(50)
    source = InMemoryBatches(images, labels, batch_size=8, device=device, seed=0)
    batches = [source.next() for _ in range(source.batches_per_epoch)]
    x, y = batches[0]
    assert x.shape == (8, 1, 4, 4) and x.dtype == torch.float32 and x.device.type == device
    assert y.shape == (8,) and y.dtype == torch.long and y.device.type == device
    assert torch.equal(y, x[:, 0, 0, 0].long() % 10)  # labels travel with their images
    seen = [i for x, _ in batches for i in sample_ids(x)]
    assert len(seen) == len(set(seen)) == 48  # 6 full batches; the last 2 samples wait
    assert source.epoch == 0
    next_epoch = [i for x, _ in draw(source, source.batches_per_epoch) for i in sample_ids(x)]
    assert source.epoch == 1
    assert next_epoch != seen  # every epoch is reshuffled


@pytest.mark.parametrize("streaming", [False, True], ids=["in_memory", "streaming"])
def test_two_ranks_draw_disjoint_samples_in_an_epoch(streaming):
    images, labels = indexed_images(50)

    def make(rank):
        if streaming:
            dataset = torch.utils.data.TensorDataset(images, labels)
            return StreamingBatches(dataset, 4, "cpu", seed=3, rank=rank, world_size=2,
                                    num_workers=0)
        return InMemoryBatches(images, labels, 4, "cpu", seed=3, rank=rank, world_size=2)

    per_rank = [[i for x, _ in draw(make(rank), 6) for i in sample_ids(x)] for rank in (0, 1)]
    assert len(set(per_rank[0])) == len(set(per_rank[1])) == 24
    assert not set(per_rank[0]) & set(per_rank[1])


def test_streaming_and_in_memory_draw_the_same_order():
    images, labels = indexed_images(30)
    in_memory = InMemoryBatches(images, labels, 4, "cpu", seed=5)
    dataset = torch.utils.data.TensorDataset(images, labels)
    streaming = StreamingBatches(dataset, 4, "cpu", seed=5, num_workers=0)
    assert_same_batches(draw(in_memory, 10), draw(streaming, 10))


def test_batches_ignore_the_global_torch_rng():
    images, labels = indexed_images(30)
    torch.manual_seed(0)
    first = draw(InMemoryBatches(images, labels, 4, "cpu", seed=1), 3)
    torch.manual_seed(1)
    second = draw(InMemoryBatches(images, labels, 4, "cpu", seed=1), 3)
    assert_same_batches(first, second)


@pytest.mark.parametrize("device", DEVICES)
def test_in_memory_resume_is_exact_across_epochs(device):
    images, labels = indexed_images(30)  # 7 batches of 4 per epoch
    assert_exact_resume(
        lambda: InMemoryBatches(images, labels, 4, device, seed=11), consumed=5, following=6
    )


@pytest.mark.parametrize("num_workers", [0, 2])
def test_streaming_resume_is_exact_across_epochs(num_workers):
    images, labels = indexed_images(30)
    dataset = torch.utils.data.TensorDataset(images, labels)
    assert_exact_resume(
        lambda: StreamingBatches(dataset, 4, "cpu", seed=11, num_workers=num_workers),
        consumed=5,
        following=6,
    )


def test_streaming_resume_of_a_second_rank_on_image_files(tmp_path):
    write_image_folder(tmp_path, n=10)
    images = folder(str(tmp_path), resolution=8)
    assert_exact_resume(
        lambda: StreamingBatches(images, 2, "cpu", seed=0, rank=1, world_size=2, num_workers=0),
        consumed=1,
        following=3,
    )


@pytest.mark.parametrize("device", DEVICES)
def test_mixture_batches_resume_exactly_and_differ_per_rank(device):
    mixture = ring()
    source = MixtureBatches(mixture, 16, device, seed=0, rank=0, world_size=2)
    points, labels = source.next()
    assert points.shape == (16, 2) and points.dtype == torch.float32
    assert points.device.type == device and labels.tolist() == [-1] * 16
    other_rank = MixtureBatches(mixture, 16, device, seed=0, rank=1, world_size=2).next()[0]
    assert not torch.equal(points, other_rank)
    assert_exact_resume(lambda: MixtureBatches(mixture, 16, device, seed=0), 3, 4)


def test_state_of_another_source_kind_is_refused():
    images, labels = indexed_images(30)
    source = InMemoryBatches(images, labels, 4, "cpu", seed=0)
    with pytest.raises(UserError, match="in_memory"):
        source.load_state_dict(MixtureBatches(ring(), 4, "cpu", seed=0).state_dict())


# The builder.

DIGITS = {"name": "digits", "shape": [1, 32, 32], "num_classes": 10, "in_memory": True,
          "dataset": {"_target_": "gan_cli.data.digits.digits", "resolution": 32}}
RING = {"name": "ring", "shape": [2], "in_memory": True,
        "dataset": {"_target_": "gan_cli.data.mixtures.ring", "num_modes": 8, "std": 0.01}}


def test_build_batches_for_digits_and_ring():
    source = build_batches(data_config(**DIGITS), "cpu", seed=0)
    assert isinstance(source, InMemoryBatches) and source.num_samples == 1797
    x, y = source.next()
    assert x.shape == (4, 1, 32, 32) and y.shape == (4,)
    assert "1797 samples" in source.describe()

    points, _ = build_batches(data_config(**RING), "cpu", seed=0).next()
    assert points.shape == (4, 2)
    assert build_mixture(data_config(**RING)).num_modes == 8


def test_build_batches_streams_or_preloads_as_configured(tmp_path):
    write_mnist(tmp_path, n=24)
    mnist_config = {"name": "mnist", "shape": [1, 32, 32], "in_memory": False,
                    "dataset": {"_target_": "gan_cli.data.torchvision_sets.mnist",
                                "root": str(tmp_path), "resolution": 32}}
    assert isinstance(build_batches(data_config(**mnist_config), "cpu", 0), StreamingBatches)

    write_image_folder(tmp_path / "photos", n=10)
    folder_config = {"name": "folder", "shape": [3, 16, 16], "in_memory": True,
                     "dataset": {"_target_": "gan_cli.data.folder.folder",
                                 "root": str(tmp_path / "photos"), "resolution": 16}}
    preloaded = build_batches(data_config(**folder_config), "cpu", 0)
    assert isinstance(preloaded, InMemoryBatches) and preloaded.next()[0].shape == (4, 3, 16, 16)


def test_build_batches_passes_missing_data_errors_through_hydra(tmp_path):
    config = {"name": "celeba", "shape": [3, 64, 64], "in_memory": False,
              "dataset": {"_target_": "gan_cli.data.torchvision_sets.celeba",
                          "root": str(tmp_path), "resolution": 64}}
    with pytest.raises(UserError) as error:
        build_batches(data_config(**config), "cpu", 0)
    assert str(tmp_path / "celeba" / "img_align_celeba") in str(error.value)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, "64", True, None])
def test_invalid_batch_size_is_a_user_error(batch_size):
    config = data_config(**DIGITS)
    config.batch_size = batch_size
    with pytest.raises(UserError, match=f"data.batch_size={batch_size!r}"):
        build_batches(config, "cpu", 0)


def test_fewer_samples_than_a_global_batch_is_a_user_error(tmp_path):
    write_image_folder(tmp_path, n=10)
    config = data_config(name="folder", batch_size=8, dataset={
        "_target_": "gan_cli.data.folder.folder", "root": str(tmp_path), "resolution": 8})
    build_batches(config, "cpu", 0)  # one global batch of 8 fits in 10
    with pytest.raises(UserError, match="has 10 samples.* = 16"):
        build_batches(config, "cpu", 0, rank=0, world_size=2)


def test_shape_that_disagrees_with_the_dataset_is_a_user_error():
    config = data_config(**DIGITS)
    config.shape = [1, 64, 64]
    with pytest.raises(UserError, match=r"data.shape=\[1, 64, 64\].*\[1, 32, 32\]"):
        build_batches(config, "cpu", 0)


def test_real_samples_are_chosen_by_seed(tmp_path):
    first = real_samples(data_config(**DIGITS), 16, seed=0)
    assert first.shape == (16, 1, 32, 32) and first.device.type == "cpu"
    assert torch.equal(first, real_samples(data_config(**DIGITS), 16, seed=0))
    assert not torch.equal(first, real_samples(data_config(**DIGITS), 16, seed=1))
    assert real_samples(data_config(**RING), 100, seed=0).shape == (100, 2)
    with pytest.raises(UserError, match="1797"):
        real_samples(data_config(**DIGITS), 2000, seed=0)

    write_celeba(tmp_path, n=12)
    faces = real_samples(data_config(dataset={"_target_": "gan_cli.data.torchvision_sets.celeba",
                                              "root": str(tmp_path), "resolution": 32}), 5, 0)
    assert faces.shape == (5, 3, 32, 32) and faces.min() >= -1 and faces.max() <= 1


def test_build_mixture_refuses_image_sets():
    with pytest.raises(UserError, match="data=ring or data=grid"):
        build_mixture(data_config(**DIGITS))


def test_fixture_pickles_read_like_the_real_cifar_files(tmp_path):
    import pickle

    write_cifar10(tmp_path, n_per_batch=3)
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_1", "rb") as file:
        batch = pickle.load(file, encoding="bytes")
    assert isinstance(batch[b"data"], np.ndarray) and batch[b"data"].shape == (3, 3072)
    assert batch[b"data"].dtype == np.uint8 and len(batch[b"labels"]) == 3


def test_required_root_left_unset_is_a_user_error():
    config = data_config(name="folder", root="???", dataset={
        "_target_": "gan_cli.data.folder.folder", "root": "${..root}", "resolution": 8})
    with pytest.raises(UserError, match="data.root=/path/to/images"):
        build_batches(config, "cpu", 0)
