"""Vocoders (HiFi-GAN, MelGAN): G turns the mel spectrogram of real speech back into its waveform; every
D of the model (HiFi-GAN: multi-period and multi-scale; MelGAN: multi-scale) judges real against
vocoded audio with each of its sub-discriminators, and G also matches D's feature maps of the real audio.

    D: sum over every D and sub-D of loss(D(x), D(G(mel(x))))                       (loss=lsgan | hinge)
    G: adversarial_weight * sum loss_G(D(G(mel(x))))
       + feature_weight * sum |D_features(x) - D_features(G(mel(x)))|_1  (each D weights its own maps)
       + mel_weight * |logmel(x) - logmel(G(mel(x)))|_1                  (the loss's mel: up to Nyquist)

HiFi-GAN: least squares (loss=lsgan halves it: adversarial_weight 2 restores the paper's balance),
feature matching x 2, mel L1 x 45. MelGAN: hinge, feature matching x 10, no mel term (mel_weight 0:
its mel L1 is still logged). One step is D's update, then G's, on the same batch of segments: the loss
only computes; the loop (gan_cli/training/loop.py) owns the updates.
"""

from __future__ import annotations

import torch

from gan_cli.mel import MelFeatures
from gan_cli.training.execution import Execution
from gan_cli.training.objectives import DISCRIMINATOR, GENERATOR, Loss, Phase
from gan_cli.training.objectives.updates import adversarial_loss
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import check_weight


class VocoderObjective:
    def __init__(self, state: TrainingState, execution: Execution, loss, stats: RunningStats, mel: MelFeatures,
                 adversarial_weight: float = 1.0, feature_weight: float = 2.0, mel_weight: float = 45.0):
        self.state, self.execution, self.loss, self.stats, self.mel = state, execution, loss, stats, mel
        self.adversarial_weight, self.feature_weight, self.mel_weight = adversarial_weight, feature_weight, mel_weight
        self.g_train = execution.for_training(state.generator)
        # Every D of the model (its networks whose key starts with "discriminator"): (the module, as trained).
        self.discriminators = [(net, execution.for_training(net)) for key, net in state.networks.items()
                               if key.startswith(DISCRIMINATOR)]
        self.images_per_step = state.batches.batch_size
        self.batches = {}  # this step's (audio, its input mel) by accumulated batch: D's update draws, G's reuses
        names = " + ".join(getattr(net, "short_name", "D") for net, _ in self.discriminators)
        self.description = (f"loss={loss.name} on {names} x {adversarial_weight:g}, feature matching x "
                            f"{feature_weight:g}, mel L1 x {mel_weight:g}")

    def phases(self) -> list[Phase]:
        return [Phase("D", 1, self.d_loss, DISCRIMINATOR, tuple(wrapped for _, wrapped in self.discriminators)),
                Phase("G", 1, self.g_loss, GENERATOR, (self.g_train,))]

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        audio, _ = self.state.batches.next()
        with torch.no_grad():
            return audio, self.mel.input(audio)

    def d_loss(self, index: int, batch: int) -> Loss:
        audio, mel = self.batches[batch] = self.draw()
        with torch.no_grad(), self.execution.autocast():
            fake = self.state.generator(mel)
        total = None
        with self.execution.autocast():
            for net, wrapped in self.discriminators:
                # Real and vocoded audio in one pass (no batch statistics in these Ds: the same as two).
                outputs = wrapped(torch.cat([audio, fake.to(audio.dtype)]))
                d_loss = sum(self.loss.d_loss(*logits.float().chunk(2)) for logits, _ in outputs)
                self.stats.add(f"loss/{getattr(net, 'short_name', 'd')}", d_loss)
                total = d_loss if total is None else total + d_loss
        self.stats.add("loss/d", total)
        return Loss(total)

    def g_loss(self, index: int, batch: int) -> Loss:
        audio, mel = self.batches.pop(batch, None) or self.draw()
        adversarial = features = 0.0
        with self.execution.autocast():
            fake = self.g_train(mel)
            assert fake.shape == audio.shape, (fake.shape, audio.shape)
            for net, _ in self.discriminators:  # frozen by the loop while G learns through them
                for logits, maps in net(torch.cat([audio, fake.to(audio.dtype)])):
                    adversarial = adversarial + self.loss.g_loss(logits.float().chunk(2)[1])
                    matched = sum((real.detach().float() - vocoded.float()).abs().mean()
                                  for real, vocoded in (m.chunk(2) for m in maps))
                    features = features + getattr(net, "feature_weight", 1.0) * matched
        with torch.no_grad():
            real_mel = self.mel.loss(audio)
        mel_l1 = (self.mel.loss(fake.float()) - real_mel).abs().mean()
        total = self.adversarial_weight * adversarial + self.feature_weight * features
        if self.mel_weight:
            total = total + self.mel_weight * mel_l1
        for key, value in (("loss/g_adversarial", adversarial), ("loss/feature_matching", features),
                           ("loss/mel", mel_l1), ("loss/g", total)):
            self.stats.add(key, torch.as_tensor(value))
        return Loss(total, checked=self.adversarial_weight * adversarial)


def from_config(run, state: TrainingState, execution: Execution, stats: RunningStats,
                adversarial_weight: float = 1.0,    # on G's adversarial loss (2 with loss=lsgan: HiFi-GAN's)
                feature_weight: float = 2.0,        # feature matching (HiFi-GAN 2, MelGAN 10)
                mel_weight: float = 45.0) -> VocoderObjective:  # mel L1 (HiFi-GAN 45, MelGAN 0)
    return VocoderObjective(state, execution, adversarial_loss(run.loss), stats, MelFeatures.from_config(run.model.mel),
                            adversarial_weight=check_weight(adversarial_weight, "model.objective.adversarial_weight"),
                            feature_weight=check_weight(feature_weight, "model.objective.feature_weight"),
                            mel_weight=check_weight(mel_weight, "model.objective.mel_weight"))
