"""Class-conditional DCGAN networks (cGAN, ACGAN) and the label layers the other models share.

cGAN (Mirza & Osindero 2014): G gets the label next to z, D gets it next to the image (one-hot
planes stacked on the image channels). ACGAN (Odena et al. 2017): G as in cGAN, D never sees the
label but predicts it with a second head on its body. The label layers at the bottom (conditional
batch norm, the projection term) serve the ResNet and SAGAN networks.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError
from gan_cli.models.dcgan import (
    DCGANDiscriminator,
    DCGANGenerator,
    dcgan_features,
    init_dcgan_weights,
)
from gan_cli.models.layers import require_image_shape, spectral

LABELED_DATA = "data=digits|mnist|fashion_mnist|cifar10"


def check_num_classes(num_classes, network: str, required: bool) -> int | None:
    """num_classes as an int (>= 2), or None for an unconditional network when that is allowed."""
    if num_classes is None and not required:
        return None
    if num_classes is None:
        raise UserError(
            f"{network} is class-conditional, but num_classes is null: the data has no class labels. Use "
            f"labeled data ({LABELED_DATA}), or set model.*.num_classes to the number of classes."
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise UserError(
            f"{network} got num_classes={num_classes!r}; it must be a whole number of at least 2 (the number of "
            f"classes in the data, e.g. 10 for {LABELED_DATA})."
        )
    return num_classes


def require_labels(labels: torch.Tensor | None, batch_size: int, network: str) -> torch.Tensor:
    """The class labels of a conditional network's batch: an integer tensor of shape (B,)."""
    if labels is None:
        raise UserError(
            f"{network} is class-conditional and needs the class labels of every sample, but it was called "
            f"without labels. Train it on labeled data ({LABELED_DATA}) or pick an unconditional model."
        )
    if labels.shape != (batch_size,) or labels.is_floating_point():
        raise UserError(
            f"{network} needs integer class labels of shape ({batch_size},), one per sample, but got a "
            f"{labels.dtype} tensor of shape {tuple(labels.shape)}."
        )
    return labels.long()


# DCGAN-style networks.


class ConditionalDCGANGenerator(nn.Module):
    """DCGAN G fed [z, label]: the label one-hot (Mirza & Osindero) or a learned embedding."""

    def __init__(
        self,
        latent_dim: int,                         # size of z
        data_shape,                              # (channels, resolution, resolution) of the images
        num_classes: int | None = None,          # classes of the labels (required; None is an error)
        base_width: int = 64,                    # feature maps of the last hidden block
        norm: str = "batch",                     # normalization after every layer but the output
        max_width: int = 1024,
        label_embedding: int | None = None,      # size of a learned label embedding; None: one-hot
    ):
        super().__init__()
        require_image_shape(data_shape, "The conditional DCGAN generator")
        self.num_classes = check_num_classes(num_classes, "The conditional DCGAN generator", required=True)
        self.latent_dim = latent_dim
        self.embedding = None if label_embedding is None else nn.Embedding(num_classes, label_embedding)
        label_dim = num_classes if label_embedding is None else label_embedding
        self.dcgan = DCGANGenerator(
            latent_dim + label_dim, data_shape, base_width=base_width, norm=norm, max_width=max_width)
        self.data_shape = self.dcgan.data_shape

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, z.shape
        labels = require_labels(labels, z.shape[0], "The conditional DCGAN generator")
        if self.embedding is None:
            label_code = F.one_hot(labels, self.num_classes).to(z.dtype)
        else:
            label_code = self.embedding(labels).to(z.dtype)
        return self.dcgan(torch.cat([z, label_code], dim=1))


class ConditionalDCGANDiscriminator(nn.Module):
    """cGAN D: DCGAN D over the image with one one-hot label plane per class stacked on its channels."""

    def __init__(
        self,
        data_shape,                      # (channels, resolution, resolution) of the input images
        num_classes: int | None = None,  # classes of the labels (required; None is an error)
        base_width: int = 64,            # feature maps of the first block
        norm: str = "batch",             # normalization of the hidden blocks (never on the input block)
        spectral_norm: bool = False,     # spectral normalization on every layer
        max_width: int = 1024,
        packing: int = 1,                # PacGAN: D judges this many (image, label) pairs at once
    ):
        super().__init__()
        channels, resolution = require_image_shape(data_shape, "The conditional DCGAN discriminator")
        self.num_classes = check_num_classes(num_classes, "The conditional DCGAN discriminator", required=True)
        self.data_shape = (channels, resolution, resolution)
        self.norm = norm
        self.dcgan = DCGANDiscriminator((channels + num_classes, resolution, resolution), base_width=base_width,
                                        norm=norm, spectral_norm=spectral_norm, max_width=max_width, packing=packing)
        self.packing = self.dcgan.packing

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert images.shape[1:] == self.data_shape, (images.shape, self.data_shape)
        labels = require_labels(labels, images.shape[0], "The conditional DCGAN discriminator")
        planes = F.one_hot(labels, self.num_classes).to(images.dtype)[:, :, None, None]
        planes = planes.expand(-1, -1, *images.shape[2:])
        return self.dcgan(torch.cat([images, planes], dim=1))


class ACGANDiscriminator(nn.Module):
    """ACGAN D: a DCGAN body with two heads, real/fake logits and class logits. It does not read labels."""

    def __init__(
        self,
        data_shape,                      # (channels, resolution, resolution) of the input images
        num_classes: int | None = None,  # classes the auxiliary head predicts (required)
        base_width: int = 64,            # feature maps of the first block
        norm: str = "batch",             # normalization of the hidden blocks (never on the input block)
        spectral_norm: bool = False,     # spectral normalization on every layer, both heads included
        max_width: int = 1024,
    ):
        super().__init__()
        channels, resolution = require_image_shape(data_shape, "The ACGAN discriminator")
        self.num_classes = check_num_classes(num_classes, "The ACGAN discriminator", required=True)
        self.data_shape = (channels, resolution, resolution)
        self.norm = norm
        self.body, width = dcgan_features(channels, resolution, base_width, norm, spectral_norm, max_width)
        self.adversarial_head = spectral(nn.Conv2d(width, 1, 4, 1, 0), spectral_norm)
        self.class_head = spectral(nn.Conv2d(width, num_classes, 4, 1, 0), spectral_norm)
        init_dcgan_weights(self)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None):
        assert images.shape[1:] == self.data_shape, (images.shape, self.data_shape)
        features = self.body(images)
        return self.adversarial_head(features).flatten(), {"class_logits": self.class_head(features).flatten(1)}


# Label layers of the ResNet and SAGAN networks.


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose gain and bias are looked up per class (de Vries 2017; Miyato & Koyama 2018)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.batch_norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(num_classes, channels)
        self.bias = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        gain, bias = self.gain(labels)[:, :, None, None], self.bias(labels)[:, :, None, None]
        return self.batch_norm(x) * gain + bias


class LabelFreeBatchNorm2d(nn.BatchNorm2d):
    """Plain batch norm that accepts (and ignores) labels, so blocks call every norm the same way."""

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return super().forward(x)


def batch_norm_2d(channels: int, num_classes: int | None) -> nn.Module:
    """Conditional batch norm when num_classes is set, plain batch norm otherwise; both called (x, labels)."""
    return ConditionalBatchNorm2d(channels, num_classes) if num_classes else LabelFreeBatchNorm2d(channels)


class Projection(nn.Module):
    """The class term <embed(y), h> of the projection discriminator (Miyato & Koyama 2018)."""

    def __init__(self, features: int, num_classes: int, spectral_norm: bool):
        super().__init__()
        embedding = nn.Embedding(num_classes, features)
        nn.init.xavier_uniform_(embedding.weight)
        self.embedding = spectral(embedding, spectral_norm)

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return (self.embedding(labels) * features).sum(dim=1)
