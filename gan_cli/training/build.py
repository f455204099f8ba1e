"""From a config to the objects a run trains: the training state and the family's objective."""

from __future__ import annotations

from hydra.utils import instantiate

from gan_cli import distributed
from gan_cli.data import build_batches
from gan_cli.errors import UserError
from gan_cli.inference.latents import LatentLayout
from gan_cli.training.ema import make_ema
from gan_cli.training.execution import Execution
from gan_cli.training.latents import LatentSampler
from gan_cli.training.objectives import Objective
from gan_cli.training.state import TrainingState
from gan_cli.training.stats import RunningStats

OBJECTIVE_PREFIX = "gan_cli.training.objectives."


def build_state(cfg, execution: Execution) -> TrainingState:
    """The networks, optimizers, scalers, EMA, latent stream and batch source that `cfg` describes."""
    rank, world_size = distributed.rank(), distributed.world_size()
    batches = build_batches(cfg.data, device=execution.device, seed=cfg.trainer.seed, rank=rank,
                            world_size=world_size)
    generator = execution.place(instantiate(cfg.model.generator))
    discriminator = execution.place(instantiate(cfg.model.discriminator))
    layout = LatentLayout.from_config(cfg)
    return TrainingState(
        networks={"generator": generator, "discriminator": discriminator},
        optimizers={"g_optimizer": instantiate(cfg.optim.generator)(generator.parameters()),
                    "d_optimizer": instantiate(cfg.optim.discriminator)(discriminator.parameters())},
        scalers={"g_scaler": execution.make_scaler(), "d_scaler": execution.make_scaler()},
        batches=batches,
        latents=LatentSampler(layout, cfg.trainer.seed, execution.device, rank, world_size),
        ema=make_ema(generator) if cfg.model.ema_decay else None,
        ema_decay=cfg.model.ema_decay or 0.0,
    )


def build_objective(cfg, state: TrainingState, execution: Execution, stats: RunningStats) -> Objective:
    """The family's objective, named by model.objective._target_ (one of gan-cli's own)."""
    target = str(cfg.model.objective.get("_target_", ""))
    if not target.startswith(OBJECTIVE_PREFIX):
        raise UserError(f"model.objective._target_={target!r} is not one of gan-cli's objectives "
                        f"({OBJECTIVE_PREFIX}*), for example {OBJECTIVE_PREFIX}adversarial.from_config.")
    return instantiate(cfg.model.objective)(cfg=cfg, state=state, execution=execution, stats=stats)
