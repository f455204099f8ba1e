"""Train the text encoder StackGAN conditions on (gan_cli.text.encoder) on a captioned set's captions.

    python scripts/train_text_encoder.py        # writes gan_cli/text/weights/captioned_digits.pt
    python scripts/train_text_encoder.py --root /data/CUB_200_2011 --resolution 64 --out cub_text.pt
                                                # a captioned folder's (data=captioned_folder layouts);
                                                # then gan-train ... model.text_encoder=cub_text.pt

A word-level bidirectional GRU and a small image CNN learn a joint space with the symmetric matching
loss (each caption against every image of the batch, and back), on data=captioned_digits' 2,000
training images and their five captions each (one drawn per image and step), at 32x32. Reports the
R-precision (the true caption ranked first among it and 99 captions of other images) on the 500
held-out images, and writes one checkpoint: the vocabulary, the settings and both encoders' weights,
read back as data only. About 2 CPU minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import torch

from gan_cli.data.captioned_digits import captioned_digits
from gan_cli.text.encoder import (
    CaptionEmbedder,
    ImageEncoder,
    TextEncoder,
    load_text_encoder,
    matching_loss,
    r_precision,
    save_text_encoder,
)
from gan_cli.text.tokens import Vocabulary

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "gan_cli" / "text" / "weights" / "captioned_digits.pt"


def captioned_set(root: Path | None, split: str, resolution: int):
    """(images N x 3 x R x R, a tuple of captions per image): the captioned digits, or a captioned folder's."""
    if root is None:
        data = captioned_digits(split, resolution)
        return data[0], data.captions
    from gan_cli.data.captioned_folder import captioned_folder

    data = captioned_folder(str(root), resolution, 3, split)
    return torch.stack([data[i][0] for i in range(len(data))]), data.captions


def train(epochs: int, batch: int, resolution: int, seed: int, lr: float = 2e-3,
          root: Path | None = None) -> tuple[CaptionEmbedder, dict]:
    torch.manual_seed(seed)
    images, captions = captioned_set(root, "train", resolution)
    counts = torch.tensor([len(group) for group in captions])
    vocabulary = Vocabulary.of_captions([c for group in captions for c in group])
    settings = {"embedding_dim": 128, "word_dim": 64, "hidden": 128, "channels": 3, "resolution": resolution,
                "image_width": 32}
    text = TextEncoder(len(vocabulary), settings["embedding_dim"], settings["word_dim"], settings["hidden"])
    image = ImageEncoder(3, resolution, settings["embedding_dim"], settings["image_width"])
    parameters = [*text.parameters(), *image.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=lr)
    steps = epochs * (len(images) // batch)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(seed)
    step = 0
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=generator)
        for start in range(0, len(images) - batch + 1, batch):
            chosen = order[start:start + batch]
            if bool((counts == counts[0]).all()):
                pick = torch.randint(len(captions[0]), (batch,), generator=generator).tolist()
            else:  # a folder's images have different numbers of captions
                pick = (torch.rand(batch, generator=generator) * counts[chosen]).long().tolist()
            ids, lengths = vocabulary.batch([captions[i][k] for i, k in zip(chosen.tolist(), pick)])
            loss = matching_loss(text(ids, lengths), image(images[chosen]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
        print(f"epoch {epoch + 1}/{epochs}: matching loss {loss.item():.3f}", flush=True)
    return CaptionEmbedder(vocabulary, text, image, settings), {"steps": step, "final_loss": loss.item()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--root", type=Path, help="a captioned folder (data=captioned_folder) instead of the digits")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.process_time()
    embedder, figures = train(args.epochs, args.batch, args.resolution, args.seed, root=args.root)
    test_images, test_captions = captioned_set(args.root, "test", args.resolution)
    first = [group[0] for group in test_captions]
    figures["r_precision"] = r_precision(embedder, test_images, first)
    figures["cpu_minutes"] = (time.process_time() - started) / 60
    save_text_encoder(embedder, args.out, figures)
    load_text_encoder(args.out)  # it reads back
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"R-precision on the {len(first)} held-out images: {figures['r_precision']:.1%} (chance 1%); "
          f"{len(embedder.vocabulary) - 2} words; {figures['cpu_minutes']:.1f} CPU min")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, sha256 {digest})")


if __name__ == "__main__":
    main()
