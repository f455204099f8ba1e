"""What the objectives share: D's reported statistics, and the loss config's adversarial part."""

from __future__ import annotations

import torch

from gan_cli.registry import build


def report_discriminator(stats, loss, d_loss, real_logits, fake_logits) -> None:
    """D's loss, and D(x) / D(G(x)) as probabilities when the loss reads logits as such."""
    stats.add("loss/d", d_loss)
    if loss.outputs_are_logits_of_probabilities:
        stats.add("D/real", torch.sigmoid(real_logits))
        stats.add("D/fake", torch.sigmoid(fake_logits))


def adversarial_loss(loss_cfg):
    """The GANLoss that `loss` configures, leaving out what belongs to other terms."""
    return build(loss_cfg, "loss")  # the registry knows that loss.perceptual is the content loss's
