"""The InfoGAN discriminator (Chen et al. 2016): D and the code recognizer Q share one body.

G is an ordinary generator whose latent vector ends with the codes (noise, then one one-hot block
per categorical code, then the continuous codes); Q reads them back from the image. Following the
paper, Q is D's body plus a small head (a fully connected layer, normalization, LeakyReLU, then the
code outputs): the mutual-information term costs almost nothing beyond training D.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from gan_cli.errors import UserError
from gan_cli.models.dcgan import dcgan_features, init_dcgan_weights
from gan_cli.models.layers import NORMS, require_image_shape, spectral


def check_codes(categorical, continuous) -> tuple[list[int], int]:
    """Validate the latent codes: sizes of the categorical codes (each >= 2), count of continuous ones."""
    sizes = list(categorical or [])
    if any(isinstance(k, bool) or not isinstance(k, int) or k < 2 for k in sizes):
        raise UserError(
            f"InfoGAN got categorical={sizes!r}; it must be a list of the sizes of the categorical codes, each a "
            f"whole number of at least 2 (e.g. [10] for the paper's MNIST digit code), or [] for none."
        )
    if isinstance(continuous, bool) or not isinstance(continuous, int) or continuous < 0:
        raise UserError(
            f"InfoGAN got continuous={continuous!r}; it must be the number of continuous codes, a whole number "
            f">= 0 (the paper uses 2 on MNIST)."
        )
    if not sizes and not continuous:
        raise UserError("InfoGAN needs at least one latent code: set categorical (e.g. [10]) or continuous (e.g. 2).")
    return sizes, continuous


def _norm_1d(kind: str, features: int) -> nn.Module:
    """The Q head's normalization, following D's body: batch or layer norm; none for instance/none."""
    if kind not in NORMS:
        raise UserError(f"norm={kind!r} is not a normalization gan-cli knows; use one of {', '.join(NORMS)}.")
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    return nn.Identity()  # instance norm has nothing to normalize over on a feature vector


class InfoGANDiscriminator(nn.Module):
    def __init__(
        self,
        data_shape,                   # (channels, resolution, resolution) of the input images
        categorical=(10,),            # sizes of the categorical codes
        continuous: int = 2,          # number of continuous codes
        base_width: int = 64,         # feature maps of the first block
        norm: str = "batch",          # normalization of the hidden blocks and of the Q head
        spectral_norm: bool = False,  # spectral normalization on every layer, both heads included
        max_width: int = 1024,
        q_width: int = 128,           # units of the Q head's hidden layer (128 in the paper)
    ):
        super().__init__()
        channels, resolution = require_image_shape(data_shape, "The InfoGAN discriminator")
        self.data_shape = (channels, resolution, resolution)
        self.norm = norm
        self.num_classes = None
        self.categorical, self.continuous = check_codes(categorical, continuous)
        self.code_dim = sum(self.categorical) + self.continuous  # size of the codes at the tail of z
        self.body, width = dcgan_features(channels, resolution, base_width, norm, spectral_norm, max_width)
        self.adversarial_head = spectral(nn.Conv2d(width, 1, 4, 1, 0), spectral_norm)
        # One output layer for all codes (logits, means, log std devs), so every Q parameter gets a
        # gradient even when the loss ignores the log std devs (DDP requires that).
        self.code_head = nn.Sequential(
            spectral(nn.Conv2d(width, q_width, 4, 1, 0, bias=norm == "none"), spectral_norm),  # FC on the 4x4 map
            nn.Flatten(),
            _norm_1d(norm, q_width),
            nn.LeakyReLU(0.2, inplace=True),
            spectral(nn.Linear(q_width, sum(self.categorical) + 2 * self.continuous), spectral_norm),
        )
        init_dcgan_weights(self)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None):
        assert images.shape[1:] == self.data_shape, (images.shape, self.data_shape)
        features = self.body(images)
        codes = self.code_head(features)
        code_logits, code_mean, code_log_std = codes.split(
            [sum(self.categorical), self.continuous, self.continuous], dim=1)
        extras = {"code_logits": code_logits, "code_mean": code_mean, "code_log_std": code_log_std}
        return self.adversarial_head(features).flatten(), extras
