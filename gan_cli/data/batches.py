"""Batch sources: where the training loop draws real data from, resumable to the exact batch.

Every source has `next() -> (x, y)` on the training device (x float (B, *shape), y long (B,), -1
where there are no labels, or for image-to-image data y float (B, *target_shape), the target
images) and `state_dict()` / `load_state_dict()`, whose state holds only ints, strings and
tensors, so it round-trips through torch.save and torch.load(weights_only=True).

Order depends only on (seed, epoch, rank, world_size), never on the global torch RNG, so the
training loop's noise draws and the data order cannot disturb each other, and a resumed run sees
the same batches as an uninterrupted one. A dataset whose items are random (takes_sample_seed:
jitter, random crops) is indexed by (index, sample_seed) keys, the seed derived from (seed, epoch,
rank, position in the epoch), so its random draws resume exactly too. Under DDP every rank draws
its own shard or stream of batch_size samples; the global batch is batch_size * world_size.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from gan_cli.data.mixtures import GaussianMixture2D
from gan_cli.data.workers import ReportingWorkerErrors
from gan_cli.errors import UserError
from gan_cli.seeds import derived_seed

NO_LABEL = -1


class BatchSource(Protocol):
    sample_shape: tuple[int, ...]

    def next(self) -> tuple[torch.Tensor, torch.Tensor]: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...

    def describe(self) -> str: ...


def rank_shard(num_samples: int, seed: int, epoch: int, rank: int, world_size: int) -> torch.Tensor:
    """This rank's sample indices for one epoch, on the CPU.

    One permutation per epoch, identical on every rank; rank r takes positions r, r+W, r+2W, ...
    truncated so that all ranks get the same count (DistributedSampler with drop_last).
    """
    generator = torch.Generator().manual_seed(derived_seed("epoch", seed, epoch))
    permutation = torch.randperm(num_samples, generator=generator)
    per_rank = num_samples // world_size
    return permutation[rank : per_rank * world_size : world_size]


def _check_rank(batch_size: int, rank: int, world_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside world_size {world_size}")


def _check_kind(state: dict, kind: str) -> None:
    found = state.get("kind") if isinstance(state, dict) else None
    if found != kind:
        raise UserError(
            f"The checkpoint's data state is for a {found!r} batch source, but this config builds "
            f"a {kind!r} one: resume with the data config the run was started with (data=... and "
            "data.in_memory), or start a new run without resume=."
        )


class InMemoryBatches:
    """The whole dataset as tensors on the device; a batch is one index_select, no workers.

    An epoch is a seeded permutation sharded across ranks; the last partial batch is dropped.
    """

    kind = "in_memory"

    def __init__(self, images, labels, batch_size, device, seed, rank=0, world_size=1):
        _check_rank(batch_size, rank, world_size)
        if labels is None:
            labels = torch.full((len(images),), NO_LABEL, dtype=torch.long)
        assert len(images) == len(labels), f"{len(images)} images but {len(labels)} labels"
        self.device = torch.device(device)
        self.images = images.to(self.device, torch.float32)
        self.labels = labels.to(self.device, torch.long)
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.sample_shape = tuple(self.images.shape[1:])
        self.batches_per_epoch = (len(images) // world_size) // batch_size
        if self.batches_per_epoch == 0:
            raise ValueError(
                f"{len(images)} samples make no batch of {batch_size} on each of {world_size} ranks"
            )
        self.epoch = 0
        self.batch_in_epoch = 0
        self._shard = None  # this epoch's indices on the device, built on first use

    @property
    def num_samples(self) -> int:
        return len(self.images)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.batch_in_epoch >= self.batches_per_epoch:
            self.epoch, self.batch_in_epoch, self._shard = self.epoch + 1, 0, None
        if self._shard is None:
            shard = rank_shard(self.num_samples, self.seed, self.epoch, self.rank, self.world_size)
            self._shard = shard.to(self.device)
        start = self.batch_in_epoch * self.batch_size
        index = self._shard[start : start + self.batch_size]
        self.batch_in_epoch += 1
        return self.images.index_select(0, index), self.labels.index_select(0, index)

    def state_dict(self) -> dict:
        return {"kind": self.kind, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch}

    def load_state_dict(self, state: dict) -> None:
        _check_kind(state, self.kind)
        self.epoch = int(state["epoch"])
        # A larger batch size on resume leaves fewer batches per epoch: start the next epoch.
        self.batch_in_epoch = min(int(state["batch_in_epoch"]), self.batches_per_epoch)
        self._shard = None

    def describe(self) -> str:
        return (
            f"{self.num_samples} samples of shape {list(self.sample_shape)} held in memory on "
            f"{self.device}, {self.batches_per_epoch} batches of {self.batch_size} per epoch "
            f"on each of {self.world_size} rank(s)"
        )


def sample_seed(seed: int, epoch: int, rank: int, position: int) -> int:
    """The seed of the random draws (jitter, crops) of the sample at `position` of a rank's epoch."""
    return derived_seed("sample", seed, epoch, rank, position)


class ResumableShardSampler(Sampler):
    """Sample indices of one rank for one epoch, starting at any position inside the epoch.

    Starting at an offset lets a resumed run skip the samples already consumed without loading
    them. Call set_position() before each iter(DataLoader). With sample_seeds it yields
    (index, sample_seed) keys instead, for datasets whose items are random.
    """

    def __init__(
        self, num_samples: int, seed: int, rank: int = 0, world_size: int = 1, sample_seeds: bool = False
    ):
        self.num_samples, self.seed, self.rank, self.world_size = num_samples, seed, rank, world_size
        self.sample_seeds = sample_seeds
        self.epoch = 0
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        self.epoch, self.start = epoch, start

    def __iter__(self):
        shard = rank_shard(self.num_samples, self.seed, self.epoch, self.rank, self.world_size)
        indices = shard[self.start :].tolist()
        if not self.sample_seeds:
            return iter(indices)
        epoch, start = self.epoch, self.start
        return (
            (index, sample_seed(self.seed, epoch, self.rank, start + offset))
            for offset, index in enumerate(indices)
        )

    def __len__(self) -> int:
        return max(0, self.num_samples // self.world_size - self.start)


class StreamingBatches:
    """A DataLoader with workers over a Dataset too large (or too slow to decode) to preload.

    A dataset with `takes_sample_seed` gets (index, sample_seed) keys, so its random items are
    the same after a resume. The second part of a batch stays float when it is (target images)
    and becomes long when it is integer labels.
    """

    kind = "streaming"

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        device,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 2,
        pin_memory: bool | None = None,  # None: pin when the device is a GPU
    ):
        _check_rank(batch_size, rank, world_size)
        self.device = torch.device(device)
        self.dataset = dataset
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.batches_per_epoch = (len(dataset) // world_size) // batch_size
        if self.batches_per_epoch == 0:
            raise ValueError(
                f"{len(dataset)} samples make no batch of {batch_size} on each of {world_size} ranks"
            )
        first = dataset[0]
        first, second = first[0], (first[1] if len(first) > 1 else None)
        self.sample_shape = tuple(first.shape)
        # Image-to-image data: the second part of an item is the target image.
        is_image = isinstance(second, torch.Tensor) and second.is_floating_point()
        self.target_shape = tuple(second.shape) if is_image else None
        if pin_memory is None:
            pin_memory = self.device.type == "cuda"
        takes_sample_seed = bool(getattr(dataset, "takes_sample_seed", False))
        self.sampler = ResumableShardSampler(len(dataset), seed, rank, world_size, takes_sample_seed)
        self.loader = DataLoader(
            ReportingWorkerErrors(dataset),  # a UserError in a worker reaches the user as itself
            batch_size=batch_size,
            sampler=self.sampler,
            num_workers=num_workers,
            pin_memory=pin_memory,
            drop_last=True,
            # Workers survive epoch boundaries instead of being forked again every epoch.
            persistent_workers=num_workers > 0,
            # Each new iterator draws its workers' base seed from this generator: from the global RNG
            # it would shift the training's own draws (dropout) whenever an epoch or a resume starts one.
            generator=torch.Generator().manual_seed(derived_seed("loader", seed, rank)),
        )
        self.epoch = 0
        self.batch_in_epoch = 0
        self._batches = None  # the running DataLoader iterator, restarted per epoch and on load

    @property
    def num_samples(self) -> int:
        return len(self.dataset)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.batch_in_epoch >= self.batches_per_epoch:
            self.epoch, self.batch_in_epoch, self._batches = self.epoch + 1, 0, None
        if self._batches is None:
            self.sampler.set_position(self.epoch, self.batch_in_epoch * self.batch_size)
            self._batches = iter(self.loader)
        images, labels = next(self._batches)
        self.batch_in_epoch += 1
        images = images.to(self.device, non_blocking=True)
        labels = torch.as_tensor(labels)
        # Target images of image-to-image data stay float; class labels become long.
        dtype = labels.dtype if labels.is_floating_point() else torch.long
        return images, labels.to(self.device, dtype, non_blocking=True)

    def state_dict(self) -> dict:
        return {"kind": self.kind, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch}

    def load_state_dict(self, state: dict) -> None:
        _check_kind(state, self.kind)
        self.epoch = int(state["epoch"])
        self.batch_in_epoch = min(int(state["batch_in_epoch"]), self.batches_per_epoch)
        self._batches = None

    def describe(self) -> str:
        targets = f" (targets {list(self.target_shape)})" if self.target_shape else ""
        return (
            f"{self.num_samples} samples of shape {list(self.sample_shape)}{targets} streamed by "
            f"{self.loader.num_workers} worker(s) to {self.device}, {self.batches_per_epoch} "
            f"batches of {self.batch_size} per epoch on each of {self.world_size} rank(s)"
        )


class MixtureBatches:
    """Fresh samples from a 2D mixture every step; each rank has its own generator."""

    kind = "mixture"

    def __init__(self, mixture: GaussianMixture2D, batch_size, device, seed, rank=0, world_size=1):
        _check_rank(batch_size, rank, world_size)
        self.mixture = mixture
        self.device = torch.device(device)
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.sample_shape = (2,)
        self.generator = torch.Generator().manual_seed(derived_seed("mixture", seed, rank))

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        points = self.mixture.sample(self.batch_size, generator=self.generator)
        labels = torch.full((self.batch_size,), NO_LABEL, dtype=torch.long, device=self.device)
        return points.to(self.device), labels

    def state_dict(self) -> dict:
        return {"kind": self.kind, "generator_state": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        _check_kind(state, self.kind)
        # A checkpoint loaded with map_location="cuda" moves the state; generators want it on CPU.
        self.generator.set_state(state["generator_state"].cpu())

    def describe(self) -> str:
        return (
            f"{self.mixture.num_modes}-mode 2D Gaussian mixture (std {self.mixture.std}), "
            f"{self.batch_size} fresh points per batch on {self.device} on each of "
            f"{self.world_size} rank(s)"
        )
