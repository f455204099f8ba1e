"""Auxiliary objectives on D's extra heads: ACGAN's class loss and InfoGAN's mutual information.

A discriminator with extra heads returns (logits, extras). Each objective here reads its extras
and adds a term to D's loss (on real and/or fake samples) and to G's loss (on fake samples).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_cli.errors import UserError


def split_output(output) -> tuple[torch.Tensor, dict]:
    """(logits, extras) from a discriminator's output, which may be logits alone."""
    if isinstance(output, tuple):
        logits, extras = output
        return logits, extras
    return output, {}


def _require(extras: dict, key: str, objective: str) -> torch.Tensor:
    if key not in extras:
        raise UserError(f"{objective} needs a discriminator with a '{key}' head, but model.discriminator has none; "
                        f"use the model that defines it (model=acgan for the class head, model=infogan for the Q head).")
    return extras[key]


class ClassifierLoss:
    """ACGAN (Odena 2017): D classifies real and fake images; G makes fakes of the asked class."""

    name = "class"
    code_dim = 0
    needs_labels = True

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def d_term(self, real_extras, fake_extras, real_labels, fake_labels, z) -> dict[str, torch.Tensor]:
        real_logits = _require(real_extras, "class_logits", "model.auxiliary=ClassifierLoss")
        fake_logits = _require(fake_extras, "class_logits", "model.auxiliary=ClassifierLoss")
        loss = F.cross_entropy(real_logits.float(), real_labels) + F.cross_entropy(fake_logits.float(), fake_labels)
        accuracy = (real_logits.argmax(1) == real_labels).float().mean()
        return {"loss/d_class": self.weight * loss, "D/class_accuracy_real": accuracy.detach()}

    def g_term(self, fake_extras, fake_labels, z) -> dict[str, torch.Tensor]:
        fake_logits = _require(fake_extras, "class_logits", "model.auxiliary=ClassifierLoss")
        return {"loss/g_class": self.weight * F.cross_entropy(fake_logits.float(), fake_labels)}


class InformationLoss:
    """InfoGAN (Chen 2016): a lower bound on I(c; G(z, c)) through the Q head on D's body.

    The codes sit at the tail of z (gan_cli/latent_layout.py draws them): one one-hot block per
    categorical code, then `continuous` values uniform in [-1, 1]. The categorical part is a cross-entropy; the continuous part the
    negative log-likelihood of a factored Gaussian with unit variance (a squared error).
    """

    name = "info"
    needs_labels = False

    def __init__(self, categorical=(10,), continuous: int = 2, weight_categorical: float = 1.0,
                 weight_continuous: float = 0.1):
        self.categorical = [int(c) for c in (categorical or [])]
        self.continuous = int(continuous or 0)
        if any(c < 2 for c in self.categorical) or self.continuous < 0 or not (self.categorical or self.continuous):
            raise UserError(f"model.auxiliary: categorical={list(self.categorical)} and continuous={self.continuous} "
                            f"must describe at least one code: categorical sizes of 2 or more, continuous >= 0.")
        self.weight_categorical, self.weight_continuous = weight_categorical, weight_continuous
        self.code_dim = sum(self.categorical) + self.continuous

    def _mutual_information(self, extras: dict, z: torch.Tensor) -> dict[str, torch.Tensor]:
        codes = z[:, z.shape[1] - self.code_dim:]
        terms, offset = {}, 0
        if self.categorical:
            logits = _require(extras, "code_logits", "model.auxiliary=InformationLoss").float()
            categorical_loss = 0.0
            for size in self.categorical:
                target = codes[:, offset:offset + size].argmax(1)
                categorical_loss = categorical_loss + F.cross_entropy(logits[:, offset:offset + size], target)
                offset += size
            terms["info/categorical"] = categorical_loss
        if self.continuous:
            mean = _require(extras, "code_mean", "model.auxiliary=InformationLoss").float()
            terms["info/continuous"] = 0.5 * (codes[:, offset:] - mean).square().sum(1).mean()
        total = self.weight_categorical * terms.get("info/categorical", 0.0) + \
            self.weight_continuous * terms.get("info/continuous", 0.0)
        return {"loss/info": total, **{k: v.detach() for k, v in terms.items()}}

    def d_term(self, real_extras, fake_extras, real_labels, fake_labels, z):
        return self._mutual_information(fake_extras, z)

    def g_term(self, fake_extras, fake_labels, z):
        return self._mutual_information(fake_extras, z)


def objective_terms(terms: dict[str, torch.Tensor]) -> torch.Tensor:
    """The sum of an objective's loss terms (keys loss/*); the other keys are statistics."""
    return sum(value for key, value in terms.items() if key.startswith("loss/"))
