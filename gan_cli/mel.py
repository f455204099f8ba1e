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


class MelFeatures:
    """A vocoder's mel settings (model.mel: HiFi-GAN's 22,050 Hz, n_fft 1024, hop 256, win 1024, 80 mels,
    0-8000 Hz for the input, 0-Nyquist for the loss's mel) and the two spectrograms they define, with the
    filter banks kept per device: `input(audio)` what the generator reads, `loss(audio)` the mel L1's."""

    KEYS = ("sample_rate", "n_fft", "hop", "win", "n_mels", "f_min", "f_max", "f_max_loss")

    def __init__(self, sample_rate: int = 22050, n_fft: int = 1024, hop: int = 256, win: int = 1024, n_mels: int = 80,
                 f_min: float = 0.0, f_max: float | None = 8000.0, f_max_loss: float | None = None):
        self.sample_rate, self.n_fft, self.hop, self.win, self.n_mels = sample_rate, n_fft, hop, win, n_mels
        self.f_min, self.f_max, self.f_max_loss = f_min, f_max, f_max_loss
        self._banks: dict[tuple, torch.Tensor] = {}

    @classmethod
    def from_config(cls, node) -> MelFeatures:
        from gan_cli.errors import UserError

        values = {key: node.get(key) for key in cls.KEYS if node.get(key) is not None or key.startswith("f_max")}
        for key in ("sample_rate", "n_fft", "hop", "win", "n_mels"):
            value = values.get(key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UserError(f"model.mel.{key}={value!r} must be a positive whole number (HiFi-GAN: sample_rate "
                                f"22050, n_fft 1024, hop 256, win 1024, n_mels 80).")
        if values["win"] > values["n_fft"] or values["hop"] > values["win"]:
            raise UserError(f"model.mel: hop={values['hop']} <= win={values['win']} <= n_fft={values['n_fft']} must hold.")
        nyquist = values["sample_rate"] / 2
        for key in ("f_max", "f_max_loss"):
            if values.get(key) is not None and not 0 < values[key] <= nyquist:
                raise UserError(f"model.mel.{key}={values[key]!r} must be in (0, {nyquist:g}] Hz, or null (Nyquist).")
        return cls(**values)

    def describe(self) -> dict:
        return {key: getattr(self, key) for key in self.KEYS}

    def _bank(self, f_max, device) -> torch.Tensor:
        key = (f_max, str(device))
        if key not in self._banks:
            self._banks[key] = mel_filter_bank(self.sample_rate, self.n_fft, self.n_mels, self.f_min, f_max).to(device)
        return self._banks[key]

    def input(self, audio: torch.Tensor) -> torch.Tensor:
        """(B, 1, T) audio -> (B, n_mels, T / hop): the generator's input."""
        return log_mel_spectrogram(audio.float(), self._bank(self.f_max, audio.device), self.n_fft, self.hop, self.win)

    def loss(self, audio: torch.Tensor) -> torch.Tensor:
        """The mel of the L1 term (and of the evaluation's mel L1): up to f_max_loss."""
        return log_mel_spectrogram(audio.float(), self._bank(self.f_max_loss, audio.device), self.n_fft, self.hop,
                                   self.win)

    def griffin_lim(self, audio: torch.Tensor, iterations: int = 32) -> torch.Tensor:
        """The reference any vocoder must beat: the input mel of (B, 1, T) audio, its magnitude recovered by
        the filter bank's pseudo-inverse (clamped at 0), its phase by Griffin-Lim; (B, 1, T) audio back."""
        mel = torch.exp(self.input(audio)).double()
        bank = self._bank(self.f_max, audio.device).double()
        magnitude = torch.clamp(torch.linalg.pinv(bank) @ mel, min=0).float()
        length = audio.shape[-1]
        # Centred frames of `length` samples are one more than the mel's: the last one repeated.
        magnitude = torch.cat([magnitude, magnitude[..., -1:]], dim=-1)[..., : length // self.hop + 1]
        rebuilt = griffin_lim(magnitude, self.n_fft, self.hop, self.win, iterations, length=length)
        # griffin_lim's frames are centred on t x hop; the input mel's (reflect-padded by (n_fft - hop) / 2, not
        # centred) on t x hop + n_fft / 2 - (n_fft - hop) / 2: delay the rebuilt audio by the difference.
        shift = self.n_fft // 2 - (self.n_fft - self.hop) // 2
        rebuilt = torch.nn.functional.pad(rebuilt, (shift, 0))[..., :length]
        return rebuilt.clamp(-1, 1).unsqueeze(1)
