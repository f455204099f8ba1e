"""Evaluation: the metrics on cases with known answers, packing, and gan-eval end to end."""

from __future__ import annotations

import json
import math
from urllib.error import URLError

import numpy as np
import pytest
import torch
from conftest import compose_train, run_cli
from hydra.utils import instantiate
from omegaconf import OmegaConf
from PIL import Image

from gan_cli.data.mixtures import grid, ring
from gan_cli.errors import UserError
from gan_cli.eval import Evaluator, resolve_settings
from gan_cli.eval import features as F
from gan_cli.eval import metrics as M
from gan_cli.eval.mode_metrics import mode_metrics
from gan_cli.models.dcgan import DCGANDiscriminator
from gan_cli.models.mlp import MLPDiscriminator
from gan_cli.runs.result_values import higher_is_better
from gan_cli.training.objectives.regularizers import GradientPenalty


def gaussian_samples(n, mean, cov, seed):
    return torch.from_numpy(np.random.default_rng(seed).multivariate_normal(mean, cov, size=n))


# Fréchet distance.

def test_frechet_distance_of_known_gaussians_matches_the_closed_form():
    # Commuting (diagonal) covariances: FD = |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2.
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert M.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-9)
    assert M.frechet_distance(mu1, np.diag(a), mu1, np.diag(a)) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_matches_a_reference_computation_on_full_covariances():
    from torch_fidelity.metric_fid import fid_statistics_to_metric

    rng = np.random.default_rng(0)
    stats = []
    for _ in range(2):
        root = rng.normal(size=(8, 8))
        stats.append({"mu": rng.normal(size=8), "sigma": root @ root.T + 0.1 * np.eye(8)})
    reference = fid_statistics_to_metric(stats[0], stats[1], verbose=False)["frechet_inception_distance"]
    ours = M.frechet_distance(stats[0]["mu"], stats[0]["sigma"], stats[1]["mu"], stats[1]["sigma"])
    assert ours == pytest.approx(reference, rel=1e-6)


def test_frechet_distance_of_samples_and_of_fewer_samples_than_dimensions():
    fake = gaussian_samples(4000, [0, 0], np.eye(2), seed=1)
    real = gaussian_samples(4000, [3, 0], 4 * np.eye(2), seed=2)
    # |mu|^2 = 9, covariance term 2 * (1 - 2)^2 = 2.
    assert M.frechet_distance_of_features(fake, real) == pytest.approx(11.0, rel=0.05)
    few = torch.randn(10, 32, generator=torch.Generator().manual_seed(0))  # singular covariances
    assert math.isfinite(M.frechet_distance_of_features(few, few + 1.0))


# KID, precision/recall, IS, class coverage.

def test_kid_is_zero_on_identical_sets_and_large_on_disjoint_ones():
    real = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
    # Identical sets: the unbiased estimate keeps the self-pairs in the cross term only, so it is
    # exactly 2 (mean off-diagonal kernel) - 2 (mean of all kernel values) <= 0, tiny next to a real gap.
    kernel = (real.double() @ real.double().T / 16 + 1) ** 3
    n = len(real)
    off_diagonal = (kernel.sum() - kernel.diag().sum()) / (n * (n - 1))
    expected = (2 * off_diagonal - 2 * kernel.mean()).item()
    same, _ = M.kernel_distance(real, real.clone(), subsets=10, subset_size=300)
    assert same == pytest.approx(expected, rel=1e-9) and expected <= 0
    other = torch.randn(300, 16, generator=torch.Generator().manual_seed(1))
    close, _ = M.kernel_distance(other, real, subsets=10, subset_size=200)
    far, _ = M.kernel_distance(other + 5.0, real, subsets=10, subset_size=200)
    assert abs(close) < 0.05 and abs(same) < 0.1 and far > 10 * (abs(close) + abs(same))


def test_kid_is_the_unbiased_mmd_with_the_cubic_kernel():
    x = torch.randn(50, 4, generator=torch.Generator().manual_seed(0)).double()
    y = torch.randn(60, 4, generator=torch.Generator().manual_seed(1)).double() + 0.5
    x, y = x[:50], y[:50]
    k = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731
    n = len(x)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    expected = ((kxx.sum() - kxx.diag().sum()) / (n * (n - 1)) + (kyy.sum() - kyy.diag().sum()) / (n * (n - 1))
                - 2 * kxy.mean()).item()
    # One subset of all samples: a permutation, so exactly the full unbiased estimate.
    mean, std = M.kernel_distance(x, y, subsets=1, subset_size=1000)
    assert mean == pytest.approx(expected, rel=1e-9) and std == 0.0


def test_precision_recall_on_identical_disjoint_and_half_covering_sets():
    real = torch.randn(200, 8, generator=torch.Generator().manual_seed(0))
    assert M.precision_recall(real, real.clone(), k=3) == (1.0, 1.0)
    assert M.precision_recall(real + 100.0, real, k=3) == (0.0, 0.0)
    # Real data in two far clusters, fakes only in one: every fake is realistic, half the reals are missed.
    offset = torch.zeros(8)
    offset[0] = 100.0
    two_clusters = torch.cat([real[:100], real[100:] + offset])
    assert M.precision_recall(real[:100].clone(), two_clusters, k=3) == (1.0, 0.5)


def test_inception_score_and_class_coverage_on_confident_predictions():
    confident = torch.full((1000, 10), -20.0)
    confident[torch.arange(1000), torch.arange(1000) % 10] = 20.0
    assert M.inception_score(confident, splits=1)[0] == pytest.approx(10.0, rel=1e-6)
    assert 9 < M.inception_score(confident, splits=10)[0] <= 10
    assert M.class_coverage(confident) == pytest.approx((1.0, 0.0), abs=1e-9)
    one_class = torch.zeros(1000, 10)
    one_class[:, 3] = 20.0
    assert M.inception_score(one_class, splits=10)[0] == pytest.approx(1.0, abs=1e-3)
    three = confident[torch.arange(1000) % 10 < 3]
    coverage, kl = M.class_coverage(three)
    assert coverage == pytest.approx(0.3) and kl == pytest.approx(math.log(10 / 3), rel=1e-3)


# The VEEGAN/PacGAN mixture metrics.

def test_mode_metrics_on_real_samples_cover_every_mode():
    for mixture in (ring(), grid()):
        points = mixture.sample(2500, generator=torch.Generator().manual_seed(0))
        result = mode_metrics(points, mixture)
        assert result["modes"] == mixture.num_modes
        assert result["high_quality"] > 0.97  # P(radius <= 3 std) = 1 - exp(-4.5) = 0.989 in 2-D
        assert result["reverse_kl"] < 0.02


def test_mode_metrics_on_some_modes_and_off_mode_noise():
    mixture = grid()
    # Exactly on 5 of the 25 centres, 100 points each: 5 modes, all high quality, KL = log(25/5).
    five = mixture.centers[:5].repeat_interleave(100, dim=0)
    result = mode_metrics(five, mixture)
    assert result == pytest.approx({"modes": 5.0, "high_quality": 1.0, "reverse_kl": math.log(5)})
    # Midway between neighbouring centres: no point is within 3 std (0.15) of a mode.
    off = (mixture.centers[:-1] + mixture.centers[1:]) / 2
    result = mode_metrics(off, mixture)
    assert result["modes"] == 0 and result["high_quality"] == 0 and math.isinf(result["reverse_kl"])
    # Half on every mode, half off: all modes, half high quality, a uniform histogram.
    half = torch.cat([mixture.centers.repeat(4, 1), off[:20].repeat(5, 1)])
    result = mode_metrics(half, mixture)
    assert result["modes"] == 25 and result["high_quality"] == pytest.approx(0.5) and result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    # Just outside 3 std of a centre is not high quality; just inside is.
    centre = mixture.centers[12]
    edge = torch.stack([centre + torch.tensor([0.149, 0.0]), centre + torch.tensor([0.151, 0.0])])
    assert mode_metrics(edge, mixture)["high_quality"] == 0.5


# PacGAN packing.

def test_packed_discriminators_score_packs_and_reject_uneven_batches():
    d = MLPDiscriminator([2], hidden=[16], packing=4)
    assert d(torch.randn(8, 2)).shape == (2,)
    with pytest.raises(UserError, match="multiple of 4"):
        d(torch.randn(6, 2))
    conv = DCGANDiscriminator([1, 16, 16], base_width=8, norm="layer", packing=2)
    assert conv(torch.randn(6, 1, 16, 16)).shape == (3,)
    with pytest.raises(UserError, match="packing"):
        MLPDiscriminator([2], packing=0)
    # The gradient penalty's interpolates go through the packing like any batch.
    penalty = GradientPenalty(10.0)(d, torch.randn(8, 2), torch.randn(8, 2))
    penalty.backward()
    assert torch.isfinite(penalty) and penalty > 0 and d.net[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("model,packing", [("pacgan", 4), ("pacgan2d", 2)])
def test_pacgan_configs_build_a_packed_mlp_gan(model, packing):
    cfg = compose_train([f"model={model}", "data=grid"])
    generator, discriminator = instantiate(cfg.model.generator), instantiate(cfg.model.discriminator)
    assert discriminator.packing == packing and cfg.data.batch_size % packing == 0
    fake = generator(torch.randn(cfg.data.batch_size, cfg.model.latent_dim))
    assert discriminator(fake).shape == (cfg.data.batch_size // packing,)
    with pytest.raises(Exception, match="last_hidden_activation"):
        instantiate(cfg.model.generator, last_hidden_activation="relu6")


# Settings and the Inception path.

def test_auto_settings_follow_the_data():
    ring_settings = resolve_settings(compose_train(["data=ring"]).data, compose_train([]).eval)
    assert ring_settings.metrics == ("modes",) and ring_settings.num_samples == 2500
    assert ring_settings.best_metric == "reverse_kl" and not higher_is_better("reverse_kl")
    digits = resolve_settings(compose_train([]).data, compose_train([]).eval)
    assert digits.feature_extractor == "digits_classifier" and "classes" in digits.metrics
    cifar = resolve_settings(compose_train(["data=cifar10"]).data, compose_train([]).eval)
    assert cifar.feature_extractor == "inception" and cifar.metrics == ("fid", "kid", "is", "pr")
    with pytest.raises(UserError, match="ring"):
        resolve_settings(compose_train(["data=ring"]).data, OmegaConf.create({"metrics": ["fid"]}))


def test_missing_inception_weights_say_which_file_to_fetch_and_where(tmp_path, monkeypatch):
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    assert F.INCEPTION_URL == tf_inception.URL_INCEPTION_V3
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    destination = tmp_path / "torch" / "hub" / "checkpoints" / F.INCEPTION_FILE
    with pytest.raises(UserError) as info:
        F.resolve_inception_weights(None, download=False)
    message = str(info.value)
    assert F.INCEPTION_FILE in message and F.INCEPTION_URL in message and str(destination) in message
    assert "eval.weights=" in message

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(UserError, match="downloading them failed") as info:
        F.resolve_inception_weights(None, download=True)
    assert str(destination) in str(info.value)
    with pytest.raises(UserError, match="names no file"):
        F.resolve_inception_weights(tmp_path / "nowhere.pth", download=True)


def test_inception_extractor_runs_on_a_local_weights_file(tmp_path, monkeypatch):
    """The real code path with stand-in (random) weights: none can be downloaded here."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

    # Build the network once without weights to write a state dict of the right shapes.
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: {})
    monkeypatch.setattr(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
    skeleton = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    monkeypatch.undo()
    weights = tmp_path / F.INCEPTION_FILE
    torch.save(skeleton.state_dict(), weights)

    extractor = F.InceptionV3(weights=weights)
    features, logits = extractor(torch.rand(2, 1, 16, 16) * 2 - 1)  # grayscale, upsampled inside
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    described = extractor.describe()
    assert described["weights_sha256"] == F.file_sha256(weights) and not described["weights_are_reference"]


# Evaluation as the training loop calls it, and gan-eval end to end.

def test_evaluator_on_digits_uses_the_offline_classifier_and_caches_real_features(tmp_path):
    cfg = compose_train(["model=gan", "data=digits", "model.latent_dim=8", "model.generator.hidden=[16]",
                         "eval.num_samples=200", f"eval.cache_dir={tmp_path}"])
    generator = instantiate(cfg.model.generator)
    evaluator = Evaluator.of_config(cfg)
    values = evaluator(generator)
    assert set(values) == {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall", "class_coverage", "class_kl"}
    assert all(isinstance(v, float) and math.isfinite(v) for v in values.values())
    protocol = evaluator.protocol
    assert protocol["feature_extractor"] == "digits-classifier" and protocol["num_real"] == 1797
    assert protocol["weights_sha256"] == F.file_sha256(F.DIGITS_WEIGHTS) and protocol["num_generated"] == 200
    assert protocol["kid"]["subset_size"] == 200
    cached = list((tmp_path / "real_features").glob("digits-digits_classifier-*.pt"))
    assert len(cached) == 1
    assert Evaluator.of_config(cfg)(generator) == values  # same seed, same samples, cached reference


def test_real_digits_score_better_than_noise(tmp_path):
    cfg = compose_train(["data=digits", "eval.num_samples=500", f"eval.cache_dir={tmp_path}"])
    evaluator = Evaluator.of_config(cfg)
    from gan_cli.data.digits import digits

    real = digits(32)[0][:500]
    good, bad = evaluator.image_metrics(real), evaluator.image_metrics(torch.rand(500, 1, 32, 32) * 2 - 1)
    assert good["fid"] < bad["fid"] and good["class_coverage"] == 1.0 and good["is"] > 5 > bad["is"]
    assert good["precision"] > 0.8 > bad["precision"]


@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    common = ["trainer.device=cpu", "trainer.steps=2", "trainer.num_fixed_samples=4"]
    run_cli("gan-train", "model=dcgan", "data.resolution=16", "data.batch_size=8", "model.latent_dim=8",
            "model.generator.base_width=8", "model.discriminator.base_width=8", *common,
            f"hydra.run.dir={root / 'digits'}", cwd=root, check=True)
    run_cli("gan-train", "model=pacgan", "data=ring", "data.batch_size=16", *common,
            f"hydra.run.dir={root / 'ring'}", cwd=root, check=True)
    return root


def test_gan_eval_writes_each_metric_with_its_protocol(tiny_checkpoints, tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_CLI_CACHE", str(tmp_path / "cache"))
    ckpt = tiny_checkpoints / "digits" / "checkpoints" / "last.pt"
    result = run_cli("gan-eval", f"ckpt={ckpt}", "metrics=[fid,kid,is,pr]", "num_samples=300", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = ckpt.with_name("last.eval.json")
    assert f"wrote {out}" in result.stdout and "digits-classifier" in result.stdout and "fid" in result.stdout
    report = json.loads(out.read_text())
    assert report["step"] == 2 and set(report["metrics"]) == {"fid", "kid", "is", "pr"}
    assert set(report["values"]) == {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall"}
    for entry in report["metrics"].values():
        protocol = entry["protocol"]
        assert protocol["weights_sha256"] == F.file_sha256(F.DIGITS_WEIGHTS)
        assert protocol["num_generated"] == 300 and protocol["num_real"] == 1797
        assert protocol["reference"] == {"dataset": "digits", "split": "all", "resolution": 16, "channels": 1}
        assert "resize" in protocol and protocol["seed"] == 0
    assert report["metrics"]["kid"]["protocol"]["kid"]["subset_size"] == 300
    assert report["metrics"]["pr"]["protocol"]["pr"]["k"] == 3
    # Beside each value, the same protocol on real digits: a near-floor FID and a near-perfect precision.
    real = report["real_data"]
    assert set(real) == set(report["values"]) and "(real data: " in result.stdout
    assert real["fid"] < report["values"]["fid"] and real["precision"] > 0.9
    assert list((tmp_path / "cache" / "real_features").glob("*.pt"))


def test_gan_eval_on_2d_data_and_its_errors(tiny_checkpoints, tmp_path, monkeypatch):
    ckpt = tiny_checkpoints / "ring" / "checkpoints" / "last.pt"
    out = tmp_path / "ring.json"
    result = run_cli("gan-eval", f"ckpt={ckpt}", f"out={out}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert set(report["values"]) == {"modes", "high_quality", "reverse_kl"}
    assert report["metrics"]["modes"]["protocol"]["num_generated"] == 2500
    assert report["real_data"]["modes"] == 8 and report["real_data"]["high_quality"] > 0.95

    # gan-sample's scatter plot draws the real modes (tab:blue) behind the samples.
    result = run_cli("gan-sample", f"ckpt={ckpt}", "n=50", f"out={tmp_path / 'scatter.png'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pixels = np.asarray(Image.open(tmp_path / "scatter.png").convert("RGB")).reshape(-1, 3).astype(int)
    blue = (np.abs(pixels - [31, 119, 180]).sum(1) < 60).sum()
    assert blue > 200, blue

    result = run_cli("gan-eval", f"ckpt={ckpt}", "metrics=[fid]", cwd=tmp_path)
    assert result.returncode == 2 and "modes" in result.stderr and "Traceback" not in result.stderr
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # an empty torch hub cache
    digits_ckpt = tiny_checkpoints / "digits" / "checkpoints" / "last.pt"
    result = run_cli("gan-eval", f"ckpt={digits_ckpt}", "feature_extractor=inception", "download=false",
                     f"out={tmp_path / 'x.json'}", cwd=tmp_path)
    assert result.returncode == 2 and F.INCEPTION_FILE in result.stderr and F.INCEPTION_URL in result.stderr
    result = run_cli("gan-eval", cwd=tmp_path)
    assert result.returncode == 2 and "ckpt= is required" in result.stderr


def test_eval_during_training_logs_keeps_the_best_checkpoint_and_survives_resume(tmp_path):
    """eval.every=N: eval/<value> in TensorBoard, metrics.json for sweeps, checkpoints/best.pt at the best
    evaluation, the objective gan-train returns, and a resumed run that keeps comparing against the best."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from gan_cli.runs.checkpoints import load_checkpoint

    run = tmp_path / "run"
    common = ["model=gan", "data=ring", "trainer.device=cpu", "data.batch_size=32", "trainer.log_every=10",
              "trainer.checkpoint_every=10", "eval.every=10", "objective=reverse_kl"]
    result = run_cli("gan-train", *common, "trainer.steps=30", f"hydra.run.dir={run}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "eval at step 20: modes" in result.stdout + result.stderr

    events = EventAccumulator(str(run)).Reload()
    for tag in ("eval/modes", "eval/high_quality", "eval/reverse_kl"):
        assert [e.step for e in events.Scalars(tag)] == [10, 20, 30]
    history = json.loads((run / "eval.json").read_text())
    assert [entry["step"] for entry in history["history"]] == [10, 20, 30]
    assert history["protocol"]["num_generated"] == 2500 and history["settings"]["best_metric"] == "reverse_kl"
    best_entry = min(history["history"], key=lambda entry: entry["reverse_kl"])
    assert history["best"] == {"step": best_entry["step"], "reverse_kl": best_entry["reverse_kl"]}
    best = load_checkpoint(run / "checkpoints" / "best.pt")
    assert best["step"] == best_entry["step"] and best["eval"]["best"] == history["best"]

    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["eval_step"] == 30 and metrics["reverse_kl"] == history["history"][-1]["reverse_kl"]
    status = json.loads((run / "status.json").read_text())
    assert status["objective"] == {"name": "reverse_kl", "value": metrics["reverse_kl"]}
    assert status["final"]["eval/modes"] == metrics["modes"]

    resumed = tmp_path / "resumed"
    result = run_cli("gan-train", f"resume={run / 'checkpoints' / 'last.pt'}", "trainer.steps=40",
                     f"hydra.run.dir={resumed}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    history2 = json.loads((resumed / "eval.json").read_text())
    assert [entry["step"] for entry in history2["history"]] == [10, 20, 30, 40]
    best2 = min(history2["history"], key=lambda entry: entry["reverse_kl"])
    assert history2["best"]["step"] == best2["step"]
    assert (resumed / "checkpoints" / "best.pt").is_file() == (best2["step"] == 40)
