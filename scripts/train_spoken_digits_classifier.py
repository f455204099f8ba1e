"""Train the offline audio feature extractor (gan_cli.eval.spoken_digits_classifier) on data=spoken_digits.

    python scripts/train_spoken_digits_classifier.py     # writes gan_cli/eval/weights/spoken_digits_classifier.pt

Trains on the training voices (4,320 clips) with random gain, time shift and background noise, reports
accuracy on the held-out voices (the test split: 1,440 clips of voices the training split never
hears), and saves the weights (a plain state dict) with their sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gan_cli.data.spoken_digits import spoken_digits
from gan_cli.eval.spoken_digits_classifier import LENGTH, SpokenDigitsClassifier

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "gan_cli" / "eval" / "weights" / "spoken_digits_classifier.pt"


def augment(audio: torch.Tensor, generator: torch.Generator, max_shift: int = 2400) -> torch.Tensor:
    """Each clip at a random gain (-12 ... 0 dB), shifted later by up to max_shift samples, with faint noise."""
    n = len(audio)
    gain = 10 ** (-torch.rand(n, 1, 1, generator=generator) * 12 / 20)
    shifts = torch.randint(0, max_shift + 1, (n,), generator=generator)
    padded = F.pad(audio, (max_shift, 0))
    out = torch.stack([padded[i, :, max_shift - s: max_shift - s + LENGTH] for i, s in enumerate(shifts.tolist())])
    noise = torch.randn(out.shape, generator=generator) * 10 ** (-(40 + 30 * torch.rand(n, 1, 1, generator=generator)) / 20)
    return (out * gain + noise).clamp(-1, 1)


def accuracy(model: SpokenDigitsClassifier, audio: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predictions = torch.cat([model(batch)[1].argmax(dim=1) for batch in audio.split(256)])
    model.train()
    return (predictions == labels).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    audio, labels = spoken_digits(split="train")
    test_audio, test_labels = spoken_digits(split="test")
    model = SpokenDigitsClassifier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = args.epochs * ((len(audio) + 63) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.randperm(len(audio), generator=generator)
        for batch in order.split(64):
            loss = F.cross_entropy(model(augment(audio[batch], generator))[1], labels[batch], label_smoothing=0.05)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, held-out accuracy "
              f"{accuracy(model, test_audio, test_labels):.4f} ({time.perf_counter() - start:.0f} s)", flush=True)
    test_accuracy = accuracy(model, test_audio, test_labels)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.contiguous() for k, v in model.state_dict().items()}, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"held-out accuracy {test_accuracy:.4f} ({len(test_labels)} clips of unseen voices); wrote {args.out} "
          f"({args.out.stat().st_size / 1024:.0f} KiB, sha256 {digest})")


if __name__ == "__main__":
    main()
