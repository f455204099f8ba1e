"""The dataset layer: config `data` -> a resumable batch source on the training device.

`data.dataset` is a `_target_` to one factory in this package (built by gan_cli/registry.py). A factory returns one of
  (images, labels) tensors     small sets held in memory (digits, mnist, fashion_mnist, cifar10)
  a torch Dataset              large sets streamed by DataLoader workers (celeba, folder)
  an ImagePairs Dataset        image-to-image data, items (input, target), always streamed
                               (digits_edges, paired, digits_printed, unpaired, photos, sr)
  a GaussianMixture2D          2D mode-collapse benchmarks (ring, grid)
and build_batches() picks the batch source from that type and `data.in_memory`.
"""

from __future__ import annotations

import os

import torch
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from gan_cli.data.batches import (
    NO_LABEL,
    BatchSource,
    InMemoryBatches,
    MixtureBatches,
    StreamingBatches,
    derived_seed,
)
from gan_cli.data.mixtures import GaussianMixture2D
from gan_cli.data.pairs import ImagePairs
from gan_cli.data.source import DataSource, as_source, build_dataset
from gan_cli.data.workers import ReportingWorkerErrors
from gan_cli.errors import UserError

__all__ = [
    "NO_LABEL",
    "BatchSource",
    "DataSource",
    "GaussianMixture2D",
    "ImagePairs",
    "InMemoryBatches",
    "MixtureBatches",
    "StreamingBatches",
    "as_source",
    "build_batches",
    "build_dataset",
    "build_mixture",
    "real_samples",
]

# Batch size for loading a streamed Dataset into memory once, or for reading real samples.
_LOADING_BATCH_SIZE = 256


def build_batches(data, device, seed: int, rank: int = 0, world_size: int = 1) -> BatchSource:
    """The batch source for `data` (a DataSource, or a data config) on `device`; this rank's share of
    each global batch."""
    source = as_source(data)
    data_cfg = source.config
    batch_size = _checked_batch_size(data_cfg)
    data = source.dataset
    device = torch.device(device)
    if isinstance(data, GaussianMixture2D):
        _check_shape(data_cfg, (2,))
        return MixtureBatches(data, batch_size, device, seed, rank, world_size)

    num_workers = loader_workers(data_cfg)
    if isinstance(data, ImagePairs):
        return _image_pair_batches(data, data_cfg, batch_size, device, seed, rank, world_size, num_workers)
    if isinstance(data, Dataset):
        in_memory = bool(data_cfg.get("in_memory", False))
        _check_enough_samples(data_cfg, len(data), batch_size, world_size)
        if in_memory:
            images, labels = _load_all(data, range(len(data)), num_workers)
        else:
            _check_shape(data_cfg, tuple(data[0][0].shape))
            return StreamingBatches(data, batch_size, device, seed, rank, world_size, num_workers)
    else:
        images, labels = _as_tensor_pair(data, data_cfg)
        in_memory = bool(data_cfg.get("in_memory", True))

    _check_shape(data_cfg, tuple(images.shape[1:]))
    _check_labels(data_cfg, labels)
    _check_enough_samples(data_cfg, len(images), batch_size, world_size)
    if in_memory:
        return InMemoryBatches(images, labels, batch_size, device, seed, rank, world_size)
    return StreamingBatches(
        TensorDataset(images, labels), batch_size, device, seed, rank, world_size, num_workers
    )


def _image_pair_batches(data, data_cfg, batch_size, device, seed, rank, world_size, num_workers):
    """Image pairs are always streamed (data.in_memory does not apply): their items can be random
    (jitter, crops, an unpaired partner), drawn afresh from each sample's seed."""
    _check_enough_samples(data_cfg, len(data), batch_size, world_size)
    source, target = data[0]
    _check_shape(data_cfg, tuple(target.shape))
    _check_shape(data_cfg, tuple(source.shape), key="input_shape")
    return StreamingBatches(data, batch_size, device, seed, rank, world_size, num_workers)


def build_mixture(data) -> GaussianMixture2D:
    """The 2D mixture of a ring/grid config (or its DataSource), for counting modes and plotting its centres."""
    source = as_source(data)
    data_cfg, data = source.config, source.dataset
    if not isinstance(data, GaussianMixture2D):
        raise UserError(
            f"data.name={data_cfg.get('name')!r} is not a 2D Gaussian mixture, but this needs one "
            "(mode counting works on 2D points): use data=ring or data=grid."
        )
    return data


def real_samples(data, n: int, seed: int) -> torch.Tensor:
    """n real samples on the CPU, chosen by seed: images (n, C, R, R) in [-1, 1] or points (n, 2), of
    `data` (a DataSource, or a data config).

    For plotting real data beside fakes and for evaluation; independent of the training order.
    """
    source = as_source(data)
    data_cfg, data = source.config, source.dataset
    generator = torch.Generator().manual_seed(derived_seed("real_samples", seed))
    if isinstance(data, GaussianMixture2D):
        return data.sample(n, generator=generator)
    if not isinstance(data, Dataset):
        data = _as_tensor_pair(data, data_cfg)[0]
    num_samples = len(data)
    if n > num_samples:
        raise UserError(
            f"{n} real samples were requested but data.name={data_cfg.get('name')!r} holds only "
            f"{num_samples}: ask for at most {num_samples} (or use a larger dataset)."
        )
    chosen = torch.randperm(num_samples, generator=generator)[:n]
    if isinstance(data, Dataset):
        num_workers = loader_workers(data_cfg)
        return _load_all(data, chosen.tolist(), num_workers)[0]
    return data.index_select(0, chosen)


def _checked_batch_size(data_cfg) -> int:
    batch_size = data_cfg.get("batch_size")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise UserError(
            f"data.batch_size={batch_size!r} is not valid: it must be a positive integer (the "
            "batch per process; the global batch is data.batch_size times the number of GPUs)."
        )
    return batch_size


def _as_tensor_pair(data, data_cfg) -> tuple[torch.Tensor, torch.Tensor]:
    if (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(part, torch.Tensor) for part in data)
        and len(data[0]) == len(data[1])
    ):
        return data[0], data[1]
    target = data_cfg.get("dataset", {}).get("_target_")
    raise UserError(
        f"data.dataset._target_={target} returned a {type(data).__name__}, which is not a "
        "dataset: a factory must return (images, labels) tensors, a torch Dataset or a "
        "GaussianMixture2D; point _target_ at one of the factories in gan_cli.data."
    )


def _check_shape(data_cfg, sample_shape: tuple[int, ...], key: str = "shape") -> None:
    """data.shape sizes the networks; it must describe what the dataset really produces.

    For image pairs data.shape is the target's shape and data.input_shape the input's.
    """
    configured = data_cfg.get(key)
    if configured is not None and tuple(int(size) for size in configured) != tuple(sample_shape):
        what, sizes = ("samples", "data.channels and data.resolution")
        if key == "input_shape":
            what, sizes = ("inputs", "data.input_channels and data.resolution (data.lr_size for super-resolution)")
        raise UserError(
            f"data.{key}={list(configured)} does not match the {what} the dataset produces, "
            f"{list(sample_shape)}: make data.{key}, {sizes} agree with "
            "the arguments under data.dataset (its resolution and channels)."
        )


def _check_labels(data_cfg, labels: torch.Tensor) -> None:
    num_classes = data_cfg.get("num_classes")
    if num_classes is not None and len(labels) and int(labels.max()) >= int(num_classes):
        raise UserError(
            f"data.num_classes={num_classes} but the dataset has label {int(labels.max())}: set "
            f"data.num_classes to at least {int(labels.max()) + 1}, or null for an unlabeled set."
        )


def _check_enough_samples(data_cfg, num_samples: int, batch_size: int, world_size: int) -> None:
    if num_samples < batch_size * world_size:
        raise UserError(
            f"data.name={data_cfg.get('name')!r} has {num_samples} samples, fewer than one global "
            f"batch of data.batch_size={batch_size} x {world_size} process(es) = "
            f"{batch_size * world_size}: lower data.batch_size or use more data."
        )


def loader_workers(data_cfg) -> int:
    """data.num_workers, checked, and at most the CPUs this process may use (more only contend)."""
    value = data_cfg.get("num_workers", 2)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UserError(f"data.num_workers={value!r} must be a whole number of DataLoader worker processes "
                        f"(0 reads in the main process).")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(value, cpus)


def _load_all(dataset: Dataset, indices, num_workers: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode the given items of a Dataset once into (images, labels) tensors, in index order."""
    subset = ReportingWorkerErrors(Subset(dataset, list(indices)))  # a worker's UserError comes out as itself
    loader = DataLoader(subset, batch_size=_LOADING_BATCH_SIZE, num_workers=num_workers)
    images, labels = [], []
    for image_batch, label_batch in loader:
        images.append(image_batch)
        labels.append(torch.as_tensor(label_batch, dtype=torch.long))
    return torch.cat(images), torch.cat(labels)
