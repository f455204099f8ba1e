"""BigGAN's class-conditional ResNet generator and discriminator (Brock, Donahue & Simonyan 2019).

G: a shared class embedding; hierarchical latents (z split into one chunk for the 4x4 input and one
per up-block); every up-block's batch norms take their gains and biases from linear projections of
cat(shared(y), its z chunk); SAGAN self-attention at one resolution; BN-ReLU-conv3x3-tanh. D: the
SNGAN/SAGAN residual down-blocks, global sum pooling, a linear logit and the projection term
<embed(y), h>. Both networks are spectrally normalized and orthogonally initialized, with the widths
of BigGAN-PyTorch's G_arch / D_arch. The blocks are those of resnet.py and attention.py; this module
adds the linear conditional batch norm, the layouts, and BigGAN's orthogonal regularization.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import parametrize

from gan_cli.errors import UserError
from gan_cli.models.attention import SelfAttention, check_attention_resolution
from gan_cli.models.capabilities import ClassEmbedded, Truncating
from gan_cli.models.conditional import Projection, check_num_classes, require_labels
from gan_cli.models.layers import spectral
from gan_cli.models.resnet import (
    DiscriminatorBlock,
    GeneratorBlock,
    OptimizedDiscriminatorBlock,
)

# Width multipliers of BigGAN-PyTorch (BigGAN.py). G: the 4x4 input, then each up-block's output
# (8x8, 16x16, ...). D: each block's output; every block halves the size but the last.
_G_MULTIPLIERS = {
    64: (16, 16, 8, 4, 2),
    128: (16, 16, 8, 4, 2, 1),
    256: (16, 16, 8, 8, 4, 2, 1),
    512: (16, 16, 8, 8, 4, 2, 1, 1),
}
_D_MULTIPLIERS = {
    64: (1, 2, 4, 8, 16),
    128: (1, 2, 4, 8, 16, 16),
    256: (1, 2, 4, 8, 8, 16, 16),
    512: (1, 1, 2, 4, 8, 8, 16, 16),
}
RESOLUTIONS = (8, 16, 32, 64, 128, 256, 512)


def _image_shape(data_shape) -> tuple[int, int]:
    """(channels, resolution) from a (C, R, R) shape (a ListConfig from OmegaConf is fine)."""
    shape = tuple(int(size) for size in data_shape)
    if len(shape) != 3 or shape[1] != shape[2] or shape[1] not in RESOLUTIONS:
        raise UserError(
            f"BigGAN makes square images whose size is a power of two from 8 to 512, but the data has shape "
            f"{list(shape)}; set data.resolution to one of {', '.join(map(str, RESOLUTIONS))} (and use image "
            f"data, not 2-D points)."
        )
    return shape[0], shape[1]


def generator_multipliers(resolution: int) -> tuple[int, ...]:
    """G's widths over base_width: the 4x4 input, then each up-block's output.

    64 and up: BigGAN-PyTorch's. 32: its CIFAR arch, 4 everywhere; 8 and 16 keep that width with
    fewer blocks (one up-block per doubling from 4x4).
    """
    if resolution in _G_MULTIPLIERS:
        return _G_MULTIPLIERS[resolution]
    return (4,) * (resolution.bit_length() - 2)  # 8: (4, 4), 16: (4, 4, 4), 32: (4, 4, 4, 4)


def discriminator_layout(resolution: int) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """D's block widths over base_width and which blocks halve the size.

    64 and up: BigGAN-PyTorch's (down to 4x4, then one block at 4x4). 32: its CIFAR arch, width 4,
    two downsampling blocks to 8x8 and two at 8x8; 16 and 8 downsample once (to 8x8, 4x4), then two.
    """
    if resolution in _D_MULTIPLIERS:
        multipliers = _D_MULTIPLIERS[resolution]
        return multipliers, (True,) * (len(multipliers) - 1) + (False,)
    downsampling = max(resolution.bit_length() - 4, 1)  # halvings to 8x8, at least one
    return (4,) * (downsampling + 2), (True,) * downsampling + (False, False)


def _hierarchical_chunk(latent_dim, chunks: int, resolution: int) -> int:
    """The size of each z chunk; latent_dim must split into `chunks` equal ones."""
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise UserError(f"model.latent_dim={latent_dim!r} must be a positive whole number (BigGAN: 120 or 128).")
    if latent_dim % chunks == 0:
        return latent_dim // chunks
    lower = latent_dim // chunks * chunks
    examples = " or ".join(str(value) for value in (lower, lower + chunks) if value > 0)
    raise UserError(
        f"model.latent_dim={latent_dim} does not split into {chunks} equal chunks: the hierarchical BigGAN "
        f"generator for {resolution}x{resolution} images gives one chunk of z to its 4x4 input and one to each "
        f"of its {chunks - 1} up-blocks. Set model.latent_dim to a multiple of {chunks} (e.g. {examples}), or "
        f"model.generator.hierarchical=false to feed all of z to the input layer."
    )


def _attention(value, sizes: list[int], widths: list[int], key: str):
    """(SelfAttention, index of the block it follows), or (None, None) when value is None."""
    if value is None:
        return None, None
    try:
        size = check_attention_resolution(value, sorted(set(sizes)), f"The BigGAN {key.split('.')[1]}")
    except UserError as error:
        raise UserError(f"{key}={value!r}: {error}") from None
    index = sizes.index(size)
    return SelfAttention(widths[index], spectral_norm=False), index


def _labels(labels: torch.Tensor | None, batch_size: int, network: str) -> torch.Tensor:
    if labels is None:
        raise ValueError(
            f"{network} is class-conditional: call it with labels, a long tensor of shape ({batch_size},) "
            f"holding one class index per sample, not None."
        )
    return require_labels(labels, batch_size, network)


def _orthogonal_init(network: nn.Module, spectral_norm: bool, spectral_embeddings: bool) -> None:
    """BigGAN's init='ortho' on every conv, linear and embedding, then spectral norm (SN wraps the
    initialized weight, so its power-iteration vectors start from the final weight)."""
    layers = [m for m in network.modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]
    for layer in layers:
        nn.init.orthogonal_(layer.weight)
        if getattr(layer, "bias", None) is not None:
            nn.init.zeros_(layer.bias)
        if not isinstance(layer, nn.Embedding) or spectral_embeddings:
            spectral(layer, spectral_norm)


class LinearConditionalBatchNorm2d(nn.Module):
    """Batch norm with gain 1 + W_g c and bias W_b c, linear in a conditioning vector c (BigGAN's ccbn).

    c is cat(shared class embedding, the block's z chunk); the projections have no bias, so the gain
    stays around 1 at init.
    """

    def __init__(self, channels: int, condition_dim: int):
        super().__init__()
        self.batch_norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(condition_dim, channels, bias=False)
        self.bias = nn.Linear(condition_dim, channels, bias=False)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(condition)[:, :, None, None]
        return self.batch_norm(x) * gain + self.bias(condition)[:, :, None, None]


class BigGANGeneratorBlock(GeneratorBlock):
    """resnet.GeneratorBlock (CBN-ReLU-up-conv3x3-CBN-ReLU-conv3x3, upsampled 1x1 skip) whose two
    batch norms are LinearConditionalBatchNorm2d: its forward's second argument is the condition c."""

    def __init__(self, in_channels: int, out_channels: int, condition_dim: int):
        super().__init__(in_channels, out_channels, num_classes=None, spectral_norm=False)
        self.norm1 = LinearConditionalBatchNorm2d(in_channels, condition_dim)
        self.norm2 = LinearConditionalBatchNorm2d(out_channels, condition_dim)


class BigGANGenerator(nn.Module, ClassEmbedded, Truncating):
    """BigGAN's G: (z, class labels) -> images in [-1, 1] of shape (B, C, R, R).

    With hierarchical latents z is split into len(blocks) + 1 equal chunks: the first feeds the
    linear layer to the 4x4 map, chunk i + 1 joins the shared class embedding as the condition of
    block i's batch norms. Without, all of z feeds the linear layer and the blocks see the class only.
    """

    truncation = "resample_z"  # gan-sample truncates z by resampling the entries beyond the threshold

    def __init__(
        self,
        latent_dim: int = 120,                    # size of z; hierarchical: a multiple of blocks + 1
        num_classes: int = 10,                    # classes of the labels
        data_shape=(3, 32, 32),                   # (channels, resolution, resolution) of the images
        base_width: int = 64,                     # ch: widths are ch times BigGAN's multipliers
        shared_dim: int = 128,                    # size of the shared class embedding
        attention_resolution: int | None = None,  # self-attention after the block of this output size
        hierarchical: bool = True,                # split z over the input and the blocks
        spectral_norm: bool = True,               # SN on every conv and linear layer (not the embedding)
    ):
        super().__init__()
        channels, resolution = _image_shape(data_shape)
        self.num_classes = check_num_classes(num_classes, "The BigGAN generator", required=True)
        self.data_shape = (channels, resolution, resolution)
        self.latent_dim, self.hierarchical = latent_dim, bool(hierarchical)
        widths = [base_width * multiplier for multiplier in generator_multipliers(resolution)]
        sizes = [8 * 2**index for index in range(len(widths) - 1)]  # output size of each block
        self.latent_chunks = len(widths) if self.hierarchical else 1
        self.chunk_dim = _hierarchical_chunk(latent_dim, self.latent_chunks, resolution)
        condition_dim = shared_dim + (self.chunk_dim if self.hierarchical else 0)
        self.shared = nn.Embedding(self.num_classes, shared_dim)
        self.linear = nn.Linear(self.chunk_dim, 4 * 4 * widths[0])
        self.blocks = nn.ModuleList(
            BigGANGeneratorBlock(widths[index], widths[index + 1], condition_dim) for index in range(len(sizes)))
        self.attention, self.attention_after = _attention(
            attention_resolution, sizes, widths[1:], "model.generator.attention_resolution")
        self.output_norm = nn.BatchNorm2d(widths[-1])
        self.output = nn.Conv2d(widths[-1], channels, 3, 1, 1)
        _orthogonal_init(self, spectral_norm, spectral_embeddings=False)  # SN on G's embedding hurts (BigGAN)

    def class_embedding(self, labels: torch.Tensor) -> torch.Tensor:
        """The shared embedding of class labels (B,) -> (B, shared_dim): what a walk between classes moves."""
        return self.shared(labels)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """labels: class indices (B,) long, or class embeddings (B, shared_dim) float (a walk between classes)."""
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, (z.shape, self.latent_dim)
        chunks = z.split(self.chunk_dim, dim=1)
        if labels is not None and labels.is_floating_point():
            class_code = labels.to(z.dtype)
        else:
            class_code = self.shared(_labels(labels, z.shape[0], "The BigGAN generator")).to(z.dtype)
        if self.hierarchical:
            conditions = [torch.cat([class_code, chunk], dim=1) for chunk in chunks[1:]]
        else:
            conditions = [class_code] * len(self.blocks)
        h = self.linear(chunks[0]).view(z.shape[0], -1, 4, 4)
        for index, (block, condition) in enumerate(zip(self.blocks, conditions)):
            h = block(h, condition)
            if index == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.output(F.relu(self.output_norm(h))))


class BigGANDiscriminator(nn.Module):
    """BigGAN's D: (images, class labels) -> logits of shape (B,), the linear term plus the projection.

    Residual down-blocks (the first without pre-activation), self-attention after the first block
    of attention_resolution, ReLU, global sum pooling h, then linear(h) + <embed(y), h>.
    """

    def __init__(
        self,
        num_classes: int = 10,                    # classes of the labels (the projection's embedding)
        data_shape=(3, 32, 32),                   # (channels, resolution, resolution) of the images
        base_width: int = 64,                     # ch: widths are ch times BigGAN's multipliers
        attention_resolution: int | None = None,  # self-attention after the first block of this size
        spectral_norm: bool = True,               # SN on every layer, the projection embedding included
    ):
        super().__init__()
        channels, resolution = _image_shape(data_shape)
        self.num_classes = check_num_classes(num_classes, "The BigGAN discriminator", required=True)
        self.data_shape = (channels, resolution, resolution)
        self.norm = "none"
        multipliers, downsample = discriminator_layout(resolution)
        widths = [base_width * multiplier for multiplier in multipliers]
        blocks, sizes = [OptimizedDiscriminatorBlock(channels, widths[0], spectral_norm=False)], [resolution // 2]
        for index in range(1, len(widths)):
            blocks.append(DiscriminatorBlock(widths[index - 1], widths[index], downsample[index], spectral_norm=False))
            sizes.append(sizes[-1] // 2 if downsample[index] else sizes[-1])
        self.blocks = nn.ModuleList(blocks)
        self.attention, self.attention_after = _attention(
            attention_resolution, sizes, widths, "model.discriminator.attention_resolution")
        self.linear = nn.Linear(widths[-1], 1)
        self.projection = Projection(widths[-1], self.num_classes, spectral_norm=False)
        _orthogonal_init(self, spectral_norm, spectral_embeddings=True)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        assert images.shape[1:] == self.data_shape, (images.shape, self.data_shape)
        labels = _labels(labels, images.shape[0], "The BigGAN discriminator")
        h = images
        for index, block in enumerate(self.blocks):
            h = block(h)
            if index == self.attention_after:
                h = self.attention(h)
        features = F.relu(h).sum(dim=(2, 3))  # global sum pooling
        return self.linear(features).flatten() + self.projection(features, labels)


def _raw_weight(layer: nn.Module) -> torch.Tensor:
    """The weight the optimizer updates: under spectral norm the raw W, not W / sigma (as the official
    BigGAN code, which adds the penalty's gradient to the parameters themselves)."""
    if not parametrize.is_parametrized(layer, "weight"):
        return layer.weight
    return layer.parametrizations.weight.original


def orthogonal_penalty(module: nn.Module) -> torch.Tensor:
    """BigGAN's orthogonal regularization: sum of ||W W^T * (1 - I)||_F^2 over the conv and linear layers.

    W is each weight reshaped to (out, -1), the raw one where SN is on (the official code's choice);
    embeddings (G's shared class embedding), biases and norm gains are not included. The caller
    multiplies by beta / 2: the official code's hand-written gradient, beta * 2 (W W^T * (1 - I)) W,
    is that of half this sum.
    """
    terms = []
    for layer in module.modules():
        if not isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            continue
        weight = _raw_weight(layer)
        if isinstance(layer, nn.ConvTranspose2d):
            weight = weight.transpose(0, 1)  # stored (in, out, k, k)
        weight = weight.flatten(1)
        gram = weight @ weight.t()
        off_diagonal = gram * (1 - torch.eye(gram.shape[0], device=gram.device, dtype=gram.dtype))
        terms.append(off_diagonal.square().sum())
    if not terms:
        device = next((p.device for p in module.parameters()), torch.device("cpu"))
        return torch.zeros((), device=device)
    return torch.stack(terms).sum()
