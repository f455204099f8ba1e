"""Adversarial objectives on the discriminator's logits (no sigmoid in any network).

Each loss gives D's loss on (real, fake) logits and G's loss on fake logits. What keeps a critic
Lipschitz (WGAN's clipping, WGAN-GP's gradient penalty) lives in regularizers.py, configured under
`regularizers`, so it combines with any loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan_cli.errors import UserError


class GANLoss:
    name = "gan"
    # An unbounded critic score (Wasserstein) needs the critic kept Lipschitz to be meaningful.
    needs_lipschitz_critic = False
    # Whether D's outputs are probabilities after a sigmoid (for logging D(x), D(G(z))).
    outputs_are_logits_of_probabilities = False

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return self.real_term(real_logits) + self.fake_term(fake_logits)

    # D's loss is the sum of a term on the real logits and one on the fake ones; StackGAN's matching-aware
    # loss weighs them apart (its mismatched real pairs are scored as fakes).
    def real_term(self, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def fake_term(self, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class BCELoss(GANLoss):
    """Goodfellow et al. 2014: D maximizes log D(x) + log(1 - D(G(z))).

    `real_label` below 1 is one-sided label smoothing (Salimans et al. 2016, "Improved techniques"):
    D's target for real images is that probability instead of 1, while fakes keep target 0, so D is
    never rewarded for pushing real scores to certainty; G's loss is unchanged.
    """

    name = "bce"
    outputs_are_logits_of_probabilities = True
    GENERATOR_LOSSES = ("non_saturating", "minimax")

    def __init__(self, generator_loss: str = "non_saturating", real_label: float = 1.0):
        if isinstance(real_label, bool) or not isinstance(real_label, (int, float)) or not 0.5 < real_label <= 1.0:
            raise UserError(
                f"loss.real_label={real_label!r} is not a target probability for real images: use a number above "
                f"0.5 and at most 1 (1 = the plain loss; 0.9 = the one-sided label smoothing of Salimans et al. 2016)."
            )
        self.real_label = float(real_label)
        if generator_loss not in self.GENERATOR_LOSSES:
            raise UserError(
                f"loss.generator_loss={generator_loss!r} is not a BCE generator loss; use non_saturating "
                f"(G maximizes log D(G(z)), the paper's practical choice) or minimax (G minimizes "
                f"log(1 - D(G(z))), the game as written)."
            )
        self.generator_loss = generator_loss

    def real_term(self, logits):
        # -log sigmoid(r) - log(1 - sigmoid(f)), in the numerically stable softplus form; with a smoothed
        # real target t the real term is the cross-entropy -t log sigmoid(r) - (1 - t) log(1 - sigmoid(r)).
        real = F.softplus(-logits)
        if self.real_label < 1.0:
            real = self.real_label * real + (1.0 - self.real_label) * F.softplus(logits)
        return real.mean()

    def fake_term(self, logits):
        return F.softplus(logits).mean()

    def g_loss(self, fake_logits):
        if self.generator_loss == "non_saturating":
            return F.softplus(-fake_logits).mean()
        return -F.softplus(fake_logits).mean()


class LeastSquaresLoss(GANLoss):
    """Mao et al. 2017 with the a-b-c coding (a=0, b=1, c=1 by default).

    `scale` multiplies both losses: Mao et al. write them with 1/2 (the default); CycleGAN (Zhu et al.
    2017) uses the plain mean squared error, scale 1, which matters there because G's adversarial term
    is weighed against its cycle and identity terms (under Adam a lone loss's scale cancels).
    """

    name = "lsgan"

    def __init__(self, fake_target: float = 0.0, real_target: float = 1.0, generator_target: float = 1.0,
                 scale: float = 0.5):
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise UserError(f"loss.scale={scale!r} is not a positive number: use 0.5 (Mao et al.'s 1/2) or 1 "
                            f"(the plain mean squared error of CycleGAN).")
        self.fake_target, self.real_target, self.generator_target = fake_target, real_target, generator_target
        self.scale = float(scale)

    def real_term(self, logits):
        return self.scale * (logits - self.real_target).square().mean()

    def fake_term(self, logits):
        return self.scale * (logits - self.fake_target).square().mean()

    def g_loss(self, fake_logits):
        return self.scale * (fake_logits - self.generator_target).square().mean()


class WassersteinLoss(GANLoss):
    """Arjovsky et al. 2017; the critic estimates E[D(x)] - E[D(G(z))]."""

    name = "wasserstein"
    needs_lipschitz_critic = True

    def real_term(self, logits):
        return -logits.mean()

    def fake_term(self, logits):
        return logits.mean()

    def g_loss(self, fake_logits):
        return -fake_logits.mean()


class HingeLoss(GANLoss):
    """Lim & Ye 2017, as used by SNGAN and SAGAN."""

    name = "hinge"

    def real_term(self, logits):
        return F.relu(1.0 - logits).mean()

    def fake_term(self, logits):
        return F.relu(1.0 + logits).mean()

    def g_loss(self, fake_logits):
        return -fake_logits.mean()
