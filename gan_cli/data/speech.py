"""data=speech: English sentences spoken by many eSpeak NG voices (gan_cli/data/speech_synth.py), for the
vocoders: synthesised on first use at 22,050 Hz, cached, and cut into waveform segments.

Each utterance is one sentence of SENTENCES by one speaker: an English voice of spoken_digits.py's
languages with one of its deterministic variants, at a pitch, a speaking rate and an amplitude chosen
by a fixed seed; its silence is trimmed, its edges faded, and a seeded noise floor (-74 dBFS) added. The held-out split is by voice and by text:
the test split's variants are voices the training split never hears, speaking the last TEST_SENTENCES
sentences, which the training voices never say.

Items are (audio (1, length) in [-1, 1], -1: no label): every utterance cut into consecutive segments
of `segment_length` samples (training) or `test_segment_length` (the test split: longer, to listen
to), the tail shorter than a segment left out (so no item is padded with digital silence).

The utterances are bit-identical when regenerated (synthesised in a fresh process, as spoken_digits.py
explains); they are cached as 16-bit PCM, one .npz per split and recipe under the cache folder
($GAN_CLI_CACHE or ~/.cache/gan-cli), with a manifest (JSON) naming every utterance's text, voice,
pitch, rate, amplitude and length. Changing the segment lengths re-cuts the cache, not the speech.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from gan_cli.data.audio_clips import as_float, fade, resample, trim_silence
from gan_cli.data.spoken_digits import LANGUAGES, TEST_VARIANTS, TRAIN_VARIANTS, _replace, cache_dir
from gan_cli.errors import UserError

SENTENCES = (
    "The old lamp cast a warm glow across the kitchen table.",
    "A cold wind swept the leaves along the narrow lane.",
    "She folded the map and tucked it into her coat.",
    "The river ran fast after the heavy spring rain.",
    "Bring the blue box down from the top shelf.",
    "Our neighbour painted his fence a bright shade of green.",
    "The train left the station five minutes early.",
    "He found a silver coin beneath the garden bench.",
    "Fresh bread smells best on a quiet Sunday morning.",
    "The clock in the hall struck nine and then stopped.",
    "Please close the window before the storm arrives.",
    "A small boat drifted slowly past the harbour wall.",
    "They planted tall sunflowers along the southern path.",
    "The children laughed as the puppy chased its tail.",
    "Thick fog rolled in from the sea at dusk.",
    "My brother keeps his tools in a wooden chest.",
    "The baker sold out of rolls before noon.",
    "Light the candles and set the plates on the table.",
    "We walked for hours through the pine forest.",
    "The letter arrived with a torn corner and no stamp.",
    "A gentle hum came from the engine room below.",
    "Turn left at the church and follow the stream.",
    "The soup needs more salt and a pinch of pepper.",
    "Birds gathered on the wire before flying south.",
    "Her voice carried clearly across the empty hall.",
    "The farmer mended the gate with a length of rope.",
    "Snow covered the roofs of the sleeping village.",
    "He poured the tea and passed the sugar bowl.",
    "The museum opens its doors at half past ten.",
    "A sharp knock at the door woke the whole house.",
    "Keep the receipt in case the shoes do not fit.",
    "The lighthouse beam swept across the dark water.",
    "Wild berries grew thick beside the railway line.",
    "Our team won the match by a single point.",
    "The paint on the old barn had begun to peel.",
    "Measure the flour carefully before you add the eggs.",
    "The library was silent except for turning pages.",
    "A red kite circled high above the open field.",
    "Watch your step on the wet stone stairs.",
    "The market stalls were packed with ripe peaches.",
    "He tied the parcel with a piece of string.",
    "The moon rose slowly over the distant hills.",
    "Every drawer in the desk was full of buttons.",
    "The heavy door creaked as it swung open.",
    "We shared a picnic beneath the chestnut tree.",
    "The pilot announced a short delay due to fog.",
    "Lemon juice will remove the stain from the cloth.",
    "The horse stood calmly while the girl brushed its mane.",
    "A pile of firewood was stacked against the shed.",
    "The singer paused and smiled at the crowd.",
    # The test split's sentences: no training voice says them.
    "The glass vase shattered on the marble floor.",
    "Rain drummed softly on the roof of the tent.",
    "Fold the towels and stack them by the door.",
    "The fox slipped quietly into the tall grass.",
    "A bright star appeared just after sunset.",
    "The chef chopped onions with a steady hand.",
    "Our kite tangled in the branches of the oak.",
    "The bus was crowded with tired commuters.",
    "Pack a warm sweater for the mountain trip.",
    "The bell rang twice to mark the end of class.",
)
TEST_SENTENCES = 10   # the last ten
PITCHES = (35, 50, 65)
RATES = (150, 175, 200)
DITHER = 2e-4   # std of the noise floor added (-74 dBFS): eSpeak's pauses are digital silence, which no
                # microphone records and whose log-mel (the floor 1e-5) would dominate a mel L1
FORMAT = 1  # bump when the recipe changes: a new cache file


def recipe(split: str, voices: int | None = None, sentences_per_voice: int = 3) -> list[dict]:
    """Every utterance of a split: text, voice, pitch, rate and amplitude (a fixed, seeded choice).
    voices: the first that many speakers only (small sets for tests)."""
    if split not in ("train", "test"):
        raise UserError(f"data.dataset.split={split!r} must be train or test (the test split's voices and sentences "
                        f"are ones the training split never has).")
    for key, value in (("voices", voices), ("sentences_per_voice", sentences_per_voice)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UserError(f"data.dataset.{key}={value!r} must be a whole number of at least 1"
                            f"{' (or null: every voice)' if key == 'voices' else ''}.")
    variants = TRAIN_VARIANTS if split == "train" else TEST_VARIANTS
    speakers = [f"{language}+{variant}" for variant, language in itertools.product(variants, LANGUAGES)]
    speakers = speakers[:voices] if voices else speakers
    texts = SENTENCES[:-TEST_SENTENCES] if split == "train" else SENTENCES[-TEST_SENTENCES:]
    per_voice = sentences_per_voice if split == "train" else 1
    rng = np.random.default_rng([FORMAT, 0 if split == "train" else 1])
    utterances = []
    for index, speaker in enumerate(speakers):
        for k in range(per_voice):
            utterances.append({"text": texts[(index * per_voice + k) % len(texts)], "voice": speaker,
                               "pitch": int(rng.choice(PITCHES)), "rate": int(rng.choice(RATES)),
                               "amplitude": round(float(rng.uniform(0.5, 0.95)), 4)})
    return utterances


def synthesise(utterances: list[dict], sample_rate: int) -> list[np.ndarray]:
    """Each utterance as float32 samples: trimmed, faded (10 ms), peak-normalised to its amplitude, over a
    seeded noise floor (DITHER)."""
    from gan_cli.data.speech_synth import Synthesizer

    synth = Synthesizer.shared()
    out = []
    for index, utterance in enumerate(utterances):
        samples = as_float(synth.speak(utterance["text"], utterance["voice"], utterance["pitch"], utterance["rate"]))
        samples = fade(trim_silence(resample(samples, synth.sample_rate, sample_rate)), int(0.01 * sample_rate))
        peak = float(np.abs(samples).max()) if samples.size else 0.0
        samples = samples * (utterance["amplitude"] / peak) if peak > 0 else samples
        noise = np.random.default_rng([FORMAT, index]).normal(0.0, DITHER, len(samples)).astype(np.float32)
        out.append(np.clip(samples + noise, -1.0, 1.0))
    return out


def segments(audio: np.ndarray, lengths: np.ndarray, length: int) -> np.ndarray:
    """(N, length) consecutive segments of every utterance (each one's tail shorter than a segment left out)."""
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    cut = [audio[start + offset: start + offset + length] for start, size in zip(starts, lengths)
           for offset in range(0, int(size) - length + 1, length)]
    return np.stack(cut) if cut else np.zeros((0, length), np.float32)


def speech(sample_rate: int = 22050, segment_length: int = 8192, test_segment_length: int = 32768,
           split: str = "train", voices: int | None = None, sentences_per_voice: int = 3, cache: str | None = None):
    """(audio (N, 1, length) in [-1, 1], labels (N,) all -1): a split's segments, from the cache or
    synthesised once and cached."""
    for key, value, low in (("sample_rate", sample_rate, 4000), ("segment_length", segment_length, 1024),
                            ("test_segment_length", test_segment_length, 1024)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise UserError(f"data.dataset.{key}={value!r} must be a whole number of at least {low}.")
    utterances = recipe(split, voices, sentences_per_voice)
    settings = {"format": FORMAT, "split": split, "sample_rate": sample_rate, "voices": voices,
                "sentences_per_voice": sentences_per_voice}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    folder = Path(cache).expanduser() if cache else cache_dir() / "speech"
    path = folder / f"speech-{split}-{digest}.npz"
    stored = _read_cache(path, len(utterances))
    if stored is None:
        _make_in_fresh_process(settings, path)
        stored = _read_cache(path, len(utterances))
        if stored is None:
            raise UserError(f"The speech set could not be written to {path}; check that the folder is writable "
                            f"(data.dataset.cache, or $GAN_CLI_CACHE).")
    length = segment_length if split == "train" else test_segment_length
    audio = segments(*stored, length)
    if not len(audio):
        raise UserError(f"No utterance of the {split} split is {length} samples long (data.dataset."
                        f"{'segment_length' if split == 'train' else 'test_segment_length'}): use shorter segments.")
    return torch.from_numpy(audio).unsqueeze(1), torch.full((len(audio),), -1, dtype=torch.long)


def make(settings: dict, path: Path) -> None:
    """Synthesise a split and write it to `path` (16-bit PCM, the utterances one after another, and their
    lengths) with its manifest beside it."""
    utterances = recipe(settings["split"], settings["voices"], settings["sentences_per_voice"])
    spoken = synthesise(utterances, settings["sample_rate"])
    pcm = np.round(np.concatenate(spoken) * 32767).astype(np.int16)
    lengths = np.array([len(samples) for samples in spoken], np.int64)
    for utterance, size in zip(utterances, lengths):
        utterance["samples"] = int(size)
    manifest = {"settings": settings, "utterances": utterances, "sha256": hashlib.sha256(pcm.tobytes()).hexdigest()}
    _replace(path.with_suffix(".json"), lambda handle: handle.write(json.dumps(manifest, indent=1).encode()))
    _replace(path, lambda handle: np.savez(handle, audio=pcm, lengths=lengths))


def _make_in_fresh_process(settings: dict, path: Path) -> None:
    """make() in a new Python process, so the engine starts afresh (spoken_digits.py says why)."""
    done = subprocess.run([sys.executable, "-m", "gan_cli.data.speech", json.dumps([settings, str(path)])],
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise UserError(f"Synthesising the speech set failed: {lines[-1] if lines else done.returncode}")


def _read_cache(path: Path, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as stored:
            audio, lengths = stored["audio"], stored["lengths"]
        if audio.dtype != np.int16 or lengths.shape != (count,) or int(lengths.sum()) != len(audio):
            return None
        return as_float(audio), lengths
    except Exception:  # noqa: BLE001 - a damaged cache file is made again
        return None


if __name__ == "__main__":  # _make_in_fresh_process: python -m gan_cli.data.speech '[settings, path]'
    settings_, path_ = json.loads(sys.argv[1])
    try:
        make(settings_, Path(path_))
    except UserError as error:
        sys.exit(str(error))
