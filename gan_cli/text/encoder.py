"""The text encoder StackGAN conditions on, and the image encoder it is trained against.

StackGAN used a pre-trained char-CNN-RNN (Reed et al. 2016), learnt by matching captions to images.
Here a word-level bidirectional GRU plays that part: its mean hidden state, projected, is a caption's
embedding; a small CNN embeds images into the same space, and both learn with a symmetric matching
(contrastive) loss, so that a caption lies nearest to its own image. `scripts/train_text_encoder.py`
trains one on a captioned dataset and writes a checkpoint that holds its vocabulary and weights as
data (`save_text_encoder` / `load_text_encoder`, loaded with weights_only=True).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError
from gan_cli.runs.files import write_atomic
from gan_cli.text.tokens import Vocabulary

FORMAT = "gan-cli-text-encoder/1"
SHIPPED = Path(__file__).parent / "weights"  # gan_cli/text/weights/<name>.pt: the encoders gan-cli ships


class TextEncoder(nn.Module):
    """Token ids (N x L) and lengths (N) -> caption embeddings (N x embedding_dim)."""

    def __init__(self, vocabulary_size: int, embedding_dim: int = 128, word_dim: int = 64, hidden: int = 128):
        super().__init__()
        self.words = nn.Embedding(vocabulary_size, word_dim, padding_idx=0)
        self.rnn = nn.GRU(word_dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, embedding_dim)
        self.embedding_dim = embedding_dim

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        states, _ = self.rnn(self.words(ids))
        mask = (torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths[:, None].to(ids.device)).float()
        mean = (states * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp_min(1)
        return self.out(mean)


class ImageEncoder(nn.Module):
    """Images (N x C x R x R in [-1, 1]) -> embeddings in the text encoder's space."""

    def __init__(self, channels: int = 3, resolution: int = 32, embedding_dim: int = 128, width: int = 32):
        super().__init__()
        layers, size, cin = [], resolution, channels
        while size > 4:
            layers += [nn.Conv2d(cin, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            cin, size, width = width, size // 2, min(2 * width, 256)
        self.body = nn.Sequential(*layers, nn.Flatten())
        self.out = nn.Linear(cin * size * size, embedding_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(images))


class CaptionEmbedder:
    """A trained text encoder with its vocabulary: captions -> embeddings (for conditioning and R-precision)."""

    def __init__(self, vocabulary: Vocabulary, text: TextEncoder, image: ImageEncoder | None = None,
                 settings: dict | None = None, path=None):
        self.vocabulary, self.text, self.image = vocabulary, text.eval(), None if image is None else image.eval()
        self.settings, self.path = dict(settings or {}), path

    @property
    def embedding_dim(self) -> int:
        return self.text.embedding_dim

    @torch.no_grad()
    def embed(self, captions, check: bool = False, key: str = "text") -> torch.Tensor:
        captions = [self.vocabulary.check(caption, key) if check else caption for caption in captions]
        ids, lengths = self.vocabulary.batch(captions)
        device = next(self.text.parameters()).device
        return self.text(ids.to(device), lengths)

    @torch.no_grad()
    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        if self.image is None:
            raise UserError(f"The text encoder {self.path} has no image encoder, so it cannot rank captions.")
        return self.image(images.to(next(self.image.parameters()).device))


def matching_loss(text: torch.Tensor, image: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """The symmetric matching loss: each caption against every image of the batch and back."""
    logits = F.normalize(text, dim=1) @ F.normalize(image, dim=1).T / temperature
    targets = torch.arange(len(text), device=text.device)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)) / 2


@torch.no_grad()
def r_precision(embedder: CaptionEmbedder, images: torch.Tensor, captions: list[str], decoys: int = 99,
                seed: int = 0, batch: int = 256) -> float:
    """AttnGAN's R-precision (R = 1): the share of images whose own caption ranks first among it and
    `decoys` captions of other images, by the cosine of the image's and the captions' embeddings."""
    count = len(images)
    if count < decoys + 1:
        raise UserError(f"R-precision ranks each caption among {decoys} others, so it needs at least "
                        f"{decoys + 1} images with captions; got {count}.")
    generator = torch.Generator().manual_seed(seed)
    picture = torch.cat([F.normalize(embedder.embed_images(images[i:i + batch]), dim=1)
                         for i in range(0, count, batch)])
    words = torch.cat([F.normalize(embedder.embed(captions[i:i + batch]), dim=1) for i in range(0, count, batch)])
    hits = 0
    for i in range(count):
        others = torch.randperm(count - 1, generator=generator)[:decoys]
        others = others + (others >= i).long()  # any image but the i-th
        candidates = torch.cat([words[i:i + 1], words[others]])
        hits += int((candidates @ picture[i]).argmax() == 0)
    return hits / count


def save_text_encoder(embedder: CaptionEmbedder, path, metrics: dict | None = None) -> Path:
    payload = {"format": FORMAT, "vocabulary": embedder.vocabulary.state(), "settings": embedder.settings,
               "text_encoder": embedder.text.state_dict(), "metrics": dict(metrics or {}),
               "image_encoder": None if embedder.image is None else embedder.image.state_dict()}
    return write_atomic(path, lambda handle: torch.save(payload, handle), durable=True)


def text_encoder_path(name) -> Path:
    """model.text_encoder: the name of a shipped encoder (captioned_digits), or a file's path."""
    if isinstance(name, str) and name and "/" not in name and not name.endswith(".pt"):
        shipped = sorted(p.stem for p in SHIPPED.glob("*.pt"))
        if name not in shipped:
            raise UserError(f"model.text_encoder={name!r} is neither a shipped text encoder ({', '.join(shipped)}) "
                            f"nor a .pt file: pass the path of one written by `python scripts/train_text_encoder.py`.")
        return SHIPPED / f"{name}.pt"
    if not isinstance(name, str) or not name:
        raise UserError(f"model.text_encoder={name!r} must name a text encoder: captioned_digits (shipped) or the "
                        f"path of one written by `python scripts/train_text_encoder.py`.")
    return Path(name).expanduser()


def embed_captions(embedder: CaptionEmbedder, captions, batch: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """(N x K x D embeddings of every image's captions, a row padded by repeating them; each image's count)."""
    from gan_cli.data.caption_batches import padded_table

    flat, rows, counts = padded_table(captions)
    embedded = torch.cat([embedder.embed(flat[i:i + batch]).cpu() for i in range(0, len(flat), batch)])
    return embedded[rows], counts


def load_text_encoder(path, key: str = "model.text_encoder") -> CaptionEmbedder:
    """A text encoder checkpoint, read as data only; a wrong or damaged file is refused by name."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"{key}={path} is not a file: pass a text encoder written by "
                        f"`python scripts/train_text_encoder.py` (gan_cli/text/weights/captioned_digits.pt ships).")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means "not a text encoder"
        raise UserError(f"{key}={path} could not be read as a text encoder ({type(error).__name__}); only "
                        f"tensors, numbers, strings and lists are read, never code.") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise UserError(f"{key}={path} is not a gan-cli text encoder (no '{FORMAT}' marker): write one with "
                        f"`python scripts/train_text_encoder.py`.")
    try:
        vocabulary = Vocabulary.from_state(payload["vocabulary"])
        settings = {name: int(value) for name, value in payload["settings"].items()}
        text = TextEncoder(len(vocabulary), settings["embedding_dim"], settings["word_dim"], settings["hidden"])
        text.load_state_dict(payload["text_encoder"])
        image = None
        if payload.get("image_encoder") is not None:
            image = ImageEncoder(settings["channels"], settings["resolution"], settings["embedding_dim"],
                                 settings["image_width"])
            image.load_state_dict(payload["image_encoder"])
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise UserError(f"{key}={path} is a damaged text encoder ({type(error).__name__}: "
                        f"{str(error).splitlines()[0][:200] if str(error) else ''}); write it again with "
                        f"`python scripts/train_text_encoder.py`.") from None
    if not all(torch.isfinite(t).all() for t in text.state_dict().values() if t.is_floating_point()):
        raise UserError(f"{key}={path} holds non-finite weights; write it again with "
                        f"`python scripts/train_text_encoder.py`.")
    return CaptionEmbedder(vocabulary, text, image, settings, path)
