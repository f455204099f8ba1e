"""Train the offline feature extractor (gan_cli.eval.digits_classifier) on scikit-learn's digits.

    python scripts/train_digits_classifier.py            # writes gan_cli/eval/weights/digits_classifier.pt

Trains on a stratified 80% of the 1,797 digits at 32x32 with small random shifts, reports accuracy on
the held-out 20%, and saves the weights (a plain state dict, ~0.4 MB) with their sha256.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_cli.data.digits import digits
from gan_cli.eval.digits_classifier import RESOLUTION, DigitsClassifier

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "gan_cli" / "eval" / "weights" / "digits_classifier.pt"


def split(labels: torch.Tensor, test_fraction: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified train/test indices."""
    train, test = [], []
    for label in labels.unique():
        members = (labels == label).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        cut = round(len(members) * test_fraction)
        test.append(members[:cut])
        train.append(members[cut:])
    return torch.cat(train), torch.cat(test)


def shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by up to max_shift pixels, filling with the background (-1)."""
    padded = F.pad(images, [max_shift] * 4, value=-1.0)
    out = torch.empty_like(images)
    offsets = torch.randint(0, 2 * max_shift + 1, (len(images), 2), generator=generator)
    for i, (dy, dx) in enumerate(offsets.tolist()):
        out[i] = padded[i, :, dy:dy + RESOLUTION, dx:dx + RESOLUTION]
    return out


def accuracy(model: DigitsClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predictions = model(images)[1].argmax(dim=1)
    model.train()
    return (predictions == labels).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    images, labels = digits(resolution=RESOLUTION)
    train_idx, test_idx = split(labels, 0.2, generator)
    model = DigitsClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)
    for epoch in range(args.epochs):
        order = train_idx[torch.randperm(len(train_idx), generator=generator)]
        for batch in order.split(64):
            x = shift(images[batch], 2, generator) + 0.05 * torch.randn(len(batch), 1, RESOLUTION, RESOLUTION,
                                                                         generator=generator)
            loss = F.cross_entropy(model(x.clamp(-1, 1))[1], labels[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        schedule.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}: loss {loss.item():.4f}, held-out accuracy "
                  f"{accuracy(model, images[test_idx], labels[test_idx]):.4f}")
    test_accuracy = accuracy(model, images[test_idx], labels[test_idx])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.contiguous() for k, v in model.state_dict().items()}, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"held-out accuracy {test_accuracy:.4f} ({len(test_idx)} digits); wrote {args.out} "
          f"({args.out.stat().st_size / 1024:.0f} KiB, sha256 {digest})")


if __name__ == "__main__":
    main()
