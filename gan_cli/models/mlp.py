"""Fully connected G and D (Goodfellow et al. 2014), for flattened images or 2-D points."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.models.layers import check_packing, pack, spectral


class MLPGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int,                  # size of z
        data_shape,                       # shape of one sample: (C, H, W) images or (2,) points
        hidden=(256, 512),                # widths of the hidden layers
        batch_norm: bool = False,         # batch norm after each hidden layer
        last_hidden_activation: str = "leaky_relu",  # leaky_relu | tanh (saturating: flat plateaus, sharp modes)
    ):
        super().__init__()
        if last_hidden_activation not in ("leaky_relu", "tanh"):
            raise UserError(f"model.generator.last_hidden_activation={last_hidden_activation!r}: use leaky_relu or tanh.")
        self.latent_dim = latent_dim
        self.data_shape = tuple(int(s) for s in data_shape)
        layers, width = [], latent_dim
        for index, out in enumerate(hidden):
            layers += [nn.Linear(width, out)]
            if batch_norm:
                layers += [nn.BatchNorm1d(out)]
            # Saturated tanh units make G piecewise flat, so it can put its mass on separate modes.
            last = index == len(hidden) - 1
            layers += [nn.Tanh() if last and last_hidden_activation == "tanh" else nn.LeakyReLU(0.2, inplace=True)]
            width = out
        layers += [nn.Linear(width, math.prod(self.data_shape))]
        # Images live in [-1, 1]; points are unbounded (the grid spans [-4, 4]).
        if len(self.data_shape) == 3:
            layers += [nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, z.shape
        return self.net(z).view(-1, *self.data_shape)


class MLPDiscriminator(nn.Module):
    def __init__(
        self,
        data_shape,                   # shape of one sample
        hidden=(512, 256),            # widths of the hidden layers
        spectral_norm: bool = False,  # spectral normalization on every layer
        packing: int = 1,             # PacGAN: D judges this many samples at once (one score per pack)
        dropout: float = 0.0,         # dropout after each hidden layer (the paper trained its D with dropout)
    ):
        super().__init__()
        if not 0.0 <= float(dropout) < 1.0:
            raise UserError(f"model.discriminator.dropout={dropout!r}: use a probability in [0, 1).")
        self.data_shape = tuple(int(s) for s in data_shape)
        self.norm = "none"
        self.packing = check_packing(packing)
        layers, width = [], math.prod(self.data_shape) * self.packing
        for out in hidden:
            layers += [spectral(nn.Linear(width, out), spectral_norm), nn.LeakyReLU(0.2, inplace=True)]
            if dropout:
                layers += [nn.Dropout(float(dropout))]
            width = out
        layers += [spectral(nn.Linear(width, 1), spectral_norm)]
        self.net = nn.Sequential(*layers)

    def forward(self, samples: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert samples.shape[1:] == self.data_shape, (samples.shape, self.data_shape)
        return self.net(pack(samples.flatten(1), self.packing)).flatten()
