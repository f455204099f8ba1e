"""Images from captions: a text-to-image generator (StackGAN) driven by a text encoder's embeddings.

    drawer = CaptionDrawer(generator, embedder, latent_dim, c_dim, device)
    drawer.draw(captions, seed=0, per_caption=8)       # images, a row of draws per caption
    caption_walk(...), augmentation_walk(...)          # gan-interp mode=text: between two captions, or
                                                       # one caption's conditioning-augmentation draws

Every draw takes its noise (z, and the conditioning augmentation's) from a seeded generator of its
own, never the global one, so samples, previews and evaluations during training neither depend on
nor disturb the training's random stream.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gan_cli.inference.images import captioned_rows, save_images
from gan_cli.inference.interpolation import slerp


def seeded_noise(n: int, latent_dim: int, c_dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(z (n, latent_dim), conditioning-augmentation noise (n, c_dim)), the same for the same seed."""
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randn(n, latent_dim, generator=generator), torch.randn(n, c_dim, generator=generator)


class CaptionDrawer:
    """A text-to-image generator and its text encoder: captions (or embeddings) -> images in [-1, 1]."""

    def __init__(self, generator, embedder, device="cpu", batch_size: int = 250):
        self.generator, self.embedder = generator, embedder
        self.latent_dim, self.c_dim = int(generator.latent_dim), int(generator.c_dim)
        self.device, self.batch_size = torch.device(device), batch_size

    def embed(self, captions, check: bool = False, key: str = "text") -> torch.Tensor:
        return self.embedder.embed(list(captions), check=check, key=key).cpu()

    @torch.no_grad()
    def images(self, embeddings: torch.Tensor, z: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """Images of embeddings (n, D) with z (n, latent_dim) and the augmentation noise (None: the mean)."""
        generator = self.generator
        was_training = generator.training
        generator.eval()
        out = []
        try:
            for start in range(0, len(z), self.batch_size):
                part = slice(start, start + self.batch_size)
                draw = None if noise is None else noise[part].to(self.device)
                images, _, _ = generator(z[part].to(self.device), embeddings[part].to(self.device),
                                         sample=noise is not None, noise=draw)
                out.append(images.float().cpu())
        finally:
            generator.train(was_training)
        return torch.cat(out)

    def draw(self, captions, seed: int = 0, per_caption: int = 8, check: bool = False) -> torch.Tensor:
        """per_caption draws of every caption (caption after caption), seeded."""
        embeddings = self.embed(captions, check=check).repeat_interleave(per_caption, dim=0)
        z, noise = seeded_noise(len(embeddings), self.latent_dim, self.c_dim, seed)
        return self.images(embeddings, z, noise)


def caption_walk(drawer: CaptionDrawer, a: str, b: str, steps: int, seeds) -> torch.Tensor:
    """From caption a's embedding to b's (linearly, `steps` points), a row per seed's noise."""
    ends = drawer.embed([a, b], check=True)
    t = torch.linspace(0, 1, steps)[:, None]
    path = (1 - t) * ends[:1] + t * ends[1:]
    rows = []
    for seed in seeds:
        z, noise = seeded_noise(1, drawer.latent_dim, drawer.c_dim, seed)
        rows.append(drawer.images(path, z.expand(steps, -1), noise.expand(steps, -1)))
    return torch.cat(rows)


def augmentation_walk(drawer: CaptionDrawer, caption: str, steps: int, seeds) -> torch.Tensor:
    """One caption, z fixed per row, walking the conditioning augmentation's noise between seeds' draws
    (slerp): how much the caption alone leaves open."""
    embedding = drawer.embed([caption], check=True).expand(steps, -1)
    rows = []
    seeds = list(seeds)
    for index, seed in enumerate(seeds):
        z, start = seeded_noise(1, drawer.latent_dim, drawer.c_dim, seed)
        _, end = seeded_noise(1, drawer.latent_dim, drawer.c_dim, seeds[(index + 1) % len(seeds)])
        noise = torch.cat([slerp(start, end, float(t)) for t in torch.linspace(0, 1, steps)])
        rows.append(drawer.images(embedding, z.expand(steps, -1), noise))
    return torch.cat(rows)


def write_caption_grid(images: torch.Tensor, captions, per_row: int, path, individual: bool = False) -> list[Path]:
    """A grid of a row per caption with the caption written under it (and each image, if `individual`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    captioned_rows(images, list(captions), per_row).save(path)
    paths = [path]
    if individual:
        paths += save_images(images, path.with_suffix(""), prefix="sample_")
    return paths
