"""Training's stream of latent batches, drawn so that N processes see what one process would.

Every rank draws the whole global batch from a generator seeded identically on all ranks and
keeps its own rows, so the union of the ranks' latents is exactly a single process's batch of
world_size x batch_size. Its state is the same on every rank: one entry in the checkpoint. What a
batch holds (noise, labels, InfoGAN codes) is the latent layout's business.
"""

from __future__ import annotations

import torch

from gan_cli.latent_layout import LatentLayout
from gan_cli.seeds import latent_generator


class LatentSampler:
    def __init__(self, layout: LatentLayout, seed: int, device, rank: int = 0, world_size: int = 1):
        self.layout, self.rank, self.world_size = layout, rank, world_size
        self.device = torch.device(device)
        self.generator = latent_generator(seed, "training", self.device)

    def __call__(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(z, labels) for this rank: z (B, latent_dim) with any codes at its tail; labels (B,) or None."""
        z, labels = self.layout.sample(batch_size * self.world_size, self.generator, self.device)
        mine = slice(self.rank, None, self.world_size)
        return z[mine], (labels[mine] if labels is not None else None)

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"].cpu())
