"""The audio data layer: the Slaney mel filter bank and spectrograms (no torchaudio), Griffin-Lim,
offline speech from eSpeak NG, and the spoken-digits set made from it (deterministic, cached, held
out by voice)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from gan_cli.data import audio_clips
from gan_cli.data.speech_synth import Synthesizer
from gan_cli.data.spoken_digits import TEST_VARIANTS, TRAIN_VARIANTS, WORDS, recipe, spoken_digits
from gan_cli.errors import UserError
from gan_cli.mel import (
    griffin_lim,
    hz_to_mel,
    log_mel_spectrogram,
    magnitude_spectrogram,
    mel_filter_bank,
    mel_to_hz,
)


def _slaney_mel(hz: float) -> float:
    return hz / (200 / 3) if hz < 1000 else 15 + math.log(hz / 1000) / (math.log(6.4) / 27)


def _slaney_hz(mel: float) -> float:
    return mel * 200 / 3 if mel < 15 else 1000 * math.exp(math.log(6.4) / 27 * (mel - 15))


def _reference_bank(sr: int, n_fft: int, n_mels: int, f_min: float, f_max: float) -> np.ndarray:
    """librosa.filters.mel(htk=False, norm="slaney") written out with plain floats, one weight at a time."""
    lo, hi = _slaney_mel(f_min), _slaney_mel(f_max)
    edges = [_slaney_hz(lo + (hi - lo) * i / (n_mels + 1)) for i in range(n_mels + 2)]
    bins = [sr / 2 * k / (n_fft // 2) for k in range(n_fft // 2 + 1)]
    bank = np.zeros((n_mels, len(bins)))
    for m in range(n_mels):
        left, centre, right = edges[m], edges[m + 1], edges[m + 2]
        for k, f in enumerate(bins):
            rise, fall = (f - left) / (centre - left), (right - f) / (right - centre)
            bank[m, k] = max(0.0, min(rise, fall)) * 2 / (right - left)
    return bank


def test_the_slaney_scale_is_linear_below_1khz_and_logarithmic_above():
    assert float(hz_to_mel(1000.0)) == pytest.approx(15.0)
    assert float(hz_to_mel(6400.0)) == pytest.approx(42.0)  # 27 mels per factor 6.4
    assert float(hz_to_mel(500.0)) == pytest.approx(7.5)
    hz = torch.tensor([0.0, 123.0, 999.0, 1000.0, 4321.0, 11025.0])
    assert torch.allclose(mel_to_hz(hz_to_mel(hz)), hz.double())


@pytest.mark.parametrize("sr, n_fft, n_mels, f_min, f_max", [
    (22050, 1024, 80, 0.0, 8000.0),     # HiFi-GAN V1 / MelGAN
    (16000, 512, 64, 20.0, 8000.0),     # a spoken-digits front end
])
def test_the_filter_bank_is_librosas(sr, n_fft, n_mels, f_min, f_max):
    bank = mel_filter_bank(sr, n_fft, n_mels, f_min, f_max)
    assert bank.shape == (n_mels, n_fft // 2 + 1) and bank.dtype == torch.float32
    np.testing.assert_allclose(bank.numpy(), _reference_bank(sr, n_fft, n_mels, f_min, f_max), rtol=1e-5, atol=1e-8)
    # Slaney normalisation: each triangle has unit area (in Hz); the wide ones, sampled finely, show it.
    df = sr / n_fft
    areas = bank.double().sum(dim=1) * df
    assert torch.allclose(areas[-10:], torch.ones(10, dtype=torch.float64), atol=0.02)


def test_a_tone_lights_the_filter_around_its_frequency():
    sr, n_fft, hop = 22050, 1024, 256
    t = torch.arange(8192) / sr
    tone = 0.5 * torch.sin(2 * math.pi * 2000 * t)[None]
    bank = mel_filter_bank(sr, n_fft, 80, 0, 8000)
    mel = log_mel_spectrogram(tone, bank, n_fft, hop, n_fft)
    assert mel.shape == (1, 80, 8192 // hop)  # HiFi-GAN's framing: one frame per hop
    centres = mel_to_hz(torch.linspace(float(hz_to_mel(0.0)), float(hz_to_mel(8000.0)), 82)[1:-1])
    brightest = int(mel[0].mean(dim=1).argmax())
    assert abs(float(centres[brightest]) - 2000) < 120


def test_griffin_lim_recovers_a_signal_with_the_asked_magnitude():
    sr = 16000
    t = torch.arange(sr) / sr
    signal = (0.4 * torch.sin(2 * math.pi * 440 * t) + 0.2 * torch.sin(2 * math.pi * 1250 * t))[None]
    magnitude = magnitude_spectrogram(signal, 512, 128, 512, center=True)
    audio = griffin_lim(magnitude, 512, 128, 512, iterations=40, length=sr)
    rebuilt = magnitude_spectrogram(audio, 512, 128, 512, center=True)
    assert audio.shape == signal.shape
    assert float((rebuilt - magnitude).norm() / magnitude.norm()) < 0.25
    assert torch.equal(audio, griffin_lim(magnitude, 512, 128, 512, iterations=40, length=sr))  # deterministic


def test_pcm_of_every_width_becomes_floats_in_range():
    assert audio_clips.as_float(np.array([-32768, 0, 16384], np.int16)).tolist() == [-1.0, 0.0, 0.5]
    assert audio_clips.as_float(np.array([0, 128, 192], np.uint8)).tolist() == [-1.0, 0.0, 0.5]
    assert audio_clips.as_float(np.array([-2**31, 2**30], np.int32)).tolist() == [-1.0, 0.5]
    assert audio_clips.as_float(np.array([2.0, -3.0], np.float64)).tolist() == [1.0, -1.0]
    assert len(audio_clips.resample(np.zeros(22050, np.float32), 22050, 16000)) == 16000
    assert audio_clips.fit_length(np.ones(10, np.float32), 6, offset=2).tolist() == [0, 0, 1, 1, 1, 1]
    faded = audio_clips.fade(np.ones(100, np.float32), 10)
    assert faded[0] == 0 and faded[-1] < 0.2 and np.all(faded[10:90] == 1) and np.all(np.diff(faded[:10]) > 0)


def test_espeak_speaks_a_word_and_names_a_bad_voice():
    synth = Synthesizer.shared()
    assert synth.sample_rate == 22050
    first = synth.speak("seven", "en-us+f3", pitch=60)
    assert first.dtype == np.int16 and 0.2 * synth.sample_rate < len(first) < 1.5 * synth.sample_rate
    assert np.abs(first.astype(np.float32)).max() > 3000  # a word, not silence
    assert len(synth.speak("seven", "en-us+f3", rate=120)) > len(synth.speak("seven", "en-us+f3", rate=300))
    with pytest.raises(UserError, match="'xx-nowhere' is not one of eSpeak NG's voices"):
        synth.speak("seven", "xx-nowhere")


def test_spoken_digits_are_balanced_cached_and_bit_identical_when_made_again(tmp_path):
    audio, labels = spoken_digits(split="train", voices_per_word=3, cache=str(tmp_path))
    assert audio.shape == (30, 1, 16384) and audio.dtype == torch.float32
    assert labels.bincount().tolist() == [3] * len(WORDS)
    assert float(audio.abs().max()) <= 1.0 and all(float(clip.abs().max()) > 0.3 for clip in audio)
    (npz,) = tmp_path.glob("*.npz")
    manifest = json.loads(npz.with_suffix(".json").read_text())
    assert len(manifest["clips"]) == 30 and {"word", "voice", "pitch", "rate", "amplitude"} <= set(manifest["clips"][0])
    stamp = npz.stat().st_mtime_ns
    again, _ = spoken_digits(split="train", voices_per_word=3, cache=str(tmp_path))
    assert npz.stat().st_mtime_ns == stamp and torch.equal(audio, again)  # read from the cache
    npz.unlink()
    regenerated, _ = spoken_digits(split="train", voices_per_word=3, cache=str(tmp_path))
    assert torch.equal(audio, regenerated)
    npz.write_bytes(b"damaged")
    assert torch.equal(spoken_digits(split="train", voices_per_word=3, cache=str(tmp_path))[0], audio)


def test_the_held_out_split_is_voices_training_never_hears():
    train = {clip["voice"] for clip in recipe("train", 16000, 16384, None)}
    test = {clip["voice"] for clip in recipe("test", 16000, 16384, None)}
    assert train and test and not train & test
    assert not set(TRAIN_VARIANTS) & set(TEST_VARIANTS)
    with pytest.raises(UserError, match="split='val' must be train or test"):
        recipe("val", 16000, 16384, None)
