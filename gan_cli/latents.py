"""Latent inputs for training, drawn so that N processes see what one process would.

Every rank draws the whole global batch from a generator seeded identically on all ranks and
keeps its own rows, so the union of the ranks' latents is exactly a single process's batch of
world_size x batch_size. Its state is the same on every rank: one entry in the checkpoint.
Besides the noise, a latent batch holds the class labels of a conditional model and the codes of
an InfoGAN (at the tail of z).
"""

from __future__ import annotations

import torch


class LatentSampler:
    def __init__(self, dim: int, seed: int, device, rank: int = 0, world_size: int = 1,
                 num_classes: int | None = None, auxiliary=None):
        self.dim, self.rank, self.world_size = dim, rank, world_size
        self.num_classes, self.auxiliary = num_classes, auxiliary
        self.code_dim = getattr(auxiliary, "code_dim", 0) if auxiliary is not None else 0
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed + 7919)

    def __call__(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(z, labels) for this rank: z (B, dim) with any codes at its tail; labels (B,) or None."""
        total = batch_size * self.world_size
        z = torch.randn(total, self.dim - self.code_dim, device=self.device, generator=self.generator)
        if self.code_dim:
            z = torch.cat([z, self.auxiliary.sample_codes(total, self.generator, self.device)], dim=1)
        labels = None
        if self.num_classes:
            labels = torch.randint(self.num_classes, (total,), device=self.device, generator=self.generator)
            labels = labels[self.rank :: self.world_size]
        return z[self.rank :: self.world_size], labels

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"].cpu())
