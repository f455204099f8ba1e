"""The latent layout: what a generator takes besides its weights.

    z = [ noise (noise_dim) | one one-hot block per categorical code | continuous codes in [-1, 1] ]
    labels: a class per sample for a conditional model (cgan, acgan, projection), else None

The codes are InfoGAN's (model.auxiliary.categorical / .continuous). Training's random batches,
its fixed sample grid, gan-sample, gan-interp and evaluation all draw their inputs here, so the
layout is spelled once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from gan_cli.errors import UserError
from gan_cli.seeds import latent_generator


@dataclass(frozen=True)
class LatentLayout:
    latent_dim: int                      # the length of z, codes included
    num_classes: int | None = None       # a conditional model's classes; None: no labels
    categorical: tuple[int, ...] = ()    # InfoGAN: the size of each categorical code
    continuous: int = 0                  # InfoGAN: the number of continuous codes

    @classmethod
    def from_config(cls, config) -> LatentLayout:
        """The layout of a run's config (the training cfg, or a checkpoint's stored config)."""
        if not OmegaConf.is_config(config):
            config = OmegaConf.create(config)
        model = config.model
        codes = model.auxiliary if model.auxiliary is not None else {}
        return cls(
            latent_dim=int(model.latent_dim),
            num_classes=int(config.data.num_classes) if model.conditional and config.data.num_classes else None,
            categorical=tuple(int(size) for size in (codes.get("categorical") or ())),
            continuous=int(codes.get("continuous") or 0),
        )

    @property
    def code_dim(self) -> int:
        return sum(self.categorical) + self.continuous

    @property
    def noise_dim(self) -> int:
        return self.latent_dim - self.code_dim

    def sample_codes(self, n: int, generator: torch.Generator, device) -> torch.Tensor:
        """n random codes (n, code_dim): a one-hot block per categorical code, then U[-1, 1] values."""
        parts = []
        for size in self.categorical:
            index = torch.randint(size, (n,), generator=generator, device=device)
            parts.append(F.one_hot(index, size).float())
        if self.continuous:
            parts.append(torch.rand(n, self.continuous, generator=generator, device=device) * 2 - 1)
        return torch.cat(parts, dim=1) if parts else torch.empty(n, 0, device=device)

    def split_codes(self, z: torch.Tensor) -> torch.Tensor:
        """The codes at the tail of z."""
        return z[:, z.shape[1] - self.code_dim:]

    def sample(self, n: int, generator: torch.Generator, device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n random inputs (z, labels), drawn from `generator` on `device`."""
        z = torch.randn(n, self.noise_dim, device=device, generator=generator)
        if self.code_dim:
            z = torch.cat([z, self.sample_codes(n, generator, device)], dim=1)
        labels = None
        if self.num_classes:
            labels = torch.randint(self.num_classes, (n,), device=device, generator=generator)
        return z, labels

    def grid(self, n: int, seed: int, label: int | None = None) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
        """(z, labels, images per row) for a picture of n samples, the same for the same seed.

        A conditional model draws class `label`, or without it one row per class (n // classes each).
        """
        self.check_label(label)
        generator = latent_generator(seed)
        labels, nrow = None, None
        if self.num_classes:
            if label is None:
                nrow = max(1, n // self.num_classes)
                labels = torch.arange(self.num_classes).repeat_interleave(nrow)
                n = len(labels)
            else:
                labels = torch.full((n,), label, dtype=torch.long)
        z = torch.randn(n, self.noise_dim, generator=generator)
        if self.code_dim:
            z = torch.cat([z, self.sample_codes(n, generator, "cpu")], dim=1)
        return z, labels, nrow

    def check_label(self, label) -> None:
        if label is None:
            return
        if not self.num_classes:
            raise UserError(f"label={label} was given, but this checkpoint's generator is not conditional; "
                            f"leave label out (conditional models: model=cgan, acgan, projection).")
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < self.num_classes:
            raise UserError(f"label={label} is not a class of this checkpoint; use 0 to {self.num_classes - 1}.")

    def labels_for(self, n: int, label: int | None) -> torch.Tensor | None:
        """n copies of `label` (class 0 when not given) for a conditional model; None otherwise."""
        self.check_label(label)
        if not self.num_classes:
            return None
        return torch.full((n,), 0 if label is None else label, dtype=torch.long)

    def with_codes(self, noise: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """Noise (N, noise_dim) completed with one random code for all rows, for walks in the noise."""
        if not self.code_dim:
            return noise
        codes = self.sample_codes(1, latent_generator(seed, "codes"), "cpu")
        return torch.cat([noise, codes.expand(noise.shape[0], -1)], dim=1)
