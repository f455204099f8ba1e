"""SpecGAN (spectrograms of the clips, Griffin-Lim back) and the audio metrics: the shipped spoken-digits
classifier hears held-out voices, and the evaluator tells real clips from noise (WaveGAN's SC09 protocol)."""

from __future__ import annotations

import json

import pytest
import soundfile
import torch
import torch.nn as nn
from conftest import compose_train, run_cli
from omegaconf import OmegaConf

from gan_cli.data.spoken_digits import spoken_digits
from gan_cli.errors import UserError
from gan_cli.eval.evaluator import Evaluator, eval_request, resolve_settings
from gan_cli.eval.features import SpokenDigitsFeatures
from gan_cli.inference.audio_output import waveform_sampler
from gan_cli.latent_layout import LatentLayout
from gan_cli.models.capabilities import SpectrogramBased
from gan_cli.models.specgan import SpecGANDiscriminator, SpecGANGenerator, SpecGANSpectrogram

TINY_SPECGAN = ["model=specgan", "trainer.device=cpu", "data.dataset.voices_per_word=2", "data.batch_size=4",
                "model.generator.base_width=2", "model.discriminator.base_width=2", "trainer.num_fixed_samples=4",
                "trainer.log_every=1", "trainer.sample_every=2", "trainer.checkpoint_every=2", "trainer.n_critic=2"]


def _tones(n: int, length: int = 16384, rate: int = 16000) -> torch.Tensor:
    """n clips: a tone of a different pitch in each, loud for its first half, then silence."""
    t = torch.arange(length) / rate
    clips = torch.stack([0.5 * torch.sin(2 * torch.pi * (200 + 150 * i) * t) for i in range(n)])
    clips[:, length // 2:] = 0
    return clips.unsqueeze(1)


def test_the_specgan_representation_normalises_each_bin_and_inverts_with_griffin_lim():
    representation = SpecGANSpectrogram((1, 16384))
    clips = _tones(8)
    representation.fit(clips)
    spectrograms = representation(clips)
    assert spectrograms.shape == (8, 1, 128, 128) and float(spectrograms.abs().max()) <= 1
    log_magnitude = representation.log_magnitude(clips)
    assert torch.allclose(log_magnitude.mean(dim=(0, 2)), representation.mean, atol=1e-3)
    assert bool(representation.fitted)
    rebuilt = representation.invert(spectrograms)
    assert rebuilt.shape == clips.shape
    # Griffin-Lim recovers a phase for the magnitudes: the spectrogram of the result is close to the asked
    # one (the phase, and so the waveform, is not the original's).
    assert (representation(rebuilt) - spectrograms).abs().mean() < 0.05
    assert (representation(rebuilt) - spectrograms).abs().mean() < 0.5 * (representation(clips.flip(0)) - spectrograms).abs().mean()


def test_specgan_makes_square_spectrograms_and_clips_and_refuses_other_framings():
    generator, discriminator = SpecGANGenerator(100, (1, 16384), 4), SpecGANDiscriminator((1, 16384), 4)
    assert isinstance(generator, SpectrogramBased)
    spectrograms = generator(torch.randn(2, 100))
    assert spectrograms.shape == (2, 1, 128, 128) and discriminator(spectrograms).shape == (2,)
    clips = waveform_sampler(generator)(torch.randn(2, 100))
    assert clips.shape == (2, 1, 16384) and float(clips.abs().max()) <= 1
    assert SpecGANGenerator(100, (1, 4096), 4, n_fft=128, hop=64)(torch.randn(1, 100)).shape == (1, 1, 64, 64)
    with pytest.raises(UserError, match="n_fft=512 gives 256 frequency bins but 16384 samples / hop 128 give 128"):
        SpecGANGenerator(100, (1, 16384), 4, n_fft=512)
    with pytest.raises(UserError, match="mono clips"):
        SpecGANDiscriminator((1, 64, 64))


def test_the_paper_size_of_specgan():
    generator = SpecGANGenerator(100, (1, 16384), 64)
    widths = [m.out_channels for m in generator.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert widths == [1024, 512, 256, 128, 64, 1]  # 4x4x16d up to 128x128, d = 64


def test_the_shipped_classifier_hears_the_digits_of_voices_it_never_heard(audio_cache):
    clips, labels = spoken_digits(split="test", voices_per_word=6)
    extractor = SpokenDigitsFeatures()
    features, logits = extractor(clips)
    assert features.shape == (60, 128) and logits.shape == (60, 10)
    assert float((logits.argmax(dim=1) == labels).float().mean()) >= 0.9
    with pytest.raises(UserError, match="hears 16000 Hz clips, but the data is at data.sample_rate=8000"):
        SpokenDigitsFeatures(sample_rate=8000)
    with pytest.raises(UserError, match="mono clips"):
        extractor(torch.zeros(2, 1, 32, 32))


class _Replay(nn.Module):
    """A 'generator' that plays real clips back, one per latent, in order."""

    def __init__(self, clips):
        super().__init__()
        self.clips, self.next = clips, 0
        self.weight = nn.Parameter(torch.zeros(()))

    def forward(self, z, labels=None):
        out = self.clips[self.next: self.next + len(z)]
        self.next += len(z)
        return out


class _Noise(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(()))

    def forward(self, z, labels=None):
        return 0.3 * torch.randn(len(z), 1, 16384, generator=torch.Generator().manual_seed(len(z)))


def _audio_data(split="train"):
    return OmegaConf.create({"name": "spoken_digits", "task": "audio", "sample_rate": 16000, "length": 16384,
                             "channels": 1, "shape": [1, 16384], "batch_size": 8,
                             "dataset": {"_target_": "gan_cli.data.spoken_digits.spoken_digits", "split": split,
                                         "voices_per_word": 8}})


def test_the_audio_metrics_tell_real_digits_from_noise(audio_cache, tmp_path):
    request = eval_request(compose_train(["model=wavegan", "eval.num_samples=60", "eval.num_real=80",
                                          f"eval.cache_dir={tmp_path}", "eval.kid_subset_size=50", "eval.is_splits=2"]))
    evaluator = Evaluator(_audio_data(), LatentLayout(latent_dim=100), request)
    assert evaluator.settings.metrics == ("fid", "kid", "is", "pr", "classes", "confident")
    assert evaluator.protocol["feature_extractor"] == "spoken-digits-classifier"
    assert evaluator.protocol["reference"]["sample_rate"] == 16000
    held_out, _ = spoken_digits(split="test", voices_per_word=6)
    real = evaluator(_Replay(held_out))
    noise = evaluator(_Noise())
    assert real["fid"] < noise["fid"] / 3 and real["is"] > 5 and noise["is"] < 2
    assert real["confident"] > 0.8 and real["class_coverage"] == 1.0
    assert noise["class_coverage"] <= 0.3


def test_audio_metrics_refuse_extractors_of_images():
    data = _audio_data()
    with pytest.raises(UserError, match="eval.feature_extractor=inception does not fit data=spoken_digits"):
        resolve_settings(data, {"feature_extractor": "inception"})
    images = OmegaConf.create({"name": "digits", "shape": [1, 32, 32]})
    with pytest.raises(UserError, match="spoken_digits_classifier does not fit data=digits"):
        resolve_settings(images, {"feature_extractor": "spoken_digits_classifier"})
    with pytest.raises(UserError, match="metrics=confident needs a classifier"):
        resolve_settings(OmegaConf.create({"name": "cifar10", "shape": [3, 32, 32]}), {"metrics": ["confident"]})


@pytest.mark.slow
def test_specgan_trains_on_spectrograms_of_the_clips_and_its_checkpoint_alone_makes_clips(audio_cache, tmp_path):
    run = tmp_path / "run"
    trained = run_cli("gan-train", *TINY_SPECGAN, "trainer.steps=2", "eval.every=2", "eval.num_samples=20",
                      "eval.num_real=20", "eval.kid_subset_size=10", "eval.is_splits=2", f"hydra.run.dir={run}",
                      cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "seen as 128x128 log-magnitude spectrograms" in trained.stderr + trained.stdout
    ckpt = run / "checkpoints" / "last.pt"
    state = torch.load(ckpt, map_location="cpu", weights_only=True)["generator"]
    assert bool(state["representation.fitted"]) and float(state["representation.std"].min()) > 0
    samples, rate = soundfile.read(run / "samples" / "step_0000002.wav")
    assert rate == 16000 and len(samples) == 4 * 16384 + 3 * 4000
    sampled = run_cli("gan-sample", f"ckpt={ckpt}", "n=3", cwd=tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    assert soundfile.info(str(run / "samples" / "sample_seed0_n3.wav")).frames == 3 * 16384 + 2 * 4000
    evaluated = run_cli("gan-eval", f"ckpt={ckpt}", "num_samples=20", "num_real=20", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((run / "checkpoints" / "last.eval.json").read_text())
    assert {"fid", "is", "confident", "class_coverage"} <= report["values"].keys()
    assert report["real_data"]["fid"] < report["values"]["fid"] / 2  # two steps have not learnt the digits


def test_specgan_resumes_exactly(audio_cache, tmp_path):
    from test_train import _weights

    from gan_cli.training.run import train

    train(compose_train([*TINY_SPECGAN, "trainer.steps=4"]), run_dir=tmp_path / "straight")
    train(compose_train([*TINY_SPECGAN, "trainer.steps=2"]), run_dir=tmp_path / "first")
    train(compose_train([*TINY_SPECGAN, "trainer.steps=4", f"resume={tmp_path / 'first' / 'checkpoints' / 'last.pt'}"]),
          run_dir=tmp_path / "second")
    straight, _ = _weights(tmp_path / "straight" / "checkpoints" / "last.pt")
    halves, _ = _weights(tmp_path / "second" / "checkpoints" / "last.pt")
    assert straight.keys() == halves.keys() and all(torch.equal(straight[k], halves[k]) for k in straight)


@pytest.mark.slow
@pytest.mark.parametrize("model, size", [("wavegan", "model_size"), ("specgan", "base_width")])
def test_the_audio_gans_train_under_two_processes_and_in_bfloat16(model, size, audio_cache, tmp_path):
    """trainer.devices=2 on CPU (a real gloo process group): both ranks fit the same spectrogram moments and
    stay identical; trainer.precision=bf16 trains too."""
    from gan_cli.runs.checkpoints import load_checkpoint

    tiny = [f"model={model}", "trainer.device=cpu", "data.dataset.voices_per_word=2", "data.batch_size=4",
            f"model.generator.{size}=2", f"model.discriminator.{size}=2", "trainer.num_fixed_samples=4",
            "trainer.log_every=1", "trainer.n_critic=2", "trainer.steps=2"]
    run = tmp_path / "ddp"
    result = run_cli("gan-train", *tiny, "trainer.devices=2", f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    checkpoint = load_checkpoint(run / "checkpoints" / "last.pt")
    assert checkpoint["world_size"] == 2 and checkpoint["step"] == 2
    assert checkpoint["ranks"][0]["weights_sha256"] == checkpoint["ranks"][1]["weights_sha256"]
    half = run_cli("gan-train", *tiny, "trainer.precision=bf16", f"hydra.run.dir={tmp_path / 'bf16'}", cwd=tmp_path)
    assert half.returncode == 0, half.stderr
    assert "precision bf16" in half.stdout + half.stderr


@pytest.mark.slow
def test_a_specgan_sweep_trains_each_job(audio_cache, tmp_path):
    from test_sweep import summary_rows

    sweep = tmp_path / "sweep"
    result = run_cli("gan-train", "-m", *TINY_SPECGAN, "trainer.steps=2", "optim.lr=1e-4,2e-4",
                     f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = summary_rows(sweep)
    assert len(rows) == 2 and {row["status"] for row in rows} == {"finished"}
    assert all((sweep / row["job"] / "checkpoints" / "last.pt").is_file() for row in rows)
