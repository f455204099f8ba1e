"""CycleGAN (Zhu et al. 2017): two generators translate between domains A and B without pairs;
each domain has its own D, and cycle consistency ties the generators together.

    G: loss_G(D_B(G_AB(a))) + loss_G(D_A(G_BA(b)))                        adversarial
       + cycle_weight * (|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1)     cycle
       + identity_weight * cycle_weight * (|G_AB(b) - b|_1 + |G_BA(a) - a|_1)  identity
    D_B: loss(D_B(b), D_B(pool_B(G_AB(a)))) / 2,  D_A likewise

One step is the generators' update (one optimizer over both, as the paper), then both Ds' on images
from their pools. State keys: generator = G_AB, generator_ba = G_BA, discriminator = D_B,
discriminator_a = D_A; the two pools travel in the checkpoint as `image_pools`.
"""

from __future__ import annotations

from gan_cli import distributed
from gan_cli.errors import UserError
from gan_cli.training.execution import Execution
from gan_cli.training.objectives import DISCRIMINATOR, GENERATOR, Loss, Phase
from gan_cli.training.objectives.image_pool import ImagePool
from gan_cli.training.objectives.updates import adversarial_loss
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import check_weight


class ImagePools:
    """Both domains' pools as one part of the checkpoint."""

    def __init__(self, size: int, seed: int):
        rank = distributed.rank()
        self.a, self.b = ImagePool(size, seed, "a", rank), ImagePool(size, seed, "b", rank)

    def state_dict(self) -> dict:
        return {"a": self.a.state_dict(), "b": self.b.state_dict()}

    def load_state_dict(self, state: dict | None) -> None:
        state = state or {}
        self.a.load_state_dict(state.get("a"))
        self.b.load_state_dict(state.get("b"))


class CycleGANObjective:
    def __init__(self, state: TrainingState, execution: Execution, loss, stats: RunningStats, pools: ImagePools,
                 cycle_weight: float = 10.0, identity_weight: float = 0.5):
        self.state, self.execution, self.loss, self.stats, self.pools = state, execution, loss, stats, pools
        self.cycle_weight, self.identity_weight = cycle_weight, identity_weight
        nets = state.networks
        self.g_ab, self.g_ba = execution.for_training(nets["generator"]), execution.for_training(nets["generator_ba"])
        self.d_b, self.d_a = execution.for_training(nets["discriminator"]), execution.for_training(nets["discriminator_a"])
        self.images_per_step = state.batches.batch_size
        self.seen = {}  # by accumulated batch: the reals (a, b) and fakes (G_AB(a), G_BA(b)), for the Ds' update
        self.description = (f"loss={loss.name}, cycle x {cycle_weight:g}, identity x {identity_weight:g}, "
                            f"image pools of {pools.a.size}")

    def phases(self) -> list[Phase]:
        return [Phase("G", 1, self.g_loss, GENERATOR, (self.g_ab, self.g_ba)),
                Phase("D", 1, self.d_loss, DISCRIMINATOR, (self.d_b, self.d_a))]

    def g_loss(self, index: int, batch: int) -> Loss:
        state, layout = self.state, self.execution.layout
        a, b = state.batches.next()
        a, b = layout(a), layout(b)
        discriminators = [state.networks["discriminator"], state.networks["discriminator_a"]]
        with self.execution.autocast():
            fake_b, fake_a = layout(self.g_ab(a)), layout(self.g_ba(b))
            adversarial_ab = self.loss.g_loss(discriminators[0](fake_b).float())
            adversarial_ba = self.loss.g_loss(discriminators[1](fake_a).float())
            cycle_a = (self.g_ba(fake_b).float() - a.float()).abs().mean()
            cycle_b = (self.g_ab(fake_a).float() - b.float()).abs().mean()
            total = adversarial_ab + adversarial_ba + self.cycle_weight * (cycle_a + cycle_b)
            if self.identity_weight:
                identity_b = (self.g_ab(b).float() - b.float()).abs().mean()
                identity_a = (self.g_ba(a).float() - a.float()).abs().mean()
                total = total + self.identity_weight * self.cycle_weight * (identity_a + identity_b)
                self.stats.add("loss/identity_a", identity_a)
                self.stats.add("loss/identity_b", identity_b)
        self.seen[batch] = (fake_b.detach(), fake_a.detach()), (a, b)
        for key, value in (("loss/g_ab", adversarial_ab), ("loss/g_ba", adversarial_ba), ("loss/cycle_a", cycle_a),
                           ("loss/cycle_b", cycle_b), ("loss/g", total)):
            self.stats.add(key, value)
        return Loss(total)

    def d_loss(self, index: int, batch: int) -> Loss:
        (fake_b, fake_a), (a, b) = self.seen.pop(batch)
        fake_b, fake_a = self.pools.b.query(fake_b), self.pools.a.query(fake_a)
        with self.execution.autocast():
            real_b_logits, fake_b_logits = self.d_b(b).float(), self.d_b(fake_b).float()
            real_a_logits, fake_a_logits = self.d_a(a).float(), self.d_a(fake_a).float()
            d_b = 0.5 * self.loss.d_loss(real_b_logits, fake_b_logits)
            d_a = 0.5 * self.loss.d_loss(real_a_logits, fake_a_logits)
        self.stats.add("loss/d_a", d_a)
        self.stats.add("loss/d_b", d_b)
        self.stats.add("loss/d", d_a + d_b)
        return Loss(d_a + d_b)


def from_config(run, state: TrainingState, execution: Execution, stats: RunningStats) -> CycleGANObjective:
    model, data = run.model, run.data.config
    pool_size = model.pool_size
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 0:
        raise UserError(f"model.pool_size={pool_size!r} must be a whole number of 0 or more (generated images "
                        f"kept to show D again; the paper uses 50, 0 shows only the newest).")
    identity = check_weight(model.identity_weight, "model.identity_weight")
    if identity and list(data.input_shape) != list(data.shape):
        raise UserError(f"model.identity_weight={identity:g} feeds domain B's images to G_AB, which needs both "
                        f"domains to have the same shape, but data.input_shape={list(data.input_shape)} and "
                        f"data.shape={list(data.shape)}: set model.identity_weight=0.")
    pools = ImagePools(pool_size, run.trainer.seed)
    state.extras["image_pools"] = pools
    return CycleGANObjective(state, execution, adversarial_loss(run.loss), stats, pools,
                             cycle_weight=check_weight(model.cycle_weight, "model.cycle_weight"),
                             identity_weight=identity)
