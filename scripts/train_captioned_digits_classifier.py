"""Train the feature extractor of data=captioned_digits (gan_cli.eval.captioned_digits_classifier).

    python scripts/train_captioned_digits_classifier.py   # writes gan_cli/eval/weights/captioned_digits_classifier.pt

Trains on many renders of the train split at 32x32 (the first 2,000 are data=captioned_digits' own
training images; the rest are further draws of the same generator, which make it robust) and on some
rendered at 64x64 and shrunk to 32x32 the way the features wrapper shrinks them (antialiased
bilinear), with small random shifts and faint noise (never flips: a flipped 2 is no digit). Reports
accuracy on the held-out test split (500 images of another seed) at 32x32 and at 64x64 shrunk, and
the RMS of the features there (CaptionedDigitsFeatures.kid_feature_scale), then writes the weights (a
plain state dict) atomically, with their sha256. Seeded and deterministic on the CPU for a given
--threads: about 20 s of rendering and a minute of training on one thread. One thread is the default
because it is the fastest on a shared two-core machine: with another process busy, two threads
waited on each other and trained ten times slower.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_cli.data.captioned_digits import captioned_digits
from gan_cli.eval.captioned_digits_classifier import RESOLUTION, CaptionedDigitsClassifier
from gan_cli.runs.files import write_atomic

DEFAULT_OUT = (Path(__file__).resolve().parent.parent / "gan_cli" / "eval" / "weights"
               / "captioned_digits_classifier.pt")


def shrink(images: torch.Tensor) -> torch.Tensor:
    """Images of another size -> 32x32, as CaptionedDigitsFeatures resizes them."""
    if images.shape[-1] == RESOLUTION:
        return images
    return F.interpolate(images, size=(RESOLUTION, RESOLUTION), mode="bilinear", align_corners=False,
                         antialias=True).clamp(-1, 1)


def augment(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image shifted by up to max_shift pixels (the border, a plain background, repeated), with
    faint noise."""
    padded = F.pad(images, [max_shift] * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_shift + 1, (len(images), 2), generator=generator)
    out = torch.stack([padded[i, :, dy:dy + RESOLUTION, dx:dx + RESOLUTION]
                       for i, (dy, dx) in enumerate(offsets.tolist())])
    return (out + 0.03 * torch.randn(out.shape, generator=generator)).clamp(-1, 1)


@torch.no_grad()
def evaluate(model: CaptionedDigitsClassifier, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(accuracy, RMS of the features) of the model in eval mode."""
    model.eval()
    features, logits = model(shrink(images))
    model.train()
    return (logits.argmax(dim=1) == labels).float().mean().item(), features.pow(2).mean().sqrt().item()


def training_set(count: int, count_64: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = captioned_digits("train", RESOLUTION, count=count)
    if not count_64:
        return images, labels
    large, large_labels = captioned_digits("train", 2 * RESOLUTION, count=count_64)
    return torch.cat([images, shrink(large)]), torch.cat([labels, large_labels])


def fit(model, images, labels, test, epochs: int, generator: torch.Generator) -> None:
    """AdamW with a one-cycle schedule, batches of 128; the held-out accuracy after each epoch."""
    batches = (len(images) + 127) // 128
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=4e-3, total_steps=epochs * batches)
    start = time.perf_counter()
    for epoch in range(epochs):
        for batch in torch.randperm(len(images), generator=generator).split(128):
            logits = model(augment(images[batch], 2, generator))[1]
            loss = F.cross_entropy(logits, labels[batch], label_smoothing=0.05)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, held-out accuracy {evaluate(model, *test)[0]:.4f} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=20000, help="train-split renders at 32x32")
    parser.add_argument("--count-64", type=int, default=5000, help="train-split renders at 64x64, shrunk")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (the shipped weights: 1)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    start = time.perf_counter()
    images, labels = training_set(args.count, args.count_64)
    test = captioned_digits("test", RESOLUTION)
    test_64 = captioned_digits("test", 2 * RESOLUTION)
    print(f"rendered {len(images)} training images in {time.perf_counter() - start:.0f} s", flush=True)
    model = CaptionedDigitsClassifier()
    fit(model, images, labels, test, args.epochs, generator)
    (accuracy, rms), (accuracy_64, _) = evaluate(model, *test), evaluate(model, *test_64)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    write_atomic(args.out, lambda handle: torch.save(state, handle))
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"held-out accuracy {accuracy:.4f} at 32x32, {accuracy_64:.4f} at 64x64 shrunk ({len(test[1])} images); "
          f"feature RMS {rms:.3f}; {time.perf_counter() - start:.0f} s in all; wrote {args.out} "
          f"({args.out.stat().st_size / 1024:.0f} KiB, sha256 {digest})")


if __name__ == "__main__":
    main()
