"""The offline feature extractor: a small CNN trained on scikit-learn's digits at 32x32.

It plays Inception-v3's part for data=digits, with no download: its penultimate layer (64-d) gives
"FID-digits", KID and precision/recall; its logits give an Inception-Score-style score and class
coverage. scripts/train_digits_classifier.py trains it and writes gan_cli/eval/weights/.
"""

from __future__ import annotations

import torch
import torch.nn as nn

RESOLUTION = 32
FEATURE_DIM = 64
NUM_CLASSES = 10


class DigitsClassifier(nn.Module):
    def __init__(self, width: int = 16, feature_dim: int = FEATURE_DIM, num_classes: int = NUM_CLASSES):
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2)]

        # 32x32 -> 16 -> 8 -> 4, then a feature layer and the class logits.
        self.body = nn.Sequential(*block(1, width), *block(width, 2 * width), *block(2 * width, 4 * width), nn.Flatten())
        self.features = nn.Sequential(nn.Linear(4 * width * 4 * 4, feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 1, 32, 32) in [-1, 1] -> (features (N, 64), logits (N, 10))."""
        assert images.ndim == 4 and images.shape[1:] == (1, RESOLUTION, RESOLUTION), images.shape
        features = self.features(self.body(images))
        return features, self.head(features)
