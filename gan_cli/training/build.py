"""From a config to the objects a run trains: the training state and the family's objective."""

from __future__ import annotations


from gan_cli import distributed
from gan_cli.data import build_batches
from gan_cli.errors import UserError
from gan_cli.inference.latents import LatentLayout
from gan_cli.registry import build
from gan_cli.tasks import is_translation
from gan_cli.training.ema import make_ema
from gan_cli.training.execution import Execution
from gan_cli.training.latents import LatentSampler
from gan_cli.training.objectives import Objective
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats

# The networks a model config may define, by checkpoint key. CycleGAN has all four (generator =
# A->B, generator_ba = B->A, discriminator judges B, discriminator_a judges A); the others two.
NETWORK_KEYS = ("generator", "generator_ba", "discriminator", "discriminator_a")


def build_state(cfg, execution: Execution) -> TrainingState:
    """The networks, optimizers, scalers, EMA, latent stream and batch source that `cfg` describes.

    One optimizer per side: g_optimizer over every generator's parameters, d_optimizer over every
    discriminator's (CycleGAN's two generators share one Adam, as in the paper)."""
    rank, world_size = distributed.rank(), distributed.world_size()
    batches = build_batches(cfg.data, device=execution.device, seed=cfg.trainer.seed, rank=rank,
                            world_size=world_size)
    networks = {key: execution.place(build(cfg.model[key], f"model.{key}")) for key in NETWORK_KEYS
                if cfg.model.get(key) is not None}
    side = {prefix: [p for key, net in networks.items() if key.startswith(prefix) for p in net.parameters()]
            for prefix in ("generator", "discriminator")}
    if cfg.model.ema_decay and "generator_ba" in networks:
        raise UserError(f"model.ema_decay={cfg.model.ema_decay} is not available for model={cfg.model.name}, "
                        f"whose two generators translate both ways; set model.ema_decay=null.")
    generator = networks["generator"]
    ema_decay = configured_ema_decay(cfg, world_size)
    latents = None
    if not is_translation(cfg):
        latents = LatentSampler(LatentLayout.from_config(cfg), cfg.trainer.seed, execution.device, rank, world_size)
    return TrainingState(
        networks=networks,
        optimizers={"g_optimizer": build(cfg.optim.generator, "optim.generator")(side["generator"]),
                    "d_optimizer": build(cfg.optim.discriminator, "optim.discriminator")(side["discriminator"])},
        scalers={"g_scaler": execution.make_scaler(), "d_scaler": execution.make_scaler()},
        batches=batches,
        latents=latents,
        ema=make_ema(generator) if ema_decay else None,
        ema_decay=ema_decay or 0.0,
    )


def configured_ema_decay(cfg, world_size: int) -> float | None:
    """model.ema_decay, or the decay per step of model.ema_half_life_images (StyleGAN2: 10,000 images,
    so the EMA's memory is counted in images whatever the batch and the number of processes)."""
    half_life = cfg.model.get("ema_half_life_images")
    if half_life is None:
        return cfg.model.ema_decay
    if isinstance(half_life, bool) or not isinstance(half_life, (int, float)) or half_life <= 0:
        raise UserError(f"model.ema_half_life_images={half_life!r} must be a positive number of images (10000 in "
                        f"StyleGAN2), or null to use model.ema_decay.")
    return 0.5 ** (cfg.data.batch_size * world_size / half_life)


def build_objective(cfg, state: TrainingState, execution: Execution, stats: RunningStats) -> Objective:
    """The family's objective, named by model.objective._target_ (one of gan-cli's registered factories)."""
    return build(cfg.model.objective, "model.objective")(cfg=cfg, state=state, execution=execution, stats=stats)
