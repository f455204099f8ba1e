"""The vocoders (HiFi-GAN, MelGAN) and their task: the networks' sizes against the papers', output lengths,
the discriminators' logits and feature maps, the objective's logged terms, the exponential schedule,
data=speech, the evaluator with its Griffin-Lim row, and the command lines on tiny speech (gan-train
with TensorBoard audio, exact resume, gan-sample input=, gan-eval, the refusals, DDP)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from conftest import compose_train, run_cli
from omegaconf import OmegaConf

from gan_cli.data.speech import SENTENCES, TEST_SENTENCES, recipe, speech
from gan_cli.errors import UserError
from gan_cli.mel import MelFeatures
from gan_cli.models.hifigan import HiFiGANGenerator, MultiPeriodDiscriminator, MultiScaleDiscriminator
from gan_cli.models.melgan import MelGANDiscriminator, MelGANGenerator
from gan_cli.runs.checkpoints import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
TINY_SPEECH = ["trainer.device=cpu", "data.dataset.voices=2", "data.dataset.sentences_per_voice=2", "data.batch_size=2",
               "data.segment_length=4096", "trainer.num_fixed_samples=2", "trainer.log_every=1",
               "trainer.sample_every=2", "trainer.checkpoint_every=2"]
TINY = {
    "hifigan": [*TINY_SPEECH, "model=hifigan", "model.generator.upsample_initial_channel=16",
                "model.discriminator.width=0.03", "model.discriminator_periods.width=0.03"],
    "melgan": [*TINY_SPEECH, "model=melgan", "model.generator.ngf=2", "model.discriminator.ndf=4",
               "model.discriminator.max_channels=16"],
}


@pytest.fixture
def speech_cache(tmp_path_factory, monkeypatch):
    """One small speech set for the module's runs (synthesised once)."""
    folder = tmp_path_factory.getbasetemp() / "speech_cache"
    monkeypatch.setenv("GAN_CLI_CACHE", str(folder))
    return folder


def deployed_parameters(module: torch.nn.Module) -> int:
    """Weights as the papers count them: after weight norm is folded back (its magnitude g not counted)."""
    return sum(p.numel() for name, p in module.named_parameters() if not name.endswith("original0"))


def in_millions(count: int) -> float:
    return math.floor(count / 1e4) / 100  # the papers' two decimals (13,926,017 -> 13.92)


@pytest.mark.parametrize("version, millions", [("V1", 13.92), ("V2", 0.92), ("V3", 1.46)])
def test_hifigan_generators_have_the_papers_sizes(version, millions):
    generator = HiFiGANGenerator(version)
    assert in_millions(deployed_parameters(generator)) == millions
    assert generator.hop_length == 256


def test_melgan_has_the_papers_sizes():
    assert in_millions(deployed_parameters(MelGANGenerator())) == 4.26  # HiFi-GAN's Table 1 (MelGAN: 4.26 M)
    d = MelGANDiscriminator()
    layers = d.discriminators[0].convs
    convs = [layers[0][1], *layers[1:]]
    assert [c.out_channels for c in convs] == [16, 64, 256, 1024, 1024, 1024]
    assert [c.kernel_size[0] for c in convs] == [15, 41, 41, 41, 41, 5]
    assert [c.stride[0] for c in convs] == [1, 4, 4, 4, 4, 1]
    assert [c.groups for c in convs] == [1, 4, 16, 64, 256, 1]
    assert len(d.discriminators) == 3


@pytest.mark.parametrize("make", [lambda: HiFiGANGenerator("V1", upsample_initial_channel=32),
                                  lambda: HiFiGANGenerator("V3", upsample_initial_channel=16),
                                  lambda: MelGANGenerator(ngf=2)])
@pytest.mark.parametrize("frames", [4, 7, 32])  # MelGAN reflection-pads 3 frames
def test_the_waveform_is_frames_times_hop_long(make, frames):
    generator = make()
    audio = generator(torch.randn(2, 80, frames)).detach()
    assert audio.shape == (2, 1, frames * 256) and float(audio.abs().max()) <= 1


def test_a_generator_whose_kernels_do_not_fit_its_rates_is_named():
    with pytest.raises(UserError, match="upsample_kernel_sizes=.*each kernel the rate plus an even number"):
        HiFiGANGenerator("V2", upsample_kernel_sizes=[15, 16, 4, 4])
    with pytest.raises(UserError, match="version='V9' is not one of HiFi-GAN's"):
        HiFiGANGenerator("V9")


def test_the_discriminators_give_logits_and_feature_maps():
    audio = torch.randn(2, 1, 4096).clamp(-1, 1)
    mpd = MultiPeriodDiscriminator(width=0.0625)(audio)
    assert len(mpd) == 5
    for period, (logits, maps) in zip((2, 3, 5, 7, 11), mpd):
        assert logits.shape[0] == 2 and len(maps) == 6 and maps[0].shape[-1] == period
        assert maps[-1].flatten(1).shape == logits.shape  # the logits' map is the last matched
    msd = MultiScaleDiscriminator(width=0.0625)
    outputs = msd(audio)
    assert len(outputs) == 3 and all(len(maps) == 8 for _, maps in outputs)
    assert [logits.shape[1] for logits, _ in outputs] == [64, 33, 17]  # x2, x4 pooled
    first = msd.discriminators[0].convs[0].parametrizations.weight[0]
    assert type(first).__name__ == "_SpectralNorm"
    assert type(msd.discriminators[1].convs[0].parametrizations.weight[0]).__name__ == "_WeightNorm"
    melgan = MelGANDiscriminator(ndf=4, max_channels=16)(audio)
    assert len(melgan) == 3 and all(len(maps) == 6 and logits.ndim == 2 for logits, maps in melgan)


def test_the_mel_front_end_and_griffin_lim_reference():
    mel = MelFeatures()
    t = torch.arange(8192) / 22050
    tone = (0.5 * torch.sin(2 * math.pi * 440 * t)).reshape(1, 1, -1)
    assert mel.input(tone).shape == (1, 80, 32) and mel.loss(tone).shape == (1, 80, 32)
    rebuilt = mel.griffin_lim(tone)
    assert rebuilt.shape == tone.shape
    good = float((mel.loss(tone) - mel.loss(rebuilt)).abs().mean())
    late = float((mel.loss(tone) - mel.loss(torch.roll(rebuilt, 128, -1))).abs().mean())
    assert good < 1.0 and good < late  # aligned with the input frame for frame
    with pytest.raises(UserError, match="model.mel.hop=0 must be a positive whole number"):
        MelFeatures.from_config({**mel.describe(), "hop": 0})
    with pytest.raises(UserError, match=r"model.mel.f_max=20000.0 must be in \(0, 11025\]"):
        MelFeatures.from_config({**mel.describe(), "f_max": 20000.0})


def test_the_exponential_schedule_falls_once_per_epoch():
    from gan_cli.training.schedules import lr_factor

    optim = OmegaConf.create({"schedule": "exponential", "decay_per_epoch": 0.5, "decay_start": 0.5,
                              "schedule_steps": 10})
    factor = lr_factor(optim, 100, steps_per_epoch=3)
    assert [factor(step) for step in (0, 2, 3, 5, 6, 9)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.125]
    with pytest.raises(UserError, match="optim.decay_per_epoch=1.5 must be"):
        lr_factor(OmegaConf.create({**optim, "decay_per_epoch": 1.5}), 100, 3)


def test_speech_is_held_out_by_voice_and_by_sentence():
    train, test = recipe("train"), recipe("test")
    assert len(train) == 72 * 3 and len(test) == 24
    assert not {u["voice"] for u in train} & {u["voice"] for u in test}
    assert not {u["text"] for u in train} & {u["text"] for u in test}
    assert {u["text"] for u in test} == set(SENTENCES[-TEST_SENTENCES:])
    assert len(set(SENTENCES)) == len(SENTENCES) >= 40
    with pytest.raises(UserError, match="split='val' must be train or test"):
        recipe("val")


def test_speech_segments_are_cached_and_bit_identical_when_made_again(tmp_path):
    audio, labels = speech(split="train", voices=2, sentences_per_voice=1, cache=str(tmp_path))
    assert audio.ndim == 3 and audio.shape[1:] == (1, 8192) and len(audio) >= 4 and audio.dtype == torch.float32
    assert labels.tolist() == [-1] * len(audio) and float(audio.abs().max()) <= 1
    (npz,) = tmp_path.glob("*.npz")
    manifest = json.loads(npz.with_suffix(".json").read_text())
    assert [u["voice"] for u in manifest["utterances"]] == [u["voice"] for u in recipe("train", 2, 1)]
    longer, _ = speech(split="train", voices=2, sentences_per_voice=1, segment_length=16384, cache=str(tmp_path))
    assert len(list(tmp_path.glob("*.npz"))) == 1 and torch.equal(longer[0, 0, :8192], audio[0, 0])  # re-cut, not re-made
    npz.unlink()
    again, _ = speech(split="train", voices=2, sentences_per_voice=1, cache=str(tmp_path))
    assert torch.equal(audio, again)


def _tiny_state(model: str):
    from gan_cli.training.build import build_objective, build_state
    from gan_cli.training.execution import Execution
    from gan_cli.training.stats import RunningStats
    from gan_cli.training.validation import describe_run

    run = describe_run(compose_train(TINY[model]))
    execution = Execution.from_settings(run.trainer, torch.device("cpu"), run.data.shape)
    state = build_state(run, execution)
    stats = RunningStats()
    return run, state, build_objective(run, state, execution, stats), stats


@pytest.mark.parametrize("model, terms, absent", [
    ("hifigan", {"loss/d", "loss/g", "loss/mel", "loss/feature_matching", "loss/mpd", "loss/msd"}, set()),
    ("melgan", {"loss/d", "loss/g", "loss/mel", "loss/feature_matching", "loss/msd"}, {"loss/mpd"}),
])
def test_the_objective_logs_every_term(speech_cache, model, terms, absent):
    from gan_cli.training.loop import update

    run, state, objective, stats = _tiny_state(model)
    before = [p.detach().clone() for p in state.generator.parameters()]
    for phase in objective.phases():
        loss = update(state, phase, 0)
        assert loss is not None and torch.isfinite(loss)
    values = stats.flush()
    assert terms <= set(values) and not absent & set(values)
    assert any(not torch.equal(a, b) for a, b in zip(before, state.generator.parameters()))
    if model == "hifigan":
        assert values["loss/d"] == pytest.approx(values["loss/mpd"] + values["loss/msd"], rel=1e-5)


def test_the_task_names_a_sample_rate_the_mel_does_not_have():
    from gan_cli.tasks import TASKS

    cfg = compose_train(["model=hifigan", "model.mel.sample_rate=16000"])
    with pytest.raises(UserError, match="data.sample_rate=22050 differs from model.mel.sample_rate=16000"):
        TASKS["vocoder"].check_config(cfg)
    cfg = compose_train(["model=hifigan", "data.segment_length=4000"])
    with pytest.raises(UserError, match="must be a whole number of hops"):
        TASKS["vocoder"].check_config(cfg)


def test_the_evaluator_reports_the_metrics_and_griffin_lim(speech_cache):
    from gan_cli.eval.vocoder_metrics import VocoderEvaluator
    from gan_cli.inference.copy_synthesis import Vocoder
    from gan_cli.tasks import TASKS
    from gan_cli.tasks.run_description import RunDescription

    cfg = compose_train([*TINY["hifigan"], "eval.metrics=[mel_l1,mrstft,rtf]"])
    run = RunDescription.of(cfg, TASKS["vocoder"])
    mel = MelFeatures.from_config(cfg.model.mel)
    evaluator = VocoderEvaluator(run.data, run.eval, mel, "hifigan")
    assert evaluator.clips.shape == (2, 1, 32768) and evaluator.settings.best_metric == "mel_l1"
    vocoder = Vocoder(HiFiGANGenerator("V2", upsample_initial_channel=16).eval(), mel)
    values = evaluator(vocoder)
    name, reference = evaluator.reference_values()
    assert name == "griffin_lim" and set(values) == set(reference) == {"mel_l1", "mrstft", "rtf"}
    assert reference["mel_l1"] < values["mel_l1"]  # an untrained vocoder loses to Griffin-Lim
    assert all(v > 0 and math.isfinite(v) for v in [*values.values(), *reference.values()])


@pytest.mark.skipif(__import__("importlib").util.find_spec("pesq") is not None, reason="pesq is installed")
def test_pesq_without_its_package_is_named(speech_cache):
    from gan_cli.eval.vocoder_metrics import resolve_settings
    from gan_cli.run_settings import RunSettings

    request = RunSettings.from_config(compose_train([*TINY["hifigan"], "eval.metrics=[mel_l1,pesq]"])).eval
    with pytest.raises(UserError, match="pesq needs the pesq package"):
        resolve_settings(request, "hifigan")
    auto = RunSettings.from_config(compose_train(TINY["hifigan"])).eval
    assert "pesq" not in resolve_settings(auto, "hifigan").metrics


@pytest.mark.skipif(__import__("importlib").util.find_spec("pesq") is None
                    or __import__("importlib").util.find_spec("pystoi") is None, reason="pesq / pystoi not installed")
def test_pesq_and_stoi_of_a_clip_against_itself():
    from gan_cli.eval.vocoder_metrics import perceptual

    clips, _ = speech(split="test", voices=1)
    assert perceptual("pesq", clips, clips, 22050) > 4 and perceptual("stoi", clips, clips, 22050) > 0.99


def test_audio_that_cannot_be_read_is_one_clear_error(tmp_path):
    from gan_cli.inference.copy_synthesis import audio_files, read_audio

    text = tmp_path / "notes.wav"
    text.write_text("not audio")
    with pytest.raises(UserError, match="is not audio gan-sample can read"):
        read_audio(text, 22050)
    with pytest.raises(UserError, match="does not exist"):
        audio_files(tmp_path / "missing.wav")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="is a folder without audio"):
        audio_files(tmp_path / "empty")
    soundfile.write(str(tmp_path / "stereo.wav"), np.zeros((4410, 2), np.float32), 44100)
    assert read_audio(tmp_path / "stereo.wav", 22050).shape == (1, 1, 2205)  # mono, resampled


@pytest.mark.parametrize("name", ["hifigan_ljspeech", "melgan_ljspeech"])
def test_the_ljspeech_experiments_compose(name):
    from gan_cli.tasks import check_task

    cfg = compose_train([f"experiment={name}", "data.root=/nowhere"])
    assert (cfg.data.layout, cfg.data.mode, cfg.data.length, cfg.data.batch_size) == ("ljspeech", "segments", 8192, 16)
    assert check_task(cfg).name == "vocoder"  # the folder's segments feed the vocoder task (tests/test_sweep.py trains it)


# --- the command lines (slow) ------------------------------------------------------------------------------
def _trained(model: str, run: Path, *extra: str):
    done = run_cli("gan-train", *TINY[model], "trainer.steps=2", f"hydra.run.dir={run}", *extra, cwd=run.parent)
    assert done.returncode == 0, done.stderr
    return run / "checkpoints" / "last.pt"


@pytest.mark.slow
@pytest.mark.parametrize("model", ["hifigan", "melgan"])
def test_the_vocoder_commands_end_to_end(speech_cache, tmp_path, model):
    run = tmp_path / "run"
    ckpt = _trained(model, run)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run), size_guidance={"audio": 0}).Reload()
    assert {"heldout/real_0", "heldout/vocoded_0"} <= set(events.Tags()["audio"])
    assert "samples/spectrograms" in events.Tags()["images"] and "loss/mel" in events.Tags()["scalars"]
    wav = run / "samples" / "step_0000002.wav"
    samples, rate = soundfile.read(wav)
    assert rate == 22050 and len(samples) == 4 * 32768 + 3 * 5512  # two clips and their re-synthesis
    assert (run / "samples" / "step_0000002.png").is_file()

    sampled = run_cli("gan-sample", f"ckpt={ckpt}", f"input={wav}", f"out={tmp_path / 'out'}", cwd=tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    assert "real-time factor" in sampled.stdout
    vocoded, rate = soundfile.read(tmp_path / "out" / "step_0000002.wav")
    assert rate == 22050 and len(vocoded) == len(samples) // 256 * 256
    assert (tmp_path / "out" / "step_0000002.png").is_file()
    heldout = run_cli("gan-sample", f"ckpt={ckpt}", "n=2", cwd=tmp_path)
    assert heldout.returncode == 0 and "real-time factor" in heldout.stdout, heldout.stderr

    evaluated = run_cli("gan-eval", f"ckpt={ckpt}", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "mel_l1" in evaluated.stdout and "griffin_lim" in evaluated.stdout
    report = json.loads((run / "checkpoints" / "last.eval.json").read_text())
    assert report["reference"] == "griffin_lim" and {"mel_l1", "mrstft", "rtf"} <= set(report["values"])

    for bad, message in ((run / "train.log", "is not audio gan-sample can read"), (tmp_path / "nowhere.wav",
                                                                                 "does not exist")):
        refused = run_cli("gan-sample", f"ckpt={ckpt}", f"input={bad}", cwd=tmp_path)
        assert refused.returncode == 2 and message in refused.stderr
        assert len(refused.stderr.strip().splitlines()) <= 2 and "Traceback" not in refused.stderr
    walked = run_cli("gan-interp", f"ckpt={ckpt}", cwd=tmp_path)
    assert walked.returncode == 2 and "without a latent space" in walked.stderr and "Traceback" not in walked.stderr


def _weights(path) -> dict:
    checkpoint = load_checkpoint(path)
    return {f"{key}.{name}": value for key in ("generator", "discriminator", "discriminator_periods")
            if key in checkpoint for name, value in checkpoint[key].items()}


@pytest.mark.slow
def test_hifigan_resumes_exactly(speech_cache, tmp_path):
    from gan_cli.training.run import train

    steps = [*TINY["hifigan"], "optim.decay_per_epoch=0.5"]
    train(compose_train([*steps, "trainer.steps=4"]), run_dir=tmp_path / "straight")
    train(compose_train([*steps, "trainer.steps=2"]), run_dir=tmp_path / "first")
    train(compose_train([*steps, "trainer.steps=4", f"resume={tmp_path / 'first' / 'checkpoints' / 'last.pt'}"]),
          run_dir=tmp_path / "second")
    straight = _weights(tmp_path / "straight" / "checkpoints" / "last.pt")
    halves = _weights(tmp_path / "second" / "checkpoints" / "last.pt")
    assert any(k.startswith("discriminator_periods.") for k in straight)
    assert straight.keys() == halves.keys() and all(torch.equal(straight[k], halves[k]) for k in straight)


@pytest.mark.slow
def test_hifigan_trains_on_two_processes(speech_cache, tmp_path):
    ckpt = _trained("hifigan", tmp_path / "ddp", "trainer.devices=2")
    checkpoint = load_checkpoint(ckpt)
    assert checkpoint["world_size"] == 2
    assert checkpoint["ranks"][0]["weights_sha256"] == checkpoint["ranks"][1]["weights_sha256"]
