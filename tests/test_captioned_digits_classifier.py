"""The shipped captioned-digits classifier: it reads held-out renders at 32x32 and 64x64, eval's auto picks it
on data=captioned_digits, real renders score a low FID-captioned, and it refuses what it cannot read."""

from __future__ import annotations

import pytest
import torch
from conftest import compose_train
from omegaconf import OmegaConf

from gan_cli.data import DataSource
from gan_cli.data.captioned_digits import captioned_digits
from gan_cli.errors import UserError
from gan_cli.eval import features as F
from gan_cli.eval.evaluator import Evaluator, eval_request, resolve_settings
from gan_cli.latent_layout import LatentLayout

# Measured when the weights were trained: 500/500 held-out images at 32x32 and at 64x64 (and 5,000/5,000
# further test-seed renders); the bar leaves a margin of a few images.
ACCURACY = 0.99


def _captioned_data(resolution: int = 32):
    """conf/data/captioned_digits.yaml, written out."""
    return OmegaConf.create({
        "name": "captioned_digits", "channels": 3, "resolution": resolution, "shape": [3, resolution, resolution],
        "num_classes": 10, "batch_size": 64, "in_memory": True, "num_workers": 0, "split": "train",
        "eval_split": "test", "count": None,
        "dataset": {"_target_": "gan_cli.data.captioned_digits.captioned_digits", "split": "train",
                    "resolution": resolution, "count": None}})


@pytest.mark.parametrize("resolution", [32, 64])
def test_the_shipped_classifier_reads_held_out_captioned_digits(resolution):
    images, labels = captioned_digits("test", resolution)
    extractor = F.CaptionedDigitsFeatures()
    features, logits = extractor(images)
    assert features.shape == (500, 64) and logits.shape == (500, 10)
    assert float((logits.argmax(dim=1) == labels).float().mean()) >= ACCURACY
    assert extractor.describe()["feature_extractor"] == "captioned-digits-classifier"
    assert extractor.describe()["weights_sha256"] == F.file_sha256(F.CAPTIONED_DIGITS_WEIGHTS)
    if resolution == 32:  # the KID scale is the features' RMS on these images
        assert features.pow(2).mean().sqrt().item() == pytest.approx(extractor.kid_feature_scale, rel=0.01)


def test_auto_picks_it_on_captioned_digits_and_audio_and_images_stay_apart():
    data = _captioned_data()
    settings = resolve_settings(data, {})
    assert settings.feature_extractor == "captioned_digits_classifier"
    assert settings.metrics == ("fid", "kid", "is", "pr", "classes") and settings.num_samples == 2000
    assert "label_accuracy" in resolve_settings(data, {}, conditional=True).metrics
    assert F.build_extractor(settings.feature_extractor).name == "captioned-digits-classifier"
    with pytest.raises(UserError, match="spoken_digits_classifier does not fit data=captioned_digits"):
        resolve_settings(data, {"feature_extractor": "spoken_digits_classifier"})
    audio = OmegaConf.create({"name": "spoken_digits", "shape": [1, 16384]})
    with pytest.raises(UserError, match="captioned_digits_classifier does not fit data=spoken_digits"):
        resolve_settings(audio, {"feature_extractor": "captioned_digits_classifier"})


def test_held_out_renders_score_a_low_fid_against_the_training_reference(tmp_path):
    request = eval_request(compose_train(["eval.num_samples=500", "eval.num_real=500", f"eval.cache_dir={tmp_path}",
                                          "eval.kid_subset_size=250", "eval.kid_subsets=20",
                                          "eval.is_splits=2"]))
    evaluator = Evaluator(DataSource(_captioned_data()), LatentLayout(latent_dim=8), request)
    assert evaluator.protocol["feature_extractor"] == "captioned-digits-classifier"
    assert evaluator.protocol["reference"]["split"] == "train" and evaluator.protocol["num_real"] == 500
    held_out, _ = captioned_digits("test", 32)
    real = evaluator.image_metrics(held_out)
    # The same renders with the digit's ink wiped out: the backgrounds alone.
    backgrounds = held_out[:, :, :1, :1].expand_as(held_out)
    blank = evaluator.image_metrics(backgrounds)
    mirrored = evaluator.image_metrics(held_out.flip(-1))  # no digit reads the same mirrored
    assert real["fid"] < 1 and blank["fid"] > 50 * real["fid"] and mirrored["fid"] > 20 * real["fid"]
    assert real["class_coverage"] == 1.0 and real["is"] > 6 > 2 > blank["is"] and real["precision"] > 0.8
    assert real["kid"] < 0.1 < blank["kid"]


def test_it_refuses_one_channel_images_and_damaged_or_missing_weights(tmp_path):
    extractor = F.CaptionedDigitsFeatures()
    with pytest.raises(UserError, match="captioned-digits classifier reads 3-channel images .*digits_classifier reads "
                                        "1-channel digits"):
        extractor(torch.zeros(2, 1, 32, 32))
    damaged = tmp_path / "captioned_digits_classifier.pt"
    damaged.write_bytes(F.CAPTIONED_DIGITS_WEIGHTS.read_bytes()[:5000])
    with pytest.raises(UserError, match="is not the captioned-digits classifier's weights .*recreate them with "
                                        "`python scripts/train_captioned_digits_classifier.py`"):
        F.CaptionedDigitsFeatures(damaged)
    with pytest.raises(UserError, match="is not the captioned-digits classifier's weights"):
        F.CaptionedDigitsFeatures(F.DIGITS_WEIGHTS)  # another network's tensors
    with pytest.raises(UserError, match="captioned-digits classifier weights are missing"):
        F.CaptionedDigitsFeatures(tmp_path / "absent.pt")
