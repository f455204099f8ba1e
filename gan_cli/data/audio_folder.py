"""data=audio_folder: real recordings (WAV, FLAC, OGG, read with soundfile) from a folder tree, for the audio GANs.

Every file becomes mono float32 in [-1, 1] (channels averaged; 8-bit unsigned, 16/24/32-bit and float files alike)
at data.sample_rate (band-limited polyphase resampling). Layouts (data.layout, `auto` detects them on disk):

  sc09      WaveGAN's SC09: <root>/{train,valid,test}/Zero_<speaker>_nohash_<n>.wav ... Nine_..., label = the
            word (0-9); or Speech Commands' word folders <root>/zero/ ... <root>/nine/, split by Speech Commands'
            own rule (a hash of the speaker id: 10% valid, 10% test; the rule its validation and testing lists
            were made by). Mode clips: each file is one clip, cut or zero-padded to data.length.
  ljspeech  <root>/wavs/<id>.wav + <root>/metadata.csv: one speaker, label -1. The ids of metadata.csv, sorted:
            the last 5% are the test split, the 5% before them valid, the rest train (split by text chapter).
  vctk      <root>/wav48_silence_trimmed/<speaker>/*_mic1.flac (VCTK 0.92; mic2 is the same speech from a second
            microphone and is left out) or <root>/wav48/<speaker>/*.wav (VCTK 0.80). Held out by speaker: valid
            p360-p363, test p364, p374, p376, s5 (the last eight speaker ids). Label -1: a held-out speaker was
            never a class in training, and the vocoders this layout is for are speaker-unconditional.
  flat      any tree of audio files; label = the index of its first-level subfolder's name (sorted) when there
            are subfolders (files beside them are left out), else -1. No held-out split unless the tree has
            train/, valid/ and test/ folders (each then a split, with the class folders inside).

Mode segments (ljspeech, vctk): each utterance is cut into consecutive non-overlapping data.length-sample segments,
every segment an item; a last partial segment of at least half the length is zero-padded, a shorter one dropped.
Item i is the same segment in every process and run, so a resumed run sees the batches an uninterrupted one would.

Every file is read once when the dataset is built; files that are unreadable, empty, silent or too short are left
out and counted in one warning; clipped files are kept and counted. A file that cannot be read later (deleted
mid-run) is an error naming it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile
import torch
from torch.utils.data import Dataset

from gan_cli.data.audio_clips import fit_length, resample
from gan_cli.errors import UserError

log = logging.getLogger("gan_cli")

NO_LABEL = -1
AUDIO_SUFFIXES = (".flac", ".ogg", ".wav")
LAYOUTS = ("auto", "sc09", "ljspeech", "vctk", "flat")
MODES = ("auto", "clips", "segments")
SPLITS = ("train", "valid", "test")
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

SILENT_PEAK = 1e-4         # a file whose mono peak is below this is silent
TOO_SHORT_SHARE = 0.1      # clips mode: files shorter than this share of data.length are left out
CLIPPED_SHARE = 0.01       # a file with this share of its samples at full scale is clipped (kept, counted)
LJSPEECH_HELD_OUT = 0.05   # each of valid and test: this share of metadata.csv's ids, from the end
VCTK_HELD_OUT = {"valid": ("p360", "p361", "p362", "p363"), "test": ("p364", "p374", "p376", "s5")}
VCTK_FOLDERS = ("wav48_silence_trimmed", "wav48")  # the newer first: used when both are there
SPEECH_COMMANDS_SHARE = 10.0  # percent of the speakers in each of valid and test (Speech Commands' own split)
REASONS = ("unreadable", "empty", "silent", "too short", "not a digit word", "outside the class folders",
           "missing")
CONTAINERS = {"sc09": ("sc09",), "ljspeech": ("LJSpeech-1.1",), "vctk": ("VCTK-Corpus-0.92", "VCTK-Corpus")}

EXPECTED = {
    "sc09": "<root>/train, <root>/valid, <root>/test holding Zero_<speaker>_nohash_<n>.wav ... Nine_... (WaveGAN's "
            "SC09), or Speech Commands' word folders <root>/zero ... <root>/nine",
    "ljspeech": "<root>/wavs/*.wav and <root>/metadata.csv (LJSpeech-1.1)",
    "vctk": "<root>/wav48_silence_trimmed/<speaker>/*_mic1.flac (VCTK 0.92) or <root>/wav48/<speaker>/*.wav (0.80)",
    "flat": "any .wav, .flac or .ogg files under <root>",
}
SPLIT_RULES = {
    "sc09": "the split is a folder, or in word folders Speech Commands' hash of the speaker: 10% valid, 10% test",
    "ljspeech": f"valid and test are each the last {LJSPEECH_HELD_OUT:.0%} of metadata.csv's sorted ids",
    "vctk": f"valid is speakers {', '.join(VCTK_HELD_OUT['valid'])}, test {', '.join(VCTK_HELD_OUT['test'])}, "
            f"train the others",
    "flat": "the split is a folder when the tree has train/, valid/ and test/, else every file is train",
}
SOURCES = ("SC09 comes from http://deepyeti.ucsd.edu/cdonahue/sc09.tar.gz, LJSpeech from "
           "https://keithito.com/LJ-Speech-Dataset/, VCTK from https://datashare.ed.ac.uk/handle/10283/3443")
ACCEPTED = ("the layouts accepted are auto (detected from what is on disk), sc09, ljspeech, vctk and flat (any tree "
            "of .wav, .flac or .ogg files)")
UNREADABLE = (soundfile.SoundFileError, RuntimeError, OSError, ValueError, EOFError)


@dataclass(frozen=True)
class AudioFile:
    path: Path
    label: int
    rate: int      # the file's own sample rate
    frames: int    # at that rate
    items: int     # clips: 1; segments: how many segments it gives


def audio_folder(root: str, layout: str = "auto", split: str = "train", mode: str = "auto",
                 sample_rate: int = 16000, length: int = 16384) -> "AudioFolderDataset":
    """The audio files of one split under root as (waveform (1, length) float32 in [-1, 1], label) items."""
    for key, value, low in (("sample_rate", sample_rate, 4000), ("length", length, 1024)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise UserError(f"data.{key}={value!r} is not valid: it must be a whole number of at least {low}.")
    for key, value, choices in (("layout", layout, LAYOUTS), ("mode", mode, MODES), ("split", split, SPLITS)):
        if value not in choices:
            raise UserError(f"data.{key}={value!r} is not one of {', '.join(choices)}"
                            + (f": {ACCEPTED}." if key == "layout" else "."))
    folder = _root_folder(root)
    layout, base = _detect(folder) if layout == "auto" else (layout, _base_for(layout, folder, root))
    if mode == "auto":
        mode = "segments" if layout in ("ljspeech", "vctk") else "clips"
    where, candidates, skipped, classes = LISTINGS[layout](base, split)
    if not candidates and not any(skipped.values()):
        raise UserError(f"data.root={root}: {where} holds no audio files of the {split} split ({SPLIT_RULES[layout]}; "
                        f"audio files end in {', '.join(AUDIO_SUFFIXES)}): data.layout={layout} expects "
                        f"{EXPECTED[layout]}. Pick another data.split, or point data.root at the whole set. {SOURCES}.")
    return AudioFolderDataset(root, where, layout, split, mode, sample_rate, length, candidates, skipped, classes)


class AudioFolderDataset(Dataset):
    """The files of a split, scanned once; items are (waveform (1, length) float32, label int), read on demand."""

    def __init__(self, root, where: Path, layout: str, split: str, mode: str, sample_rate: int, length: int,
                 candidates: list[tuple[Path, int]], skipped: dict[str, list[Path]], classes: list[str]):
        self.root, self.where, self.layout, self.split, self.mode = root, where, layout, split, mode
        self.sample_rate, self.length, self.classes = sample_rate, length, classes
        self.skipped = {reason: list(skipped.get(reason, ())) for reason in REASONS}
        self.clipped: list[Path] = []
        self.files: list[AudioFile] = []
        for path, label in candidates:
            scanned = self._scan(path, label)
            if isinstance(scanned, str):
                self.skipped[scanned].append(path)
            else:
                self.files.append(scanned)
        self.skipped = {reason: paths for reason, paths in self.skipped.items() if paths}
        self.ends = np.cumsum([file.items for file in self.files], dtype=np.int64)  # item ends, file by file
        self._report(len(candidates) + sum(len(skipped.get(reason, ())) for reason in REASONS))

    def __len__(self) -> int:
        return int(self.ends[-1])

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"item {index} of {len(self)}")
        position = int(np.searchsorted(self.ends, index, side="right"))
        segment = index - (int(self.ends[position - 1]) if position else 0)
        file = self.files[position]
        start = segment * self.length
        if self.mode == "segments" and file.rate == self.sample_rate:  # only the segment's frames are read
            samples = self._read(file, start, start + self.length)
        else:
            samples = resample(self._read(file), file.rate, self.sample_rate)
            samples = samples[start:start + self.length] if self.mode == "segments" else samples
        waveform = torch.from_numpy(fit_length(samples, self.length)).unsqueeze(0)
        assert waveform.shape == (1, self.length), waveform.shape
        return waveform, file.label

    def _read(self, file: AudioFile, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Mono float32 samples in [-1, 1] of the file, at its own rate (frames start to stop)."""
        try:
            data, rate = soundfile.read(str(file.path), start=start, stop=stop, dtype="float32", always_2d=True)
        except UNREADABLE as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise UserError(f"{file.path} cannot be read any more ({first}): it was readable when data.root="
                            f"{self.root} was scanned at the start of the run, so it has been removed, moved or "
                            f"damaged since. Restore it, or start the run again to scan the folder afresh.") from None
        if rate != file.rate:
            raise UserError(f"{file.path} is now at {rate} Hz but was at {file.rate} Hz when data.root={self.root} "
                            f"was scanned: it has been replaced mid-run. Start the run again to scan the folder "
                            f"afresh.")
        return np.clip(data.mean(axis=1, dtype=np.float32), -1.0, 1.0)  # float files may exceed full scale

    def _scan(self, path: Path, label: int) -> AudioFile | str:
        """The file's entry, or why it is left out (one of REASONS); counts it as clipped when it is."""
        try:
            with soundfile.SoundFile(str(path)) as sound:
                rate, subtype = int(sound.samplerate), sound.subtype
                data = sound.read(dtype="float32", always_2d=True)
        except UNREADABLE:
            return "unreadable"
        if len(data) == 0:
            return "empty"
        if float(np.abs(data.mean(axis=1)).max()) < SILENT_PEAK:
            return "silent"
        full_scale = 127 / 128 if subtype in ("PCM_U8", "PCM_S8") else 32767 / 32768
        if np.count_nonzero(np.abs(data) >= full_scale - 1e-6) >= CLIPPED_SHARE * data.size:
            self.clipped.append(path)
        frames = resampled_frames(len(data), rate, self.sample_rate)
        if self.mode == "clips":
            return "too short" if frames < TOO_SHORT_SHARE * self.length else AudioFile(path, label, rate, len(data), 1)
        if frames < self.length:
            return "too short"
        items = frames // self.length + (2 * (frames % self.length) >= self.length)
        return AudioFile(path, label, rate, len(data), int(items))

    def _report(self, total: int) -> None:
        """One warning for the files left out and the clipped ones kept; an error when nothing is left."""
        counts = ", ".join(f"{len(paths)} {reason}" for reason, paths in self.skipped.items())
        examples = "; ".join(f"{paths[0]} ({reason})" for reason, paths in self.skipped.items())
        skipped = sum(len(paths) for paths in self.skipped.values())
        if not self.files:
            raise UserError(
                f"data.root={self.root}: none of the {total} audio files of the {self.split} split under {self.where} "
                f"can be used: {counts} (e.g. {examples}). Unreadable: not a WAV, FLAC or OGG file soundfile can "
                f"decode; empty: 0 frames; silent: peak below {SILENT_PEAK:g}; too short: under "
                f"{self._shortest()} samples at {self.sample_rate} Hz. Point data.root at a folder of usable "
                f"recordings ({EXPECTED[self.layout]}).")
        parts = []
        if skipped:
            parts.append(f"skipped {skipped} of {total} audio files under {self.where}: {counts} (e.g. {examples})")
        if self.clipped:
            parts.append(f"kept {len(self.clipped)} clipped file(s), {CLIPPED_SHARE:.0%} or more of their samples "
                         f"at full scale (e.g. {self.clipped[0]})")
        if parts:
            log.warning("; ".join(parts))
        resampled = sum(file.rate != self.sample_rate for file in self.files)
        resampled = f" ({resampled} resampled to {self.sample_rate} Hz)" if resampled else ""
        log.info(f"data.root={self.root}: {len(self.files)} {self.layout} files of the {self.split} split under "
                 f"{self.where}{resampled}, {len(self)} {self.mode} of {self.length} samples at {self.sample_rate} Hz")

    def _shortest(self) -> int:
        return math.ceil(TOO_SHORT_SHARE * self.length) if self.mode == "clips" else self.length


def resampled_frames(frames: int, rate: int, target_rate: int) -> int:
    """How many samples gan_cli.data.audio_clips.resample makes of `frames` at `rate` (scipy's ceil(n up / down))."""
    if rate == target_rate:
        return frames
    ratio = Fraction(int(target_rate), int(rate)).limit_denominator(1000)
    return -(-frames * ratio.numerator // ratio.denominator)


# Finding the layout and its folder.

def _root_folder(root) -> Path:
    if root is None or str(root).strip() == "":
        raise UserError(f"data.root is not set: pass data.root=<folder> holding audio files; {ACCEPTED}. {SOURCES}.")
    folder = Path(os.path.expanduser(str(root))).absolute()
    if not folder.is_dir():
        raise UserError(f"data.root={root} is not a folder ({folder} does not exist or is a file): pass "
                        f"data.root=<folder> holding audio files; {ACCEPTED}. {SOURCES}.")
    if not _audio_under(folder):
        raise UserError(f"data.root={root} holds no audio files: nothing under {folder} (searched recursively) ends "
                        f"in {', '.join(AUDIO_SUFFIXES)}. Point data.root at a folder of recordings; {ACCEPTED}. "
                        f"{SOURCES}.")
    return folder


def _bases(folder: Path, layout: str) -> list[Path]:
    """Where a layout's folders may be: root itself, or the folder its archive unpacks to inside root."""
    return [folder, *(folder / name for name in CONTAINERS.get(layout, ()))]


def _looks_like(layout: str, base: Path) -> bool:
    if layout == "sc09":
        named = (base / "train").is_dir() and any(_word_label(name) is not None for name in os.listdir(base / "train"))
        return named or any((base / word).is_dir() for word in WORDS)
    if layout == "ljspeech":
        return (base / "wavs").is_dir() and (base / "metadata.csv").is_file()
    return any((base / name).is_dir() for name in VCTK_FOLDERS)


def _detect(folder: Path) -> tuple[str, Path]:
    for layout in ("sc09", "ljspeech", "vctk"):
        for base in _bases(folder, layout):
            if base.is_dir() and _looks_like(layout, base):
                return layout, base
    return "flat", folder


def _base_for(layout: str, folder: Path, root) -> Path:
    """The folder holding the asked layout's parts, or an error naming the ones missing."""
    if layout == "flat":
        return folder
    parts = {"sc09": ("train", "valid", "test", *WORDS), "ljspeech": ("wavs", "metadata.csv"), "vctk": VCTK_FOLDERS}
    for base in _bases(folder, layout):
        if any((base / part).exists() for part in parts[layout]):
            return base
    wanted = {"sc09": "train/, valid/ and test/ (or the word folders zero/ ... nine/)",
              "ljspeech": "wavs/ and metadata.csv", "vctk": "wav48_silence_trimmed/ or wav48/"}[layout]
    places = " or ".join(str(base) for base in _bases(folder, layout))
    raise UserError(f"data.root={root} has no {layout} data: {wanted} not found in {places}. data.layout={layout} "
                    f"expects {EXPECTED[layout]}; {ACCEPTED}. {SOURCES}.")


def _missing(root, layout: str, paths: list[Path]) -> UserError:
    return UserError(f"data.root={root} has no {layout} data: {', '.join(str(p) for p in paths)} not found. "
                     f"data.layout={layout} expects {EXPECTED[layout]}; {ACCEPTED}. {SOURCES}.")


# Each layout's files of a split: (folder named in messages, [(path, label)], {reason: [path]}, class names).

def _sc09(base: Path, split: str):
    skipped = {"not a digit word": []}
    if (base / "train").is_dir() or not any((base / word).is_dir() for word in WORDS):
        folder = base / split
        if not folder.is_dir():
            raise _missing(base, "sc09", [folder])
        files = []
        for path in _audio_under(folder):
            label = _word_label(path.name)
            if label is None:
                skipped["not a digit word"].append(path)
            else:
                files.append((path, label))
        return folder, files, skipped, list(WORDS)
    files = [(path, label) for label, word in enumerate(WORDS) if (base / word).is_dir()
             for path in _audio_under(base / word) if _speech_commands_split(_speaker(path.name)) == split]
    return base, files, skipped, list(WORDS)


def _ljspeech(base: Path, split: str):
    missing = [path for path in (base / "wavs", base / "metadata.csv") if not path.exists()]
    if missing:
        raise _missing(base, "ljspeech", missing)
    with open(base / "metadata.csv", encoding="utf-8", errors="replace") as listing:
        ids = sorted({line.split("|", 1)[0].strip() for line in listing if "|" in line} - {""})
    held_out = max(1, round(LJSPEECH_HELD_OUT * len(ids))) if len(ids) >= 3 else 0
    bounds = {"train": (0, len(ids) - 2 * held_out), "valid": (len(ids) - 2 * held_out, len(ids) - held_out),
              "test": (len(ids) - held_out, len(ids))}[split]
    chosen = [base / "wavs" / f"{name}.wav" for name in ids[bounds[0]:bounds[1]]]
    skipped = {"missing": [path for path in chosen if not path.is_file()]}
    return base / "wavs", [(path, NO_LABEL) for path in chosen if path.is_file()], skipped, []


def _vctk(base: Path, split: str):
    folder = next((base / name for name in VCTK_FOLDERS if (base / name).is_dir()), None)
    if folder is None:
        raise _missing(base, "vctk", [base / name for name in VCTK_FOLDERS])
    held_out = {speaker for speakers in VCTK_HELD_OUT.values() for speaker in speakers}
    files = []
    for speaker in sorted(entry.name for entry in os.scandir(folder) if entry.is_dir()):
        if (speaker in VCTK_HELD_OUT[split]) if split != "train" else (speaker not in held_out):
            paths = _audio_under(folder / speaker)
            if folder.name == "wav48_silence_trimmed":  # mic2: the same utterances from the second microphone
                paths = [path for path in paths if not path.stem.endswith("_mic2")]
            files += [(path, NO_LABEL) for path in paths]
    return folder, files, {}, []


def _flat(base: Path, split: str):
    folders = [base / name for name in SPLITS if (base / name).is_dir()]
    if folders:  # a tree already split: train/, valid/, test/
        folder = base / split
        if not folder.is_dir():
            raise _missing(base, "flat", [folder])
    elif split == "train":
        folders, folder = [base], base
    else:
        raise UserError(f"data.split={split}: the flat tree {base} has no held-out split (it has no train/, valid/ "
                        f"and test/ folders), so every file is in data.split=train. Put the held-out files in "
                        f"{base / split}/ (and the training ones in {base / 'train'}/), or use data.split=train.")
    paths = _audio_under(folder)
    classes = sorted({path.relative_to(top).parts[0] for top in folders for path in _audio_under(top)
                      if len(path.relative_to(top).parts) > 1})
    if not classes:
        return folder, [(path, NO_LABEL) for path in paths], {}, []
    index = {name: label for label, name in enumerate(classes)}
    depth = {path: path.relative_to(folder).parts for path in paths}
    files = [(path, index[depth[path][0]]) for path in paths if len(depth[path]) > 1]
    return folder, files, {"outside the class folders": [p for p in paths if len(depth[p]) == 1]}, classes


LISTINGS = {"sc09": _sc09, "ljspeech": _ljspeech, "vctk": _vctk, "flat": _flat}


def _audio_under(folder: Path) -> list[Path]:
    """Audio files under folder, any depth, suffix case-insensitive, sorted (index i is the same file everywhere)."""
    found = []
    for directory, _, filenames in os.walk(folder, followlinks=True):
        found += [Path(directory) / name for name in filenames if os.path.splitext(name)[1].lower() in AUDIO_SUFFIXES]
    return sorted(found)


def _word_label(filename: str) -> int | None:
    """SC09's label from a file name: Zero_... -> 0, ..., Nine_... -> 9 (case-insensitive); None for another word."""
    word = filename.split("_", 1)[0].lower()
    return WORDS.index(word) if word in WORDS and "_" in filename else None


def _speaker(filename: str) -> str:
    """Speech Commands' speaker id: the file name before _nohash_ (its splits keep a speaker's clips together)."""
    return re.sub(r"_nohash_.*$", "", filename)


def _speech_commands_split(speaker: str) -> str:
    """Speech Commands' which_set rule: the speaker id's SHA-1 as a percentage; the lowest are valid, then test."""
    percentage = (int(hashlib.sha1(speaker.encode()).hexdigest(), 16) % (2**27)) * (100.0 / (2**27 - 1))
    share = SPEECH_COMMANDS_SHARE
    return "valid" if percentage < share else "test" if percentage < 2 * share else "train"
