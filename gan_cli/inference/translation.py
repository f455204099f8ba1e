"""Using a trained image-to-image model (pix2pix, CycleGAN, SRGAN): its generators by direction,
translating images in batches, the held-out split it is shown and judged on, and comparison rows.

    translator = Translator.from_checkpoint(path)     # or Translator.from_state(state, cfg) while training
    outputs = translator(inputs, "AtoB")             # (N, C, H, W) in [-1, 1] -> outputs on the CPU
    rows = comparison(translator, heldout_pairs(cfg.data), indices)   # input | output | target per example

A CycleGAN checkpoint has both directions (generator = A->B, generator_ba = B->A); the others AtoB.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from omegaconf import OmegaConf, open_dict

from gan_cli.data import build_dataset
from gan_cli.errors import UserError
from gan_cli.inference.loading import build_generator
from gan_cli.runs.checkpoints import load_checkpoint, load_weights, require_keys
from gan_cli.runs.config import stored_config
from gan_cli.tasks import SUPER_RESOLUTION, UNPAIRED, task_of

DIRECTIONS = ("AtoB", "BtoA")
# Checkpoint key of each direction's generator.
DIRECTION_KEYS = {"AtoB": "generator", "BtoA": "generator_ba"}


@dataclass
class Translator:
    task: str                          # paired | unpaired | super_resolution
    networks: dict[str, nn.Module]     # direction -> generator
    scale: int = 1                     # super-resolution factor (1: same size)
    name: str = ""                     # the model's name, for messages

    @classmethod
    def from_state(cls, state, cfg) -> Translator:
        """The generators of a training state (the EMA for A->B when there is one)."""
        networks = {"AtoB": state.sampler}
        if "generator_ba" in state.networks:
            networks["BtoA"] = state.networks["generator_ba"]
        return cls(task_of(cfg.model), networks, _scale(cfg), str(cfg.model.name))

    @classmethod
    def from_checkpoint(cls, path, device="cpu", use_ema: bool = True) -> tuple[Translator, dict, object]:
        """(translator in eval mode, the checkpoint, its stored config)."""
        checkpoint = load_checkpoint(path)
        config = stored_config(checkpoint, path)
        task = task_of(config.model)
        keys = {"AtoB": "generator"} | ({"BtoA": "generator_ba"} if task == UNPAIRED else {})
        require_keys(checkpoint, list(keys.values()), path)
        networks = {}
        for direction, key in keys.items():
            network = build_generator(config.model, key)
            stored = "ema" if key == "generator" and use_ema and checkpoint.get("ema") is not None else key
            load_weights(network, checkpoint[stored], stored, path)
            networks[direction] = network.to(device).eval().requires_grad_(False)
        return cls(task, networks, _scale(config), str(config.model.name)), checkpoint, config

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


def checkpoint_task(path) -> tuple[str, str]:
    """(task, model name) of a checkpoint, from its stored config."""
    config = stored_config(load_checkpoint(path), path)
    return task_of(config.model), str(config.model.name)


def _scale(config) -> int:
    return int(config.data.get("scale") or 1) if task_of(config.model) == SUPER_RESOLUTION else 1


def heldout_pairs(data_cfg):
    """The held-out split of an image-to-image dataset (data.eval_split: val or test), no jitter."""
    cfg = OmegaConf.create(OmegaConf.to_container(data_cfg, resolve=True))
    with open_dict(cfg):
        cfg.split = cfg.get("eval_split") or "test"
        if "split" in cfg.dataset:
            cfg.dataset.split = cfg.split
    return build_dataset(cfg)


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


def comparison(translator: Translator, pairs, indices, direction: str = "AtoB", crop: int | None = None) -> torch.Tensor:
    """(3 N, C, H, W) rows of input | output | third per example:
    paired: the target; unpaired: the translation back (the cycle); super-resolution: bicubic | output | original."""
    examples = [pairs[int(i)] for i in indices]
    if translator.task == UNPAIRED:
        side = [pair[0] if direction == "AtoB" else pair[1] for pair in examples]
        inputs = torch.stack(side)
        outputs = translator(inputs, direction)
        back = translator(outputs, "BtoA" if direction == "AtoB" else "AtoB")
        columns = [inputs, outputs, back]
    elif translator.task == SUPER_RESOLUTION:
        cut = [centre_crop_pair(lr, hr, crop or hr.shape[-1], translator.scale) for lr, hr in examples]
        size = min(min(hr.shape[-2:]) for _, hr in cut)
        cut = [(lr[..., : size // translator.scale, : size // translator.scale], hr[..., :size, :size]) for lr, hr in cut]
        lr, hr = torch.stack([c[0] for c in cut]), torch.stack([c[1] for c in cut])
        columns = [upscaled_input(lr, hr.shape[-2:]), translator(lr), hr]
    else:
        inputs, targets = torch.stack([p[0] for p in examples]), torch.stack([p[1] for p in examples])
        columns = [inputs, translator(inputs), targets]
    channels = max(c.shape[1] for c in columns)
    columns = [as_rgb(c.float().cpu(), channels) for c in columns]
    return torch.stack(columns, dim=1).flatten(0, 1)


def preview_indices(count: int, n: int, seed: int) -> list[int]:
    """n held-out examples chosen by seed (all of them, in order, when there are at most n)."""
    if count <= n:
        return list(range(count))
    return sorted(torch.randperm(count, generator=torch.Generator().manual_seed(int(seed)))[:n].tolist())
