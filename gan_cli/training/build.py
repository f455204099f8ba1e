"""From a run's description to the objects it trains: the training state and the family's objective."""

from __future__ import annotations

from gan_cli import distributed
from gan_cli.errors import UserError
from gan_cli.registry import build
from gan_cli.tasks.run_description import RunDescription
from gan_cli.training.ema import EmaSchedule, make_ema
from gan_cli.training.execution import Execution
from gan_cli.training.latent_stream import LatentSampler
from gan_cli.training.objectives import Objective
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats


def build_state(run: RunDescription, execution: Execution) -> TrainingState:
    """The networks, optimizers, scalers, EMA, latent stream and batch source of the run.

    The task names the networks its models may define (by checkpoint key); one optimizer per side:
    g_optimizer over every generator's parameters, d_optimizer over every discriminator's (CycleGAN's
    two generators share one Adam, as in the paper)."""
    rank, world_size = distributed.rank(), distributed.world_size()
    seed, model = run.trainer.seed, run.model
    batches = run.task.batches(run, execution.device, seed, rank, world_size)
    networks = {key: execution.place(build(model[key], f"model.{key}")) for key in run.task.networks
                if model.get(key) is not None}
    run.task.prepare_networks(networks, run)
    # Frozen parameters (StackGAN Stage II's Stage-I generator) are no optimizer's.
    side = {prefix: [p for key, net in networks.items() if key.startswith(prefix) for p in net.parameters()
                     if p.requires_grad] for prefix in ("generator", "discriminator")}
    batches = run.task.model_batches(batches, networks, run)
    generator = networks["generator"]
    schedule = ema_schedule(model, run.data.config.batch_size * run.trainer.accumulate * world_size)
    latents = None
    if run.latent_layout is not None:
        latents = LatentSampler(run.latent_layout, seed, execution.device, rank, world_size)
    return TrainingState(
        networks=networks,
        optimizers={"g_optimizer": build(run.optim.generator, "optim.generator")(side["generator"]),
                    "d_optimizer": build(run.optim.discriminator, "optim.discriminator")(side["discriminator"])},
        scalers={"g_scaler": execution.make_scaler(), "d_scaler": execution.make_scaler()},
        batches=batches,
        latents=latents,
        ema=make_ema(generator) if schedule is not None else None,
        ema_schedule=schedule,
    )


def ema_schedule(model, images_per_step: int) -> EmaSchedule | None:
    """The EMA's schedule of a model config, or None without one: model.ema_half_life_images (StyleGAN2:
    10,000 images, so the EMA's memory is counted in images whatever the batch and the number of
    processes; images_per_step: over all processes) or model.ema_decay per step, ramped up by
    model.ema_rampup (the half-life at most that share of the images seen; null: none)."""
    half_life, decay = model.get("ema_half_life_images"), model.ema_decay
    rampup = model.get("ema_rampup")
    if rampup is not None and (isinstance(rampup, bool) or not isinstance(rampup, (int, float)) or rampup <= 0):
        raise UserError(f"model.ema_rampup={rampup!r} must be a positive share of the images seen (StyleGAN2: "
                        f"0.05), or null for an EMA at its full half-life from the first step.")
    if half_life is None:
        return EmaSchedule.from_decay(decay, images_per_step, rampup) if decay else None
    if isinstance(half_life, bool) or not isinstance(half_life, (int, float)) or half_life <= 0:
        raise UserError(f"model.ema_half_life_images={half_life!r} must be a positive number of images (10000 in "
                        f"StyleGAN2), or null to use model.ema_decay.")
    return EmaSchedule(float(half_life), images_per_step, rampup)


def build_objective(run: RunDescription, state: TrainingState, execution: Execution,
                    stats: RunningStats) -> Objective:
    """The family's objective, named by model.objective._target_ (one of gan-cli's registered factories)."""
    return build(run.model.objective, "model.objective")(run=run, state=state, execution=execution, stats=stats)
