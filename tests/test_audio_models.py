"""WaveGAN and the audio task: the networks' shapes and phase shuffle, and the command lines on tiny
audio (gan-train with TensorBoard audio, exact resume, gan-sample, gan-interp, gan-eval's audio metrics)."""

from __future__ import annotations

import json

import pytest
import soundfile
import torch
from conftest import compose_train, run_cli
from test_train import _weights

from gan_cli.errors import UserError
from gan_cli.models.wavegan import WaveGANDiscriminator, WaveGANGenerator, phase_shuffle
from gan_cli.training.run import train

TINY_AUDIO = ["model=wavegan", "trainer.device=cpu", "data.dataset.voices_per_word=2", "data.batch_size=4",
              "model.generator.model_size=2", "model.discriminator.model_size=2", "trainer.num_fixed_samples=4",
              "trainer.log_every=1", "trainer.sample_every=2", "trainer.checkpoint_every=2", "trainer.n_critic=2"]


@pytest.mark.parametrize("length", [16384, 32768, 65536])
def test_wavegan_makes_clips_of_the_data_length_and_scores_them(length):
    generator, discriminator = WaveGANGenerator(100, (1, length), 4), WaveGANDiscriminator((1, length), 4)
    clips = generator(torch.randn(3, 100)).detach()
    assert clips.shape == (3, 1, length) and float(clips.abs().max()) <= 1
    assert discriminator(clips).shape == (3,)
    conditional = WaveGANGenerator(100, (1, length), 4, num_classes=10)
    labels = torch.tensor([1, 2, 3])
    assert conditional(torch.randn(3, 100), labels).shape == (3, 1, length)
    assert WaveGANDiscriminator((1, length), 4, num_classes=10)(clips, labels).shape == (3,)


def test_the_papers_sizes_at_model_size_64():
    generator, discriminator = WaveGANGenerator(100, (1, 16384), 64), WaveGANDiscriminator((1, 16384), 64)
    assert [layer.stride[0] for layer in generator.layers] == [4] * 5
    assert [layer.kernel_size[0] for layer in generator.layers] == [25] * 5
    assert generator.dense.out_features == 16 * 1024  # (16, 1024) before the first transposed convolution
    assert [layer.out_channels for layer in discriminator.layers] == [64, 128, 256, 512, 1024]
    assert sum(p.numel() for p in generator.parameters()) == pytest.approx(19.07e6, rel=0.01)


def test_spectral_norm_holds_every_layer_of_the_audio_discriminators_at_unit_norm():
    """model.discriminator.spectral_norm=true (SNGAN's recipe with loss=hinge) on WaveGAN's and SpecGAN's D."""
    from gan_cli.models.specgan import SpecGANDiscriminator

    torch.manual_seed(0)
    wavegan = WaveGANDiscriminator((1, 16384), 4, num_classes=10, spectral_norm=True)
    specgan = SpecGANDiscriminator((1, 16384), 4, spectral_norm=True)
    for discriminator, inputs in ((wavegan, torch.randn(4, 1, 16384)), (specgan, torch.randn(4, 1, 128, 128))):
        discriminator.train()
        for _ in range(30):  # the power iteration converges as D is called
            discriminator(inputs, torch.tensor([0, 1, 2, 3]))
        kinds = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)
        layers = [m for m in discriminator.modules() if isinstance(m, kinds)]
        assert layers and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
        for layer in layers:
            sigma = torch.linalg.matrix_norm(layer.weight.detach().flatten(1), ord=2)
            assert float(sigma) == pytest.approx(1.0, abs=0.05)
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in WaveGANDiscriminator((1, 16384), 4).modules())


def test_a_clip_length_wavegan_cannot_make_is_named():
    with pytest.raises(UserError, match="data.length=16000 is not a WaveGAN clip length"):
        WaveGANGenerator(100, (1, 16000), 4)


def test_phase_shuffle_shifts_each_sample_within_its_radius():
    torch.manual_seed(0)
    x = torch.arange(40, dtype=torch.float32).repeat(64, 1, 1)
    shuffled = phase_shuffle(x, 2)
    middle = shuffled[:, 0, 10] - x[:, 0, 10]
    assert set(middle.tolist()) <= {-2.0, -1.0, 0.0, 1.0, 2.0} and len(set(middle.tolist())) > 1
    assert torch.equal(phase_shuffle(x, 0), x)
    assert torch.equal(shuffled[:, 0, 5:35] - middle[:, None], x[:, 0, 5:35])  # a shift, not a reshuffle


@pytest.mark.slow
def test_wavegan_resumes_exactly(audio_cache, tmp_path):
    steps = [*TINY_AUDIO, "trainer.steps=4"]
    train(compose_train(steps), run_dir=tmp_path / "straight")
    train(compose_train([*TINY_AUDIO, "trainer.steps=2"]), run_dir=tmp_path / "first")
    train(compose_train([*steps, f"resume={tmp_path / 'first' / 'checkpoints' / 'last.pt'}"]),
          run_dir=tmp_path / "second")
    straight, _ = _weights(tmp_path / "straight" / "checkpoints" / "last.pt")
    halves, _ = _weights(tmp_path / "second" / "checkpoints" / "last.pt")
    assert straight.keys() == halves.keys() and all(torch.equal(straight[k], halves[k]) for k in straight)


@pytest.mark.slow
def test_the_audio_commands_end_to_end(audio_cache, tmp_path):
    run = tmp_path / "run"
    trained = run_cli("gan-train", *TINY_AUDIO, "trainer.steps=2", f"hydra.run.dir={run}", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    wav = run / "samples" / "step_0000002.wav"
    samples, rate = soundfile.read(wav)
    assert rate == 16000 and len(samples) == 4 * 16384 + 3 * 4000  # four clips with 0.25 s between
    assert (run / "samples" / "step_0000002.png").is_file()
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run), size_guidance={"audio": 0}).Reload()
    assert "samples/clip_0" in events.Tags()["audio"] and "samples/spectrograms" in events.Tags()["images"]

    ckpt = run / "checkpoints" / "last.pt"
    sampled = run_cli("gan-sample", f"ckpt={ckpt}", "n=3", "seed=5", cwd=tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    samples, rate = soundfile.read(run / "samples" / "sample_seed5_n3.wav")
    assert rate == 16000 and len(samples) == 3 * 16384 + 2 * 4000
    walked = run_cli("gan-interp", f"ckpt={ckpt}", "seeds=[0,1]", "steps=3", cwd=tmp_path)
    assert walked.returncode == 0, walked.stderr
    assert soundfile.info(str(run / "samples" / "interp_slerp.wav")).frames == 3 * 16384 + 2 * 4000
    evaluated = run_cli("gan-eval", f"ckpt={ckpt}", "num_samples=20", "num_real=20", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "spoken-digits-classifier" in evaluated.stdout and "confident" in evaluated.stdout
    report = json.loads((run / "checkpoints" / "last.eval.json").read_text())
    assert report["real_data"]["fid"] < report["values"]["fid"] / 2  # two steps have not learnt the digits
