"""The offline audio feature extractor: a small CNN on log-mel spectrograms of the spoken digits.

It plays the part of WaveGAN's SC09 classifier (Donahue et al. 2019 score generated digits with a
classifier trained on SC09's log-mel spectrograms): its penultimate layer (128-d) gives a Fréchet
distance, KID and precision/recall of audio; its logits the Inception score, class coverage and
the share of clips it reads confidently as one digit. scripts/train_spoken_digits_classifier.py
trains it on data=spoken_digits' training voices and writes gan_cli/eval/weights/.

Its front end is fixed: 16 kHz mono, 16,384 samples (longer clips are cut, shorter ones padded with
silence), Hann-windowed STFT of 512 samples with hop 128, 64 Slaney mel bands (20 Hz - 8 kHz),
log of the mel energy floored at 1e-5: a (1, 64, 128) image per clip.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.mel import log_mel_spectrogram, mel_filter_bank

SAMPLE_RATE = 16000
LENGTH = 16384
N_FFT, HOP, N_MELS, F_MIN, F_MAX = 512, 128, 64, 20.0, 8000.0
FEATURE_DIM = 128
NUM_CLASSES = 10
# log-mel values run from log(1e-5) = -11.5 (silence) to about 3: centred and scaled to about [-1, 1].
LOG_MEL_CENTRE, LOG_MEL_SCALE = -4.0, 4.0


def fit_clips(audio: torch.Tensor, length: int = LENGTH) -> torch.Tensor:
    """(N, 1, T) or (N, T) audio -> (N, length): cut at the end, or padded with silence."""
    if audio.dim() == 3:
        audio = audio[:, 0]
    if audio.shape[-1] >= length:
        return audio[..., :length]
    return F.pad(audio, (0, length - audio.shape[-1]))


class SpokenDigitsClassifier(nn.Module):
    def __init__(self, width: int = 16, feature_dim: int = FEATURE_DIM, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.register_buffer("bank", mel_filter_bank(SAMPLE_RATE, N_FFT, N_MELS, F_MIN, F_MAX), persistent=False)

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                    nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                    nn.MaxPool2d(2)]

        # (1, 64, 128) -> 32x64 -> 16x32 -> 8x16 -> 4x8, averaged over time and frequency.
        self.body = nn.Sequential(*block(1, width), *block(width, 2 * width), *block(2 * width, 4 * width),
                                  *block(4 * width, 8 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.features = nn.Sequential(nn.Dropout(0.2), nn.Linear(8 * width, feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(feature_dim, num_classes)

    def spectrogram(self, audio: torch.Tensor) -> torch.Tensor:
        """(N, 1, T) audio at 16 kHz in [-1, 1] -> the normalised log-mel image (N, 1, 64, 128)."""
        clips = fit_clips(audio.float().clamp(-1, 1))
        mel = log_mel_spectrogram(clips, self.bank, N_FFT, HOP, N_FFT)
        return ((mel - LOG_MEL_CENTRE) / LOG_MEL_SCALE).unsqueeze(1)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """audio (N, 1, T) -> (features (N, 128), logits (N, 10))."""
        features = self.features(self.body(self.spectrogram(audio)))
        return features, self.head(features)
