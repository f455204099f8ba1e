"""Latent streams never replay the stream the weights were initialised from: with seed 0 the first
128 latents of a StyleGAN2 grid used to be the rows of its mapping network's first weight matrix."""

from __future__ import annotations

import pytest
import torch
from conftest import compose_train

from gan_cli.inference.sampling import batch_latents, seed_latents
from gan_cli.latent_layout import LatentLayout
from gan_cli.registry import build
from gan_cli.training.latent_stream import LatentSampler


def _cosines(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(a, dim=1) @ torch.nn.functional.normalize(b, dim=1).T


@pytest.mark.parametrize("seed", [0, 1, 7919])
def test_sample_and_training_latents_are_not_the_weights_stream(seed):
    cfg = compose_train(["model=stylegan2", f"trainer.seed={seed}"])
    torch.manual_seed(seed)  # as gan-train does before building the networks
    generator = build(cfg.model.generator, "model.generator")
    first_layer = generator.mapping_network[0].weight.detach()  # (w_dim, latent_dim), drawn first
    layout = LatentLayout.from_config(cfg)
    streams = {
        "gan-sample grid / evaluation": layout.grid(500, seed)[0],
        "walk seeds": seed_latents(range(seed, seed + 128), cfg.model.latent_dim),
        "batch latents": batch_latents(500, cfg.model.latent_dim, seed),
        "training": LatentSampler(layout, seed, "cpu")(500)[0],
    }
    for name, z in streams.items():
        # Independent draws in 128 dimensions: |cos| about 0.09, at most ~0.45 over these pairs.
        assert _cosines(z, first_layer).abs().max() < 0.6, name


def test_the_same_seed_gives_the_same_grid_and_another_seed_another():
    layout = LatentLayout.from_config(compose_train([]))
    assert torch.equal(layout.grid(16, 3)[0], layout.grid(16, 3)[0])
    assert not torch.equal(layout.grid(16, 3)[0], layout.grid(16, 4)[0])
