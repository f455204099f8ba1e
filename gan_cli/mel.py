"""Spectrograms without torchaudio: the Slaney mel scale and filter bank (the one librosa, HiFi-GAN and
MelGAN use), log-mel spectrograms from torch.stft, and Griffin-Lim phase recovery with torch.istft.

    bank = mel_filter_bank(sample_rate=22050, n_fft=1024, n_mels=80, f_min=0, f_max=8000)   # (80, 513)
    mel = log_mel_spectrogram(audio, bank, n_fft=1024, hop=256, win=1024)                    # (B, 80, frames)
    audio = griffin_lim(magnitude, n_fft=1024, hop=256, win=1024, iterations=32)
"""

from __future__ import annotations

import math

import torch

# The Slaney scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4).
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOG_STEP = math.log(6.4) / 27.0


def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    hz = torch.as_tensor(hz, dtype=torch.float64)
    linear = hz / _F_SP
    logarithmic = _MIN_LOG_MEL + torch.log(torch.clamp(hz, min=_MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOG_STEP
    return torch.where(hz >= _MIN_LOG_HZ, logarithmic, linear)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    mel = torch.as_tensor(mel, dtype=torch.float64)
    linear = mel * _F_SP
    logarithmic = _MIN_LOG_HZ * torch.exp(_LOG_STEP * (mel - _MIN_LOG_MEL))
    return torch.where(mel >= _MIN_LOG_MEL, logarithmic, linear)


def mel_filter_bank(sample_rate: int, n_fft: int, n_mels: int, f_min: float = 0.0,
                    f_max: float | None = None) -> torch.Tensor:
    """(n_mels, n_fft // 2 + 1) triangular filters on the Slaney scale, each of unit area (Slaney
    normalisation: height 2 / its width in Hz), as librosa.filters.mel(htk=False, norm="slaney")."""
    f_max = sample_rate / 2 if f_max is None else f_max
    fft_freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = mel_to_hz(torch.linspace(float(hz_to_mel(f_min)), float(hz_to_mel(f_max)), n_mels + 2,
                                     dtype=torch.float64))
    widths = torch.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(lower, upper), min=0)
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.float()


def magnitude_spectrogram(audio: torch.Tensor, n_fft: int, hop: int, win: int, center: bool = False) -> torch.Tensor:
    """|STFT| of (B, T) or (B, 1, T) audio with a Hann window: (B, n_fft // 2 + 1, frames). Without
    centring the signal is reflect-padded by (n_fft - hop) / 2 on each side (HiFi-GAN's framing)."""
    if audio.dim() == 3:
        audio = audio.squeeze(1)
    if not center:
        pad = (n_fft - hop) // 2
        audio = torch.nn.functional.pad(audio.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    window = torch.hann_window(win, device=audio.device, dtype=audio.dtype)
    spec = torch.stft(audio, n_fft, hop_length=hop, win_length=win, window=window, center=center,
                      return_complex=True)
    return torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)


def log_mel_spectrogram(audio: torch.Tensor, bank: torch.Tensor, n_fft: int, hop: int, win: int,
                        floor: float = 1e-5) -> torch.Tensor:
    """log(max(bank @ |STFT|, floor)): (B, n_mels, frames), the vocoders' input and their mel loss."""
    magnitude = magnitude_spectrogram(audio, n_fft, hop, win)
    return torch.log(torch.clamp(torch.matmul(bank.to(magnitude), magnitude), min=floor))


def griffin_lim(magnitude: torch.Tensor, n_fft: int, hop: int, win: int, iterations: int = 32,
                length: int | None = None, momentum: float = 0.99) -> torch.Tensor:
    """Audio (B, T) whose |STFT| (centred frames) approaches `magnitude` (B, n_fft // 2 + 1, frames):
    the fast Griffin-Lim of Perraudin et al. (2013), from zero phase, deterministic."""
    window = torch.hann_window(win, device=magnitude.device, dtype=magnitude.dtype)
    angles = torch.ones_like(magnitude, dtype=torch.complex64 if magnitude.dtype == torch.float32 else torch.complex128)
    previous = torch.zeros_like(angles)
    audio = None
    for _ in range(iterations):
        audio = torch.istft(magnitude * angles, n_fft, hop_length=hop, win_length=win, window=window, length=length)
        rebuilt = torch.stft(audio, n_fft, hop_length=hop, win_length=win, window=window, return_complex=True)
        angles = rebuilt - (momentum / (1 + momentum)) * previous
        previous = rebuilt
        angles = angles / angles.abs().clamp(min=1e-16)
    return torch.istft(magnitude * angles, n_fft, hop_length=hop, win_length=win, window=window, length=length)
