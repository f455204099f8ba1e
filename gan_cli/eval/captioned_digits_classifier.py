"""The offline feature extractor of data=captioned_digits: a small CNN on the coloured digits at 32x32.

It plays Inception-v3's part for the text-to-image set, with no download: its penultimate layer
(64-d) gives "FID-captioned", KID and precision/recall; its logits the Inception-Score-style score,
class coverage and the digit accuracy of generated images. The handwritten-digits classifier reads
these renders (colour on colour, varied size, weight, slant and position) only about 80% right, so
they get their own. scripts/train_captioned_digits_classifier.py trains it and writes
gan_cli/eval/weights/.
"""

from __future__ import annotations

import torch
import torch.nn as nn

RESOLUTION = 32
FEATURE_DIM = 64
NUM_CLASSES = 10


class CaptionedDigitsClassifier(nn.Module):
    def __init__(self, width: int = 16, feature_dim: int = FEATURE_DIM, num_classes: int = NUM_CLASSES):
        super().__init__()

        def block(cin: int, cout: int, kernel: int, stride: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, kernel, stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                    nn.ReLU(inplace=True)]

        # 32x32 -> 16 -> 8 (strided convolutions) -> 4 (max pool), then averaged over the positions:
        # where the digit stands is the caption's business, not its class.
        self.body = nn.Sequential(*block(3, width, 4, 2), *block(width, 2 * width, 4, 2),
                                  *block(2 * width, 4 * width, 3, 1), nn.MaxPool2d(2),
                                  *block(4 * width, 4 * width, 3, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.features = nn.Sequential(nn.Linear(4 * width, feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, 32, 32) in [-1, 1] -> (features (N, 64), logits (N, 10))."""
        assert images.ndim == 4 and images.shape[1:] == (3, RESOLUTION, RESOLUTION), images.shape
        features = self.features(self.body(images))
        return features, self.head(features)
