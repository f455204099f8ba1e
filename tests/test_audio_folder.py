"""data=audio_folder: real audio trees in each layout (SC09, Speech Commands, LJSpeech, VCTK, flat) written small
with soundfile, their labels and held-out splits, segments, every sample format, resampling, bad files counted
and skipped, missing folders named, and gan-train end to end on a tiny SC09 tree."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from conftest import compose_train, run_cli

from gan_cli.data import build_batches
from gan_cli.data.audio_clips import resample
from gan_cli.data.audio_folder import WORDS, audio_folder, resampled_frames
from gan_cli.data.source import DataSource
from gan_cli.errors import UserError

RATE = 16000


def tone(frames: int, rate: int = RATE, freq: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(frames) / rate)).astype(np.float64)


def write(path: Path, samples, rate: int = RATE, subtype: str | None = "PCM_16", **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), samples, rate, subtype=subtype, **kwargs)
    return path


def write_sc09(root: Path, per_word: int = 1, frames: int = RATE, splits=("train", "valid", "test")) -> Path:
    """WaveGAN's SC09 layout: <root>/sc09/<split>/<Word>_<speaker>_nohash_<n>.wav, a tone per word."""
    for split in splits:
        for label, word in enumerate(WORDS):
            for n in range(per_word):
                write(root / "sc09" / split / f"{word.capitalize()}_{split}{n:02d}ab_nohash_{n}.wav",
                      tone(frames, freq=200 + 100 * label))
    return root


def speech_commands_split(filename: str) -> str:
    """Speech Commands' which_set (its README), written out independently: validation 10%, testing 10%."""
    hash_name = re.sub(r"_nohash_.*$", "", filename)
    percentage = (int(hashlib.sha1(hash_name.encode()).hexdigest(), 16) % (2**27 - 1 + 1)) * (100.0 / (2**27 - 1))
    return "valid" if percentage < 10 else "test" if percentage < 20 else "train"


def items(dataset) -> list:
    return [dataset[i] for i in range(len(dataset))]


# The layouts: labels and splits.

def test_sc09_labels_come_from_the_word_and_the_split_is_the_folder(tmp_path):
    write_sc09(tmp_path, per_word=2, frames=16000)
    write(tmp_path / "sc09" / "train" / "NINE_loud0000_nohash_7.wav", tone(16000))  # any case
    write(tmp_path / "sc09" / "train" / "Yes_abc_nohash_0.wav", tone(16000))        # not a digit
    train = audio_folder(str(tmp_path))
    assert (train.layout, train.mode, train.where) == ("sc09", "clips", tmp_path / "sc09" / "train")
    assert len(train) == 21
    assert train.skipped == {"not a digit word": [tmp_path / "sc09" / "train" / "Yes_abc_nohash_0.wav"]}
    labels = {file.path.name: file.label for file in train.files}
    assert labels["Zero_train00ab_nohash_0.wav"] == 0 and labels["Seven_train01ab_nohash_1.wav"] == 7
    assert labels["NINE_loud0000_nohash_7.wav"] == 9
    waveform, label = train[0]
    assert waveform.shape == (1, 16384) and waveform.dtype == torch.float32 and isinstance(label, int)
    assert float(waveform[0, :16000].abs().max()) == pytest.approx(0.5, abs=1e-3)
    assert torch.all(waveform[0, 16000:] == 0)  # a 1 s clip fit to 16,384 samples: padded at the end
    valid = audio_folder(str(tmp_path / "sc09"), split="valid", layout="sc09")
    test = audio_folder(str(tmp_path), split="test")
    assert {f.path.parent.name for f in valid.files} == {"valid"} and len(valid) == len(test) == 20
    assert sorted(f.label for f in test.files) == sorted(list(range(10)) * 2)


def test_speech_commands_word_folders_split_by_speaker_hash(tmp_path):
    speakers = [f"{n:08x}" for n in range(0, 40 * 7919, 7919)]
    for label, word in enumerate(WORDS[:3]):
        for speaker in speakers:
            write(tmp_path / word / f"{speaker}_nohash_{label}.wav", tone(4000, freq=300 + 50 * label))
    write(tmp_path / "yes" / f"{speakers[0]}_nohash_0.wav", tone(4000))          # other words are not SC09
    write(tmp_path / "_background_noise_" / "noise.wav", tone(4000))
    splits = {split: audio_folder(str(tmp_path), split=split, length=4096) for split in ("train", "valid", "test")}
    assert {dataset.layout for dataset in splits.values()} == {"sc09"}
    paths = {split: {f.path for f in dataset.files} for split, dataset in splits.items()}
    assert not paths["train"] & paths["valid"] and not paths["train"] & paths["test"]
    assert not paths["valid"] & paths["test"]
    assert sum(len(p) for p in paths.values()) == 3 * len(speakers)  # every digit file, nothing else
    for split, dataset in splits.items():
        assert dataset.files, split
        for file in dataset.files:
            assert speech_commands_split(file.path.name) == split
            assert file.label == WORDS.index(file.path.parent.name)
    speaker_splits = {}
    for split, found in paths.items():
        for path in found:
            assert speaker_splits.setdefault(path.name.split("_")[0], split) == split  # a speaker stays in one split


def write_ljspeech(root: Path, count: int = 40, frames=(2600, 2300, 1000)) -> Path:
    base = root / "LJSpeech-1.1"
    lines = []
    for n in range(count):
        name = f"LJ{1 + n // 20:03d}-{n % 20 + 1:04d}"
        write(base / "wavs" / f"{name}.wav", tone(frames[n % len(frames)], freq=150 + 10 * n))
        lines.append(f"{name}|Text {n}.|Text {n}.")
    (base / "metadata.csv").write_text("\n".join(reversed(lines)) + "\n")  # sorted by id, not by line
    return base


def test_ljspeech_held_out_split_is_the_last_ids_and_segments_are_counted(tmp_path):
    write_ljspeech(tmp_path)
    splits = {split: audio_folder(str(tmp_path), split=split, length=1024) for split in ("train", "valid", "test")}
    names = {split: sorted([f.path.stem for f in d.files] + [p.stem for ps in d.skipped.values() for p in ps])
             for split, d in splits.items()}  # the files of each split, kept or left out
    ids = sorted(f"LJ{1 + n // 20:03d}-{n % 20 + 1:04d}" for n in range(40))
    assert names == {"train": ids[:36], "valid": ids[36:38], "test": ids[38:]}
    train = splits["train"]
    assert (train.layout, train.mode) == ("ljspeech", "segments")
    assert {f.label for f in train.files} == {-1}
    # 2600 samples: two full segments and 552 >= 512 padded; 2300: two, 252 dropped; 1000: too short (< 1024).
    per_file = {2600: 3, 2300: 2}
    assert [f.items for f in train.files] == [per_file[f.frames] for f in train.files]
    short = sorted(tmp_path / "LJSpeech-1.1" / "wavs" / f"{f'LJ{1 + n // 20:03d}-{n % 20 + 1:04d}'}.wav"
                   for n in range(40) if n % 3 == 2)
    assert train.skipped == {"too short": [path for path in short if path.stem in ids[:36]]}
    assert len(train) == sum(per_file[f.frames] for f in train.files)
    first = train.files[0]
    whole = soundfile.read(str(first.path), dtype="float32")[0]
    segments = [train[i][0][0] for i in range(first.items)]
    assert torch.equal(segments[0], torch.from_numpy(whole[:1024]))
    assert torch.equal(segments[1], torch.from_numpy(whole[1024:2048]))
    assert torch.equal(segments[2][:552], torch.from_numpy(whole[2048:])) and torch.all(segments[2][552:] == 0)
    again = audio_folder(str(tmp_path), length=1024)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(items(train), items(again)))  # item i is fixed


def test_ljspeech_segments_of_a_resampled_file(tmp_path):
    base = tmp_path / "LJSpeech-1.1"
    write(base / "wavs" / "LJ001-0001.wav", tone(22050, rate=22050), rate=22050)  # 1 s -> 16000 samples
    for n in (2, 3):
        write(base / "wavs" / f"LJ001-000{n}.wav", tone(22050, rate=22050), rate=22050)
    (base / "metadata.csv").write_text("LJ001-0001|a|a\nLJ001-0002|b|b\nLJ001-0003|c|c\n")
    train = audio_folder(str(base), length=4096)
    assert [f.path.stem for f in train.files] == ["LJ001-0001"]
    assert len(train) == 4  # 16000 = 3 x 4096 + 3712 (>= 2048: padded)
    expected = resample(soundfile.read(str(base / "wavs" / "LJ001-0001.wav"), dtype="float32")[0], 22050, 16000)
    assert len(expected) == 16000
    assert torch.allclose(train[3][0][0, :3712], torch.from_numpy(expected[3 * 4096:]), atol=1e-6)


@pytest.mark.parametrize("folder, suffix, subtype", [("wav48", ".wav", "PCM_16"),
                                                      ("wav48_silence_trimmed", ".flac", "PCM_16")])
def test_vctk_is_held_out_by_speaker(tmp_path, folder, suffix, subtype):
    speakers = ["p225", "p226", "p360", "p361", "p364", "s5"]
    for speaker in speakers:
        for n in (1, 2):
            mics = ("_mic1", "_mic2") if folder == "wav48_silence_trimmed" else ("",)
            for mic in mics:
                write(tmp_path / "VCTK-Corpus-0.92" / folder / speaker / f"{speaker}_{n:03d}{mic}{suffix}",
                      tone(4800 * n, rate=48000), rate=48000, subtype=subtype)
    splits = {split: audio_folder(str(tmp_path), split=split, length=1024) for split in ("train", "valid", "test")}
    found = {split: {f.path.parent.name for f in dataset.files} for split, dataset in splits.items()}
    assert found == {"train": {"p225", "p226"}, "valid": {"p360", "p361"}, "test": {"p364", "s5"}}
    train = splits["train"]
    assert (train.layout, train.mode) == ("vctk", "segments") and {f.label for f in train.files} == {-1}
    assert not any(f.path.stem.endswith("_mic2") for dataset in splits.values() for f in dataset.files)
    # 4800 and 9600 frames at 48 kHz -> 1600 and 3200 at 16 kHz: 1 + 1 (576 >= 512) and 3 (128 dropped) segments
    assert [f.items for f in train.files] == [2, 3, 2, 3] and len(train) == 10
    assert train[0][0].shape == (1, 1024)


def test_flat_labels_come_from_the_first_level_folders(tmp_path):
    for name in ("dogs", "cats"):
        for n in range(3):
            write(tmp_path / name / "deeper" / f"{n}.flac", tone(2000), subtype="PCM_16")
    write(tmp_path / "loose.wav", tone(2000))
    dataset = audio_folder(str(tmp_path), length=1024)
    assert (dataset.layout, dataset.mode, dataset.classes) == ("flat", "clips", ["cats", "dogs"])
    assert sorted((f.path.parts[-3], f.label) for f in dataset.files) == [("cats", 0)] * 3 + [("dogs", 1)] * 3
    assert dataset.skipped == {"outside the class folders": [tmp_path / "loose.wav"]}
    with pytest.raises(UserError, match="has no held-out split.*data.split=train"):
        audio_folder(str(tmp_path), split="valid")
    unlabelled = tmp_path / "unlabelled"
    for n in range(4):
        write(unlabelled / f"{n}.wav", tone(2000))
    plain = audio_folder(str(unlabelled), length=1024)
    assert plain.layout == "flat" and [f.label for f in plain.files] == [-1] * 4 and len(plain) == 4


def test_a_flat_tree_with_split_folders_keeps_its_classes_in_every_split(tmp_path):
    for split, names in (("train", ("a", "b", "c")), ("valid", ("c",)), ("test", ("b", "c"))):
        for name in names:
            write(tmp_path / split / name / "x.wav", tone(2000))
    splits = {split: audio_folder(str(tmp_path), layout="flat", split=split, length=1024)
              for split in ("train", "valid", "test")}
    assert {split: [(f.path.parts[-3], f.path.parts[-2], f.label) for f in d.files] for split, d in splits.items()} == {
        "train": [("train", "a", 0), ("train", "b", 1), ("train", "c", 2)], "valid": [("valid", "c", 2)],
        "test": [("test", "b", 1), ("test", "c", 2)]}


# Sample formats, channels and rates.

@pytest.mark.parametrize("suffix, subtype, tolerance", [
    (".wav", "PCM_U8", 1 / 128), (".wav", "PCM_16", 1 / 32768), (".wav", "PCM_24", 2**-23), (".wav", "PCM_32", 2**-31),
    (".wav", "FLOAT", 1e-7), (".flac", "PCM_24", 2**-23), (".flac", "PCM_S8", 1 / 128),
])
def test_every_sample_format_reads_as_the_signal_it_holds(tmp_path, suffix, subtype, tolerance):
    signal = tone(4096, freq=300, amplitude=0.7)
    write(tmp_path / f"a{suffix}", signal, subtype=subtype)
    dataset = audio_folder(str(tmp_path), layout="flat", length=4096)
    assert len(dataset) == 1 and soundfile.info(str(tmp_path / f"a{suffix}")).subtype == subtype
    read = dataset[0][0][0].double().numpy()
    assert np.abs(read - signal).max() <= max(tolerance, 1e-7)  # float32 holds ~7 digits
    assert np.abs(read).max() == pytest.approx(0.7, abs=max(tolerance, 1e-6))


def test_ogg_vorbis_reads_back_close_to_its_signal(tmp_path):
    signal = tone(8192, freq=500, amplitude=0.5)
    write(tmp_path / "a.ogg", signal, subtype="VORBIS")
    read = audio_folder(str(tmp_path), length=8192)[0][0][0].double().numpy()
    assert np.corrcoef(read[1000:7000], signal[1000:7000])[0, 1] > 0.99


def test_stereo_is_averaged_and_other_rates_are_resampled(tmp_path):
    left, right = tone(4096, freq=300, amplitude=0.6), tone(4096, freq=700, amplitude=0.2)
    write(tmp_path / "stereo" / "a.wav", np.stack([left, right], axis=1), subtype="FLOAT")
    mono = audio_folder(str(tmp_path / "stereo"), length=4096)[0][0][0].double().numpy()
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-6)
    write(tmp_path / "rate" / "a.wav", tone(4410, rate=44100, freq=1000), rate=44100)  # 0.1 s
    clip = audio_folder(str(tmp_path / "rate"), length=2048)[0][0][0]
    assert resampled_frames(4410, 44100, 16000) == 1600
    assert float(clip[100:1500].abs().max()) == pytest.approx(0.5, abs=0.01) and torch.all(clip[1600:] == 0)
    spectrum = np.abs(np.fft.rfft(clip[:1600].numpy()))
    assert abs(np.argmax(spectrum) * RATE / 1600 - 1000) <= 10  # still 1 kHz at the new rate
    for frames, rate in ((16000, 22050), (12345, 44100), (999, 48000), (7, 8000), (22050, 11025)):
        assert resampled_frames(frames, rate, RATE) == len(resample(np.zeros(frames, np.float32), rate, RATE))


# Bad files, missing data, bad settings.

def test_bad_files_are_skipped_and_counted_in_one_warning(tmp_path, caplog):
    good = [write(tmp_path / f"good{n}.wav", tone(8000)) for n in range(2)]
    (tmp_path / "garbage.wav").write_bytes(b"not audio at all " * 50)
    (tmp_path / "header.wav").write_bytes(good[0].read_bytes()[:30])          # truncated inside the header
    write(tmp_path / "empty.wav", np.zeros(0))
    write(tmp_path / "zeros.wav", np.zeros(8000))
    write(tmp_path / "whisper.wav", tone(8000, amplitude=5e-5), subtype="FLOAT")
    write(tmp_path / "short.wav", tone(100))
    clipped = write(tmp_path / "clipped.wav", np.sign(tone(8000)) * 1.0, subtype="PCM_16")
    with caplog.at_level(logging.WARNING, logger="gan_cli"):
        dataset = audio_folder(str(tmp_path), length=4096)
    assert sorted(f.path.name for f in dataset.files) == ["clipped.wav", "good0.wav", "good1.wav"]
    assert {reason: sorted(p.name for p in paths) for reason, paths in dataset.skipped.items()} == {
        "unreadable": ["garbage.wav", "header.wav"], "empty": ["empty.wav"], "silent": ["whisper.wav", "zeros.wav"],
        "too short": ["short.wav"]}
    assert dataset.clipped == [clipped]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"skipped 6 of 9 audio files under {tmp_path}: 2 unreadable, 1 empty, 2 silent, "
                                  f"1 too short")
    assert "kept 1 clipped file(s)" in warnings[0] and "clipped.wav" in warnings[0]


def test_a_folder_of_only_bad_files_is_an_error_saying_why(tmp_path):
    (tmp_path / "garbage.wav").write_bytes(b"\x00\x01 noise" * 30)
    write(tmp_path / "zeros.flac", np.zeros(4000))
    with pytest.raises(UserError) as info:
        audio_folder(str(tmp_path))
    message = str(info.value)
    assert f"data.root={tmp_path}: none of the 2 audio files" in message
    assert "1 unreadable, 1 silent" in message and "garbage.wav" in message and "zeros.flac" in message


def test_missing_data_names_the_folders_and_where_the_data_comes_from(tmp_path):
    with pytest.raises(UserError, match=r"data.root=.*nowhere is not a folder.*sc09.tar.gz.*keithito.*10283/3443"):
        audio_folder(str(tmp_path / "nowhere"))
    (tmp_path / "notes.txt").write_text("no audio")
    with pytest.raises(UserError, match=r"holds no audio files: nothing under .* ends in \.flac, \.ogg, \.wav"):
        audio_folder(str(tmp_path))
    write(tmp_path / "music" / "song.wav", tone(4000))
    with pytest.raises(UserError) as info:
        audio_folder(str(tmp_path), layout="sc09")
    assert "train/, valid/ and test/" in str(info.value) and str(tmp_path / "sc09") in str(info.value)
    assert "the layouts accepted are auto" in str(info.value) and "cdonahue/sc09.tar.gz" in str(info.value)
    write_sc09(tmp_path / "only_train", splits=("train",), frames=4000)
    with pytest.raises(UserError, match=f"{tmp_path / 'only_train' / 'sc09' / 'valid'} not found"):
        audio_folder(str(tmp_path / "only_train"), split="valid")
    write(tmp_path / "lj" / "wavs" / "LJ001-0001.wav", tone(4000))
    with pytest.raises(UserError, match=f"{tmp_path / 'lj' / 'metadata.csv'} not found.*keithito.com"):
        audio_folder(str(tmp_path / "lj"), layout="ljspeech")
    with pytest.raises(UserError, match=r"wav48_silence_trimmed/ or wav48/ not found.*datashare.ed.ac.uk"):
        audio_folder(str(tmp_path / "music"), layout="vctk")


@pytest.mark.parametrize("setting, match", [
    ({"sample_rate": 3999}, "data.sample_rate=3999 is not valid: it must be a whole number of at least 4000"),
    ({"length": 1000}, "data.length=1000 is not valid"),
    ({"layout": "timit"}, "data.layout='timit' is not one of auto, sc09, ljspeech, vctk, flat"),
    ({"mode": "frames"}, "data.mode='frames' is not one of auto, clips, segments"),
    ({"split": "val"}, "data.split='val' is not one of train, valid, test"),
])
def test_bad_settings_are_named(tmp_path, setting, match):
    write(tmp_path / "a.wav", tone(4000))
    with pytest.raises(UserError, match=re.escape(match)):
        audio_folder(str(tmp_path), **setting)


def test_a_file_deleted_mid_run_is_an_error_naming_it(tmp_path):
    paths = [write(tmp_path / f"{n}.wav", tone(4000)) for n in range(3)]
    dataset = audio_folder(str(tmp_path), length=4096)
    paths[1].unlink()
    assert dataset[0][0].shape == (1, 4096)
    with pytest.raises(UserError, match=f"{paths[1]} cannot be read any more"):
        dataset[1]


# Batches and the command line.

def test_batches_stream_or_come_from_memory(tmp_path):
    write_sc09(tmp_path, frames=4000, splits=("train",))
    for in_memory in (False, True):
        cfg = compose_train(["model=wavegan", "data=audio_folder", f"data.root={tmp_path}", "data.batch_size=5",
                             "data.num_workers=0", f"data.in_memory={in_memory}", "data.num_classes=10"])
        source = DataSource(cfg.data)
        batches = build_batches(source, "cpu", seed=0)
        audio, labels = batches.next()
        assert audio.shape == (5, 1, 16384) and audio.dtype == torch.float32 and labels.dtype == torch.long
        assert batches.kind == ("in_memory" if in_memory else "streaming")
        assert set(labels.tolist()) <= set(range(10)) and float(audio.abs().max()) == pytest.approx(0.5, abs=1e-3)


def test_gan_train_runs_wavegan_on_an_sc09_tree(tmp_path):
    write_sc09(tmp_path / "data", frames=16000, splits=("train",))
    run = tmp_path / "run"
    trained = run_cli("gan-train", "model=wavegan", "data=audio_folder", f"data.root={tmp_path / 'data'}",
                      "trainer.steps=2", "trainer.sample_every=1", "data.batch_size=4", "data.num_workers=0",
                      "model.generator.model_size=2", "model.discriminator.model_size=2", "trainer.device=cpu",
                      "trainer.num_fixed_samples=2", f"hydra.run.dir={run}", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    samples, rate = soundfile.read(str(run / "samples" / "step_0000002.wav"))
    assert rate == RATE and len(samples) == 2 * 16384 + 4000  # two clips, 0.25 s apart
    assert (run / "checkpoints" / "last.pt").is_file()


def test_gan_train_without_the_files_stops_with_one_paragraph(tmp_path):
    result = run_cli("gan-train", "experiment=wavegan_sc09", f"data.root={tmp_path / 'nonexistent'}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "is not a folder" in errors[0] and "cdonahue/sc09.tar.gz" in errors[0]
    (tmp_path / "empty").mkdir()
    write(tmp_path / "empty" / "a.wav", tone(4000))
    result = run_cli("gan-train", "experiment=wavegan_sc09", f"data.root={tmp_path / 'empty'}", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr and "train/, valid/ and test/" in result.stderr
