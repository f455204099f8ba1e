"""Audio as the models see it: mono float32 samples in [-1, 1] at the data's rate, cut or padded to a
fixed length; resampled band-limited (polyphase, scipy) and written as 16-bit WAV with soundfile."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def as_float(samples: np.ndarray) -> np.ndarray:
    """Integer PCM (int16, int32, uint8) or float samples as float32 in [-1, 1]."""
    samples = np.asarray(samples)
    if samples.dtype == np.uint8:
        return (samples.astype(np.float32) - 128.0) / 128.0
    if np.issubdtype(samples.dtype, np.integer):
        return samples.astype(np.float32) / float(-np.iinfo(samples.dtype).min)
    return np.clip(samples.astype(np.float32), -1.0, 1.0)


def resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Band-limited resampling from `rate` to `target_rate` (Hz): scipy's polyphase filter."""
    if rate == target_rate:
        return samples.astype(np.float32)
    from scipy.signal import resample_poly

    ratio = Fraction(int(target_rate), int(rate)).limit_denominator(1000)
    return resample_poly(samples.astype(np.float64), ratio.numerator, ratio.denominator).astype(np.float32)


def trim_silence(samples: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """The samples from the first to the last one above threshold x the peak (nothing when silent)."""
    if samples.size == 0:
        return samples
    loud = np.flatnonzero(np.abs(samples) > threshold * max(float(np.abs(samples).max()), 1e-12))
    return samples[loud[0]: loud[-1] + 1] if loud.size else samples[:0]


def fade(samples: np.ndarray, length: int) -> np.ndarray:
    """Linear fades of `length` samples in and out: a clip cut mid-wave starts and ends without a click."""
    length = min(length, len(samples) // 2)
    if length < 1:
        return samples
    ramp = np.linspace(0.0, 1.0, length, endpoint=False, dtype=np.float32)
    out = samples.astype(np.float32).copy()
    out[:length] *= ramp
    out[-length:] *= ramp[::-1]
    return out


def fit_length(samples: np.ndarray, length: int, offset: int = 0) -> np.ndarray:
    """Exactly `length` samples: cropped at the end, or zero-padded after `offset` leading zeros."""
    out = np.zeros(length, np.float32)
    clip = samples[: max(length - offset, 0)]
    out[offset: offset + len(clip)] = clip
    return out


def write_wav(path: str | Path, samples, sample_rate: int) -> Path:
    """Mono 16-bit PCM WAV of float samples in [-1, 1] (a torch tensor or an array)."""
    import soundfile

    values = samples.detach().cpu().float().numpy() if hasattr(samples, "detach") else np.asarray(samples)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.clip(values.reshape(-1), -1.0, 1.0), int(sample_rate), subtype="PCM_16")
    return path
