"""Feature extractors for the metrics: Inception-v3 (the literature's) and the offline CNNs gan-cli ships
(handwritten digits, captioned digits, spoken digits).

An extractor maps images in [-1, 1] (N, C, H, W) to (features (N, D), logits (N, classes)) and
describes itself for the protocol: name, weights file, weights sha256, input resize.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from urllib.error import URLError

import torch
import torch.nn.functional as F

from gan_cli.errors import UserError

EXTRACTORS = ("inception", "digits_classifier", "captioned_digits_classifier", "spoken_digits_classifier")

# torch-fidelity's Inception-v3: the TensorFlow FID network (2015-12-05 graph) converted to PyTorch;
# the 8 hex digits in the name are the start of the file's sha256 (torch.hub's convention).
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_URL = f"https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/{INCEPTION_FILE}"
INCEPTION_SHA256_PREFIX = "6726825d"

DIGITS_WEIGHTS = Path(__file__).resolve().parent / "weights" / "digits_classifier.pt"
CAPTIONED_DIGITS_WEIGHTS = Path(__file__).resolve().parent / "weights" / "captioned_digits_classifier.pt"
SPOKEN_DIGITS_WEIGHTS = Path(__file__).resolve().parent / "weights" / "spoken_digits_classifier.pt"


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    stat = Path(path).stat()
    return _sha256(str(path), stat.st_size, stat.st_mtime_ns)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] floats -> uint8 RGB, the input of the TensorFlow-compatible Inception."""
    images = ((images.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def inception_cache_path() -> Path:
    """Where torch.hub (and so torch-fidelity and torchmetrics) keeps the downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def missing_inception_message(looked_at: Path, reason: str) -> str:
    cache = inception_cache_path()
    return (
        f"The Inception-v3 weights for FID/KID/IS/precision-recall are missing: {reason} {looked_at}. "
        f"Fetch the file {INCEPTION_FILE} from {INCEPTION_URL} on a machine with internet and put it at "
        f"{cache} (torch hub's cache; TORCH_HOME moves it), or anywhere and pass eval.weights=/path/to/{INCEPTION_FILE} "
        f"(gan-eval: weights=...). Offline, data=digits and data=captioned_digits need no download: their metrics "
        f"use the shipped classifiers (eval.feature_extractor=digits_classifier, captioned_digits_classifier)."
    )


def resolve_inception_weights(weights: str | os.PathLike | None, download: bool) -> Path:
    """The Inception weights file: eval.weights, or torch hub's cache (downloaded there when allowed)."""
    if weights:
        path = Path(weights).expanduser()
        if path.is_dir():
            path = path / INCEPTION_FILE
        if not path.is_file():
            raise UserError(missing_inception_message(path, "eval.weights names no file at"))
        return path
    path = inception_cache_path()
    if path.is_file():
        return path
    if not download:
        raise UserError(missing_inception_message(path, "eval.download=false and there is no file at"))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(INCEPTION_URL, str(path), hash_prefix=INCEPTION_SHA256_PREFIX, progress=False)
    except (URLError, OSError, RuntimeError) as error:
        raise UserError(missing_inception_message(path, f"downloading them failed ({type(error).__name__}: "
                                                        f"{error}), and there is no file at")) from None
    return path


def describe_extractor(extractor, **facts) -> dict:
    """What a feature extractor's protocol records of it: its name, features, weights file and their
    sha256, any further facts, and how the images are resized for it."""
    return {"feature_extractor": extractor.name, "features": extractor.feature_name,
            "weights": str(extractor.weights_path), "weights_sha256": extractor.weights_sha256, **facts,
            "resize": extractor.resize}


class InceptionV3:
    """torch-fidelity's TensorFlow-compatible Inception-v3: 2048-d pool3 features, 1008 logits."""

    name = "inception-v3-compat"
    feature_name = "pool3, 2048-d"
    kid_feature_scale = 1.0  # KID's kernel was made for these features
    resize = "bilinear to 299x299, TensorFlow 1.x compatible (torch-fidelity), after quantising to uint8 RGB"

    def __init__(self, weights=None, download: bool = True, device="cpu"):
        from torch_fidelity.feature_extractor_inceptionv3 import (
            FeatureExtractorInceptionV3,
        )

        self.weights_path = resolve_inception_weights(weights, download)
        try:
            # A weights file is data: check that it loads as tensors only before torch-fidelity reads it.
            torch.load(self.weights_path, map_location="cpu", weights_only=True)
        except Exception as error:  # noqa: BLE001 - any failure means the file is not usable weights
            raise UserError(f"{self.weights_path} is not a loadable Inception weights file ({type(error).__name__}); "
                            + missing_inception_message(self.weights_path, "replace the file at")) from None
        self.weights_sha256 = file_sha256(self.weights_path)
        self.device = torch.device(device)
        self.network = FeatureExtractorInceptionV3(
            self.name, ["2048", "logits_unbiased"], feature_extractor_weights_path=str(self.weights_path)
        ).to(self.device).eval()

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, logits = self.network(to_uint8(images).to(self.device))
        return features.float().cpu(), logits.float().cpu()

    def describe(self) -> dict:
        return describe_extractor(self, weights_are_reference=self.weights_sha256.startswith(INCEPTION_SHA256_PREFIX))


class ShippedClassifier:
    """A classifier that ships with gan-cli as a feature extractor: its weights file (a plain state dict,
    checked to be tensors only), their sha256, the network on the device, and how it describes itself."""

    name = feature_name = resize = ""
    label = ""    # "digits classifier": for messages
    script = ""   # the script that recreates its weights
    kid_feature_scale = 1.0  # what KID divides the features by (gan_cli.eval.metrics.kernel_distance)
    kid_feature_scale_reason = ""

    def __init__(self, network: torch.nn.Module, weights, default: Path, device="cpu"):
        self.weights_path = Path(weights).expanduser() if weights else default
        if not self.weights_path.is_file():
            raise UserError(f"The {self.label} weights are missing at {self.weights_path}: reinstall gan-cli, or "
                            f"recreate them with `python {self.script}`.")
        self.weights_sha256 = file_sha256(self.weights_path)
        self.device = torch.device(device)
        self.network = network.to(self.device).eval().requires_grad_(False)
        try:
            self.network.load_state_dict(torch.load(self.weights_path, map_location=self.device, weights_only=True))
        except Exception as error:  # noqa: BLE001 - any failure means the file is not these weights
            raise UserError(f"{self.weights_path} is not the {self.label}'s weights ({type(error).__name__}); "
                            f"recreate them with `python {self.script}`.") from None

    def describe(self) -> dict:
        return describe_extractor(self)


class ShippedImageClassifier(ShippedClassifier):
    """A shipped digit CNN on images: resized (antialiased bilinear) to its resolution, `channels` checked."""

    channels = 1
    wrong_channels = ""  # what to use instead, said when a batch has other channels

    def __init__(self, network: torch.nn.Module, resolution: int, weights, default: Path, device="cpu"):
        super().__init__(network, weights, default, device)
        self.resolution = resolution
        self.resize = f"bilinear (antialiased) to {resolution}x{resolution} when the images are another size"

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if images.dim() != 4 or images.shape[1] != self.channels:
            raise UserError(f"The {self.label} reads {self.channels}-channel images (N, {self.channels}, H, W), but got "
                            f"a batch of shape {tuple(images.shape)}: {self.wrong_channels}.")
        images = images.float().to(self.device)
        if images.shape[-2:] != (self.resolution, self.resolution):
            images = F.interpolate(images, size=(self.resolution, self.resolution), mode="bilinear",
                                   align_corners=False, antialias=True)
        features, logits = self.network(images.clamp(-1, 1))
        return features.cpu(), logits.cpu()


class DigitsFeatures(ShippedImageClassifier):
    """The shipped digits CNN (gan_cli.eval.digits_classifier): 64-d features, 10 logits."""

    name = "digits-classifier"
    feature_name = "penultimate layer, 64-d"
    label = "digits classifier"
    script = "scripts/train_digits_classifier.py"
    wrong_channels = ("use eval.feature_extractor=inception for this dataset (captioned_digits_classifier on "
                      "data=captioned_digits)")
    # The RMS of its (ReLU) features on the 1,797 digits. Unscaled, x.y / d is about 74 where Inception's
    # features give about 1, and the cubic kernel blows KID up about 10^5 times (one half of the digits
    # against the other read 7,393; divided by 11.16, 0.013).
    kid_feature_scale = 11.16
    kid_feature_scale_reason = "their RMS on the digits, so that x.y / d is of order 1 as on Inception's features"

    def __init__(self, weights=None, device="cpu"):
        from gan_cli.eval.digits_classifier import RESOLUTION, DigitsClassifier

        super().__init__(DigitsClassifier(), RESOLUTION, weights, DIGITS_WEIGHTS, device)


class CaptionedDigitsFeatures(ShippedImageClassifier):
    """The shipped captioned-digits CNN (gan_cli.eval.captioned_digits_classifier) on RGB renders: 64-d
    features, 10 logits (the digit drawn)."""

    name = "captioned-digits-classifier"
    feature_name = "penultimate layer, 64-d"
    label = "captioned-digits classifier"
    script = "scripts/train_captioned_digits_classifier.py"
    channels = 3
    wrong_channels = ("use it on data=captioned_digits (digits_classifier reads 1-channel digits, inception "
                      "other images)")
    # The RMS of its (ReLU) features on the 500 held-out captioned digits: x.y / d is already of order 1
    # here (unlike the handwritten-digits CNN's 74), and dividing by it keeps KID on the same footing.
    kid_feature_scale = 0.914
    kid_feature_scale_reason = ("their RMS on the held-out captioned digits, so that x.y / d is of order 1 as on "
                                "Inception's features")

    def __init__(self, weights=None, device="cpu"):
        from gan_cli.eval.captioned_digits_classifier import RESOLUTION, CaptionedDigitsClassifier

        super().__init__(CaptionedDigitsClassifier(), RESOLUTION, weights, CAPTIONED_DIGITS_WEIGHTS, device)


class SpokenDigitsFeatures(ShippedClassifier):
    """The shipped spoken-digits CNN (gan_cli.eval.spoken_digits_classifier) on 16 kHz clips: 128-d
    features of their log-mel spectrograms, 10 logits (the words zero ... nine)."""

    name = "spoken-digits-classifier"
    feature_name = "penultimate layer, 128-d, of a log-mel CNN"
    label = "spoken-digits classifier"
    script = "scripts/train_spoken_digits_classifier.py"

    def __init__(self, weights=None, device="cpu", sample_rate: int | None = None):
        from gan_cli.eval.spoken_digits_classifier import LENGTH, SAMPLE_RATE, SpokenDigitsClassifier

        if sample_rate is not None and int(sample_rate) != SAMPLE_RATE:
            raise UserError(f"The spoken-digits classifier hears {SAMPLE_RATE} Hz clips, but the data is at "
                            f"data.sample_rate={sample_rate}: evaluate audio at {SAMPLE_RATE} Hz (data.sample_rate="
                            f"{SAMPLE_RATE}), or set eval.every=0.")
        super().__init__(SpokenDigitsClassifier(), weights, SPOKEN_DIGITS_WEIGHTS, device)
        self.length = LENGTH
        self.resize = (f"16 kHz mono, cut or padded with silence to {LENGTH} samples; log-mel 64 bands, "
                       f"STFT 512 / hop 128")

    @torch.no_grad()
    def __call__(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if audio.dim() != 3 or audio.shape[1] != 1:
            raise UserError(f"The spoken-digits classifier hears mono clips (N, 1, samples); got a batch of shape "
                            f"{tuple(audio.shape)}: use it on audio data (data=spoken_digits).")
        features, logits = self.network(audio.float().to(self.device))
        return features.cpu(), logits.cpu()


def build_extractor(name: str, weights=None, download: bool = True, device="cpu", sample_rate: int | None = None):
    if name == "inception":
        return InceptionV3(weights, download, device)
    if name == "digits_classifier":
        return DigitsFeatures(weights, device)
    if name == "captioned_digits_classifier":
        return CaptionedDigitsFeatures(weights, device)
    if name == "spoken_digits_classifier":
        return SpokenDigitsFeatures(weights, device, sample_rate)
    raise UserError(f"eval.feature_extractor={name!r} is not one gan-cli knows; use auto, "
                    f"{', '.join(EXTRACTORS)}.")


def extract(extractor, images: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, logits) of images (N, C, H, W) (or clips (N, 1, T)) in [-1, 1], in batches, on the CPU."""
    features, logits = [], []
    for batch in images.split(batch_size):
        f, l = extractor(batch)
        features.append(f)
        logits.append(l)
    return torch.cat(features), torch.cat(logits)
