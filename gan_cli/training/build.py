"""From a config to the objects a run trains: the training state and the family's objective."""

from __future__ import annotations

from gan_cli import distributed
from gan_cli.data import build_batches
from gan_cli.errors import UserError
from gan_cli.latent_layout import LatentLayout
from gan_cli.registry import build
from gan_cli.tasks import Task, config_task
from gan_cli.training.ema import EmaSchedule, make_ema
from gan_cli.training.execution import Execution
from gan_cli.training.latent_stream import LatentSampler
from gan_cli.training.objectives import Objective
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats


def build_state(cfg, execution: Execution, task: Task | None = None) -> TrainingState:
    """The networks, optimizers, scalers, EMA, latent stream and batch source that `cfg` describes.

    The task names the networks its models may define (by checkpoint key); one optimizer per side:
    g_optimizer over every generator's parameters, d_optimizer over every discriminator's (CycleGAN's
    two generators share one Adam, as in the paper)."""
    task = task or config_task(cfg)
    rank, world_size = distributed.rank(), distributed.world_size()
    batches = build_batches(cfg.data, device=execution.device, seed=cfg.trainer.seed, rank=rank,
                            world_size=world_size)
    networks = {key: execution.place(build(cfg.model[key], f"model.{key}")) for key in task.networks
                if cfg.model.get(key) is not None}
    side = {prefix: [p for key, net in networks.items() if key.startswith(prefix) for p in net.parameters()]
            for prefix in ("generator", "discriminator")}
    generator = networks["generator"]
    schedule = ema_schedule(cfg, world_size)
    latents = None
    if task.latent_space:
        latents = LatentSampler(LatentLayout.from_config(cfg), cfg.trainer.seed, execution.device, rank, world_size)
    return TrainingState(
        networks=networks,
        optimizers={"g_optimizer": build(cfg.optim.generator, "optim.generator")(side["generator"]),
                    "d_optimizer": build(cfg.optim.discriminator, "optim.discriminator")(side["discriminator"])},
        scalers={"g_scaler": execution.make_scaler(), "d_scaler": execution.make_scaler()},
        batches=batches,
        latents=latents,
        ema=make_ema(generator) if schedule is not None else None,
        ema_schedule=schedule,
    )


def ema_schedule(cfg, world_size: int) -> EmaSchedule | None:
    """The EMA's schedule, or None without one: model.ema_half_life_images (StyleGAN2: 10,000 images,
    so the EMA's memory is counted in images whatever the batch and the number of processes) or
    model.ema_decay per step, ramped up by model.ema_rampup (the half-life at most that share of
    the images seen; null: none)."""
    half_life, decay = cfg.model.get("ema_half_life_images"), cfg.model.ema_decay
    rampup = cfg.model.get("ema_rampup")
    if rampup is not None and (isinstance(rampup, bool) or not isinstance(rampup, (int, float)) or rampup <= 0):
        raise UserError(f"model.ema_rampup={rampup!r} must be a positive share of the images seen (StyleGAN2: "
                        f"0.05), or null for an EMA at its full half-life from the first step.")
    images_per_step = cfg.data.batch_size * cfg.trainer.get("accumulate", 1) * world_size
    if half_life is None:
        return EmaSchedule.from_decay(decay, images_per_step, rampup) if decay else None
    if isinstance(half_life, bool) or not isinstance(half_life, (int, float)) or half_life <= 0:
        raise UserError(f"model.ema_half_life_images={half_life!r} must be a positive number of images (10000 in "
                        f"StyleGAN2), or null to use model.ema_decay.")
    return EmaSchedule(float(half_life), images_per_step, rampup)


def build_objective(cfg, state: TrainingState, execution: Execution, stats: RunningStats) -> Objective:
    """The family's objective, named by model.objective._target_ (one of gan-cli's registered factories)."""
    return build(cfg.model.objective, "model.objective")(cfg=cfg, state=state, execution=execution, stats=stats)
