"""Captioned images as a text-to-image model trains on them: each real image with one of its captions.

A captioned dataset (data=captioned_digits, captioned_folder) is images with a tuple of captions per
image (`captions_of`). The caption embeddings are computed once by the run's text encoder (N images
x K captions x D, with the count of each image's captions); `CaptionBatches` draws the images as any
batch source does (the same order, state and resume: the images' own, by index) and gives each image
one of its captions' embeddings, picked by a generator seeded from the batch's place in the data
order, so that a resumed run sees the same captions as an uninterrupted one.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from gan_cli.data.batches import InMemoryBatches, StreamingBatches
from gan_cli.data.source import as_source
from gan_cli.errors import UserError
from gan_cli.seeds import derived_seed


def captions_of(data) -> tuple[tuple[str, ...], ...]:
    """Each image's captions, of a data config or DataSource whose dataset has them."""
    source = as_source(data)
    captions = getattr(source.dataset, "captions", None)
    if captions is None:
        raise UserError(f"data={source.name} has no captions, and a text-to-image model learns from captioned "
                        f"images: use data=captioned_digits (offline) or data=captioned_folder data.root=<folder "
                        f"with images/ and captions/>.")
    empty = [index for index, texts in enumerate(captions) if not texts]
    if empty:
        raise UserError(f"data={source.name}: {len(empty)} image(s) have no caption (the first: item {empty[0]}); "
                        f"every training image needs at least one.")
    return tuple(tuple(texts) for texts in captions)


def padded_table(captions) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    """(every caption once, in order; N x K indices into that list, an image's row padded by repeating
    its captions; each image's caption count)."""
    flat, rows = [], []
    width = max(len(texts) for texts in captions)
    for texts in captions:
        start = len(flat)
        flat.extend(texts)
        rows.append([start + (k % len(texts)) for k in range(width)])
    return flat, torch.tensor(rows, dtype=torch.long), torch.tensor([len(t) for t in captions], dtype=torch.long)


class IndexedImages(Dataset):
    """A streamed dataset's images with their own index as the label (what CaptionBatches looks up)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return self.dataset[index][0], index


class CaptionBatches:
    """(real images, one caption embedding of each) batches; order, state and resume are the images'."""

    def __init__(self, images, embeddings: torch.Tensor, counts: torch.Tensor):
        self.images = images                     # a batch source whose labels are image indices
        self.embeddings = embeddings.to(images.device)   # N x K x D
        self.counts = counts.to(images.device)
        self.batch_size, self.sample_shape = images.batch_size, images.sample_shape
        self.seed, self.rank, self.device = images.seed, images.rank, images.device

    @property
    def num_samples(self) -> int:
        return self.images.num_samples

    @property
    def batches_per_epoch(self) -> int:
        return self.images.batches_per_epoch

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        images, index = self.images.next()
        place = (self.images.epoch, self.images.batch_in_epoch)  # unique per batch of this rank
        generator = torch.Generator().manual_seed(derived_seed("caption", self.seed, self.rank, *place))
        draw = torch.rand(len(index), generator=generator).to(self.device)
        pick = (draw * self.counts[index]).long().clamp_max(self.embeddings.shape[1] - 1)
        return images, self.embeddings[index, pick]

    def state_dict(self) -> dict:
        return self.images.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.images.load_state_dict(state)

    def describe(self) -> str:
        per_image = int(self.counts.max())
        return f"{self.images.describe()}, each with one of its captions (up to {per_image}) embedded"


def caption_batches(data, embeddings: torch.Tensor, counts: torch.Tensor, device, seed: int, rank: int = 0,
                    world_size: int = 1) -> CaptionBatches:
    """The training batches of a captioned dataset: held in memory when it is a tensor set, else streamed."""
    from gan_cli.data import _check_enough_samples, _check_shape, _checked_batch_size, loader_workers

    source = as_source(data)
    data_cfg, dataset = source.config, source.dataset
    batch_size = _checked_batch_size(data_cfg)
    _check_enough_samples(data_cfg, len(embeddings), batch_size, world_size)
    if isinstance(dataset, Dataset):
        _check_shape(data_cfg, tuple(dataset[0][0].shape))
        images = StreamingBatches(IndexedImages(dataset), batch_size, device, seed, rank, world_size,
                                  loader_workers(data_cfg))
    else:
        tensors = dataset[0]
        _check_shape(data_cfg, tuple(tensors.shape[1:]))
        images = InMemoryBatches(tensors, torch.arange(len(tensors)), batch_size, device, seed, rank, world_size)
    return CaptionBatches(images, embeddings, counts)
