"""Using a trained image-to-image model (pix2pix, CycleGAN, SRGAN): its generators by direction,
translating images in batches, the held-out split it is shown and judged on, and comparison rows.

    translator = Translator.load(task, path, checkpoint, config)   # or Translator.from_state(task, state, ...)
    outputs = translator(inputs, "AtoB")             # (N, C, H, W) in [-1, 1] -> outputs on the CPU
    rows = comparison(translator, heldout_pairs(run.data), indices)   # three columns per example (task.columns)

The task (gan_cli/tasks) says which checkpoint key holds each direction's generator (CycleGAN has
AtoB and BtoA; the others AtoB) and what its comparison rows show.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.data import as_source
from gan_cli.errors import UserError
from gan_cli.inference.loading import build_generator
from gan_cli.runs.checkpoints import load_weights, require_keys

DIRECTIONS = ("AtoB", "BtoA")


@dataclass
class Translator:
    task: object                       # the translation task (gan_cli/tasks): directions, comparison columns
    networks: dict[str, nn.Module]     # direction -> generator
    scale: int = 1                     # output size / input size (super-resolution: its factor)
    name: str = ""                     # the model's name, for messages

    @classmethod
    def from_state(cls, task, state, scale: int, name: str) -> Translator:
        """The generators of a training state (the EMA for the main generator when there is one)."""
        networks = {direction: state.sampler if key == "generator" else state.networks[key]
                    for direction, key in task.directions.items() if key in state.networks}
        return cls(task, networks, scale, name)

    @classmethod
    def load(cls, task, path, checkpoint: dict, config, device="cpu", use_ema: bool = True) -> Translator:
        """The translator of a checkpoint read once (its checked config beside it), in eval mode."""
        require_keys(checkpoint, list(task.directions.values()), path)
        networks = {}
        for direction, key in task.directions.items():
            network = build_generator(config.model, key)
            stored = "ema" if key == "generator" and use_ema and checkpoint.get("ema") is not None else key
            load_weights(network, checkpoint[stored], stored, path)
            networks[direction] = network.to(device).eval().requires_grad_(False)
        return cls(task, networks, task.scale(config.data), str(config.model.name))

    def network(self, direction: str) -> nn.Module:
        if direction not in self.networks:
            raise UserError(f"direction={direction!r} is not available for model={self.name}: it translates "
                            f"{' and '.join(self.networks)} only (CycleGAN has AtoB and BtoA).")
        return self.networks[direction]

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, direction: str = "AtoB", batch_size: int = 64) -> torch.Tensor:
        """The network's outputs for a batch of images in [-1, 1], in batches, on the CPU, in eval mode."""
        network = self.network(direction)
        device = next(network.parameters()).device
        was_training = network.training
        network.eval()
        try:
            return torch.cat([network(chunk.to(device)).float().cpu() for chunk in images.split(batch_size)])
        finally:
            network.train(was_training)


def heldout_pairs(data):
    """The held-out split of an image-to-image dataset (data.eval_split: val or test), no jitter, of
    `data` (a run's DataSource, which builds it once for its preview and its evaluator; or a data config)."""
    return as_source(data).heldout


def upscaled_input(lr: torch.Tensor, size) -> torch.Tensor:
    """Bicubic upscaling to `size` (H, W), the reference any super-resolution model must beat."""
    return F.interpolate(lr.float(), size=tuple(size), mode="bicubic", align_corners=False).clamp(-1, 1)


def centre_crop_pair(lr: torch.Tensor, hr: torch.Tensor, crop: int, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Aligned centre crops of an (LR, HR) pair of images (C, h, w): HR at most crop x crop."""
    lr_crop = min(crop // scale, lr.shape[-2], lr.shape[-1])
    top, left = (lr.shape[-2] - lr_crop) // 2, (lr.shape[-1] - lr_crop) // 2
    lr = lr[..., top:top + lr_crop, left:left + lr_crop]
    hr = hr[..., top * scale:(top + lr_crop) * scale, left * scale:(left + lr_crop) * scale]
    return lr, hr


def as_rgb(images: torch.Tensor, channels: int) -> torch.Tensor:
    return images.expand(-1, channels, -1, -1) if images.shape[1] == 1 and channels == 3 else images


def paired_columns(translator: Translator, examples, direction: str = "AtoB", crop: int | None = None):
    """input | output | target of (input, target) examples (the paired tasks' comparison)."""
    inputs, targets = torch.stack([p[0] for p in examples]), torch.stack([p[1] for p in examples])
    return [inputs, translator(inputs, direction), targets]


def comparison(translator: Translator, pairs, indices, direction: str = "AtoB", crop: int | None = None) -> torch.Tensor:
    """(3 N, C, H, W) rows of three columns per held-out example, as the translator's task draws them
    (paired: input | output | target; unpaired: input | translation | cycle back; super-resolution:
    bicubic | output | original)."""
    examples = [pairs[int(i)] for i in indices]
    columns = translator.task.comparison_columns(translator, examples, direction, crop)
    channels = max(c.shape[1] for c in columns)
    columns = [as_rgb(c.float().cpu(), channels) for c in columns]
    return torch.stack(columns, dim=1).flatten(0, 1)


def preview_indices(count: int, n: int, seed: int) -> list[int]:
    """n held-out examples chosen by seed (all of them, in order, when there are at most n)."""
    if count <= n:
        return list(range(count))
    return sorted(torch.randperm(count, generator=torch.Generator().manual_seed(int(seed)))[:n].tolist())
