"""data=spoken_digits: an SC09-like set of the words "zero" ... "nine", synthesised on first use by the
eSpeak NG engine the espeakng-loader wheel ships (gan_cli/data/speech_synth.py), and cached.

Each clip is one word by one speaker: an English voice (en-us, en, en-gb-x-rp, en-gb-scotland,
en-029, en-us-nyc) with a voice variant (m1 ... m6, f1, f4, linda, ...), at one of several pitches and speaking
rates and an amplitude, resampled from 22,050 Hz to the data's rate, its silence trimmed and the word
placed at the start of a fixed-length clip (16,384 samples at 16 kHz: WaveGAN's 1.024 s). The
held-out split is by speaker: the test split's variants are voices the training split never hears.

The set is bit-identical when regenerated (the engine is deterministic); it is cached as 16-bit PCM,
one .npz per split and settings under the cache folder ($GAN_CLI_CACHE or ~/.cache/gan-cli), with a manifest
(JSON) naming every clip's word, voice, pitch, rate and amplitude.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from gan_cli.data.audio_clips import as_float, fade, fit_length, resample, trim_silence
from gan_cli.errors import UserError

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
LANGUAGES = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-us-nyc")
# Voice variants whose speech is the same in every fresh process (Alicia, Demonic, f2, f3, f5, sandro,
# victor, whisper and whisperf add noise that is not: they are left out).
TRAIN_VARIANTS = ("m1", "m2", "m3", "m4", "m6", "f1", "f4", "adam", "Andrea", "Annie", "david", "linda")
TEST_VARIANTS = ("m5", "Andy", "aunty", "belinda")
PITCHES = (35, 50, 65)
RATES = (140, 175)
FORMAT = 2  # bump when the recipe changes: a new cache file (2: 5 ms fades at the cut edges)


def cache_dir() -> Path:
    return Path(os.environ.get("GAN_CLI_CACHE") or Path.home() / ".cache" / "gan-cli")


def recipe(split: str, sample_rate: int, length: int, voices_per_word: int | None) -> list[dict]:
    """Every clip of a split: word, voice, pitch, rate and amplitude (a fixed, seeded choice)."""
    if split not in ("train", "test"):
        raise UserError(f"data.dataset.split={split!r} must be train or test (the test split's voices are "
                        f"ones the training split never hears).")
    variants = TRAIN_VARIANTS if split == "train" else TEST_VARIANTS
    speakers = [f"{language}+{variant}" for language, variant in itertools.product(LANGUAGES, variants)]
    rng = np.random.default_rng([FORMAT, sample_rate, length, 0 if split == "train" else 1])
    clips = []
    for label, word in enumerate(WORDS):
        for speaker in speakers:
            for pitch, rate in itertools.product(PITCHES, RATES):
                clips.append({"word": word, "label": label, "voice": speaker, "pitch": pitch, "rate": rate,
                              "amplitude": round(float(rng.uniform(0.5, 0.95)), 4)})
    if voices_per_word is not None:
        per_word = len(clips) // len(WORDS)
        keep = sorted(rng.permutation(per_word)[:voices_per_word])
        clips = [clip for label in range(len(WORDS)) for index, clip in enumerate(clips[label * per_word:
                 (label + 1) * per_word]) if index in set(keep)]
    return clips


def synthesise(clips: list[dict], sample_rate: int, length: int) -> np.ndarray:
    """(N, length) float32 clips, each word trimmed, peak-normalised to its amplitude, at the start."""
    from gan_cli.data.speech_synth import Synthesizer

    synth = Synthesizer.shared()
    out = np.zeros((len(clips), length), np.float32)
    for index, clip in enumerate(clips):
        samples = as_float(synth.speak(clip["word"], clip["voice"], clip["pitch"], clip["rate"]))
        samples = fade(trim_silence(resample(samples, synth.sample_rate, sample_rate)), int(0.005 * sample_rate))
        peak = float(np.abs(samples).max()) if samples.size else 0.0
        if peak > 0:
            samples = samples * (clip["amplitude"] / peak)
        out[index] = fit_length(samples, length, offset=int(0.02 * sample_rate))
    return out


def spoken_digits(sample_rate: int = 16000, length: int = 16384, split: str = "train",
                  voices_per_word: int | None = None, cache: str | None = None):
    """(audio (N, 1, length) in [-1, 1], labels (N,)): the spoken digits of a split, from the cache or
    synthesised once and cached. voices_per_word: a subset per word (small sets for tests)."""
    for key, value, low in (("sample_rate", sample_rate, 4000), ("length", length, 1024)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise UserError(f"data.dataset.{key}={value!r} must be a whole number of at least {low}.")
    clips = recipe(split, sample_rate, length, voices_per_word)
    key = json.dumps({"format": FORMAT, "split": split, "sample_rate": sample_rate, "length": length,
                      "voices_per_word": voices_per_word}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = Path(cache).expanduser() if cache else cache_dir() / "spoken_digits"
    path = folder / f"spoken_digits-{split}-{digest}.npz"
    audio = _read_cache(path, len(clips), length)
    if audio is None:
        _make_in_fresh_process(split, sample_rate, length, voices_per_word, path)
        audio = _read_cache(path, len(clips), length)
        if audio is None:
            raise UserError(f"The spoken digits could not be written to {path}; check that the folder is writable "
                            f"(data.dataset.cache, or $GAN_CLI_CACHE).")
    labels = torch.tensor([clip["label"] for clip in clips], dtype=torch.long)
    return torch.from_numpy(audio).unsqueeze(1), labels


def make(split: str, sample_rate: int, length: int, voices_per_word: int | None, path: Path) -> None:
    """Synthesise a split and write it to `path` (16-bit PCM) with its manifest beside it."""
    clips = recipe(split, sample_rate, length, voices_per_word)
    pcm = np.round(synthesise(clips, sample_rate, length) * 32767).astype(np.int16)  # 16-bit, as WAV files
    settings = {"format": FORMAT, "split": split, "sample_rate": sample_rate, "length": length,
                "voices_per_word": voices_per_word}
    manifest = {"settings": settings, "clips": clips, "sha256": hashlib.sha256(pcm.tobytes()).hexdigest()}
    _replace(path.with_suffix(".json"), lambda handle: handle.write(json.dumps(manifest, indent=1).encode()))
    _replace(path, lambda handle: np.savez(handle, audio=pcm))


def _make_in_fresh_process(split, sample_rate, length, voices_per_word, path: Path) -> None:
    """make() in a new Python process: eSpeak NG's output depends on what the engine spoke before in
    its process (its noise source runs on), so a set is bit-identical only from an engine that starts
    afresh and speaks the recipe in order."""
    arguments = json.dumps([split, sample_rate, length, voices_per_word, str(path)])
    done = subprocess.run([sys.executable, "-m", "gan_cli.data.spoken_digits", arguments], capture_output=True,
                          text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise UserError(f"Synthesising the spoken digits failed: {lines[-1] if lines else done.returncode}")


def _replace(path: Path, write) -> None:
    """Write to a temporary file beside `path`, then rename it over `path` (a killed write leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            write(handle)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_cache(path: Path, count: int, length: int) -> np.ndarray | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as stored:
            audio = stored["audio"]
        return as_float(audio) if audio.shape == (count, length) and audio.dtype == np.int16 else None
    except Exception:  # noqa: BLE001 - a damaged cache file is made again
        return None


if __name__ == "__main__":  # _make_in_fresh_process: python -m gan_cli.data.spoken_digits '[split, rate, ...]'
    split_, rate_, length_, voices_, path_ = json.loads(sys.argv[1])
    try:
        make(split_, rate_, length_, voices_, Path(path_))
    except UserError as error:
        sys.exit(str(error))
