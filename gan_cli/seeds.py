"""Seeds of gan-cli's random streams, kept apart from each other and from torch.manual_seed.

A run initialises its weights from torch.manual_seed(trainer.seed). A latent stream seeded with the
same small integer would draw the very numbers the weights were drawn from: with seed 0, the first
128 latents of a StyleGAN2 sample grid were the rows of the mapping network's first weight matrix,
and those samples came out unlike the rest. Every stream is therefore seeded through a hash of its
purpose and its parts, never with a user's seed itself.
"""

from __future__ import annotations

import hashlib


def derived_seed(*parts) -> int:
    """A 63-bit seed from several parts.

    Hashing keeps (seed=0, epoch=1) and (seed=1, epoch=0) apart, which seed + epoch would not.
    """
    digest = hashlib.sha256(repr(tuple(parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def latent_generator(seed: int, purpose: str = "latents", device="cpu"):
    """A torch.Generator for the latents of `seed` (sample grids, evaluation, walks): the same for the
    same seed and purpose, on every machine."""
    import torch

    return torch.Generator(device=device).manual_seed(derived_seed(purpose, int(seed)))
