"""SRGAN's content loss: the distance between VGG19 feature maps of the output and of the target
(Ledig et al. 2017; VGG54 = the feature map of conv5_4, VGG22 = conv2_2), rescaled by 1/12.75.

The weights are never fetched during a run unless the user asked (`loss.perceptual.download=true`):
they come from `loss.perceptual.weights=<file>` or torchvision's file in the torch hub cache. Without
them the content loss falls back to the pixel MSE, and the run says so at its start. A weights file
may hold only the `features.*` entries up to the chosen layer.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from gan_cli.errors import UserError

log = logging.getLogger("gan_cli")

VGG19_FILE = "vgg19-dcbb9e9d.pth"   # torchvision's ImageNet weights (IMAGENET1K_V1)
VGG19_URL = f"https://download.pytorch.org/models/{VGG19_FILE}"
# Index, in torchvision's vgg19().features, of each conv layer (the map before its ReLU).
CONV_LAYERS = {"conv1_2": 2, "conv2_2": 7, "conv3_4": 16, "conv4_4": 25, "conv5_4": 34}
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def hub_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG19_FILE


def how_to_get_weights() -> str:
    return (f"On a machine with internet, run `python -c \"import torchvision; torchvision.models.vgg19("
            f"weights='IMAGENET1K_V1')\"` (it saves {VGG19_FILE} in the torch hub cache, {hub_weights_path().parent}), "
            f"or download {VGG19_URL} and pass loss.perceptual.weights=<file>.")


class PixelContent(nn.Module):
    """The MSE between images: the SRResNet loss, and the content loss when VGG19 is unavailable."""

    name = "pixel MSE"

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(output.float(), target.float())


class VGGContent(nn.Module):
    """MSE between VGG19 feature maps of output and target (images in [-1, 1], RGB or grayscale)."""

    def __init__(self, layer: str, state: dict, feature_scale: float):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        self.name = f"VGG19 {layer} features x {feature_scale:g}"
        # torchvision's VGG19 feature layers (config "E"), without the 120M-parameter classifier.
        features = make_layers(cfgs["E"])[: CONV_LAYERS[layer] + 1]
        own = {key.removeprefix("features."): value for key, value in state.items() if key.startswith("features.")}
        missing = [key for key in features.state_dict() if key not in own]
        if missing:
            raise UserError(f"loss.perceptual.weights: the file lacks VGG19 features up to {layer} (missing "
                            f"{', '.join(missing[:3])}); use torchvision's {VGG19_FILE}. {how_to_get_weights()}")
        features.load_state_dict({key: own[key] for key in features.state_dict()})
        self.features = features.eval().requires_grad_(False)
        self.feature_scale = feature_scale
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True):
        return super().train(False)  # the feature extractor never leaves eval mode

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        images = (images.float() + 1) / 2
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        return self.features((images - self.mean) / self.std) * self.feature_scale

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target_features = self.embed(target)
        return F.mse_loss(self.embed(output), target_features)


def build_content_loss(perceptual_cfg, device) -> nn.Module:
    """VGG19 content when its weights are at hand (or a download was asked for); else the pixel MSE."""
    layer = str(perceptual_cfg.get("layer") or "pixel")
    if layer == "pixel":
        return PixelContent().to(device)
    if layer not in CONV_LAYERS:
        raise UserError(f"loss.perceptual.layer={layer!r} is not a VGG19 layer gan-cli uses; choose from "
                        f"{', '.join(CONV_LAYERS)} (conv5_4 is the paper's VGG54, conv2_2 its VGG22) or pixel.")
    path = _weights_file(perceptual_cfg)
    if path is None:
        log.warning(f"loss.perceptual: no VGG19 weights on this machine (looked at {hub_weights_path()}), so the "
                    f"content loss is the pixel MSE instead of VGG19 {layer} features. {how_to_get_weights()}")
        return PixelContent().to(device)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the same user error
        raise UserError(f"loss.perceptual.weights={path} cannot be read as a VGG19 state_dict "
                        f"({type(error).__name__}: {error}). {how_to_get_weights()}") from None
    if not isinstance(state, dict):
        raise UserError(f"loss.perceptual.weights={path} holds a {type(state).__name__}, not a VGG19 state_dict. "
                        f"{how_to_get_weights()}")
    return VGGContent(layer, state, float(perceptual_cfg.get("feature_scale", 1.0))).to(device)


def _weights_file(perceptual_cfg) -> Path | None:
    weights = perceptual_cfg.get("weights")
    if weights:
        path = Path(os.path.expanduser(str(weights)))
        if not path.is_file():
            raise UserError(f"loss.perceptual.weights={weights} is not a file. {how_to_get_weights()}")
        return path
    cached = hub_weights_path()
    if cached.is_file():
        return cached
    if perceptual_cfg.get("download"):
        cached.parent.mkdir(parents=True, exist_ok=True)
        log.info(f"loss.perceptual.download=true: fetching {VGG19_URL} into {cached}")
        try:
            torch.hub.download_url_to_file(VGG19_URL, str(cached))
        except Exception as error:  # noqa: BLE001 - no network, a proxy, a partial file: all the same advice
            raise UserError(f"loss.perceptual.download=true could not fetch {VGG19_URL} ({type(error).__name__}: "
                            f"{error}). {how_to_get_weights()}") from None
        return cached
    return None
