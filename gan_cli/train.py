"""gan-train: a thin Hydra command over `train(cfg)`, which builds the objects and runs the loop."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from gan_cli import distributed
from gan_cli.checkpoint import FORMAT, CheckpointWriter, load_checkpoint
from gan_cli.data import build_batches, real_samples
from gan_cli.ema import make_ema
from gan_cli.errors import UserError, exit_with
from gan_cli.regularizers import build_regularizers
from gan_cli.run_log import RunLog
from gan_cli.training_loop import GAN, StopRequested, training_loop
from gan_cli.validation import check_run, resolve_device

log = logging.getLogger("gan_cli")
CONFIG_GROUPS = ("model", "loss", "data", "optim", "trainer")


def train(cfg: DictConfig, run_dir: str | Path | None = None) -> dict[str, float]:
    """Train the GAN that `cfg` describes; write logs, samples and checkpoints under run_dir."""
    run_dir = Path(run_dir or HydraConfig.get().runtime.output_dir)
    device = resolve_device(cfg.trainer.device)
    torch.manual_seed(cfg.trainer.seed + distributed.rank())

    batches = build_batches(cfg.data, device=device, seed=cfg.trainer.seed,
                            rank=distributed.rank(), world_size=distributed.world_size())
    generator = instantiate(cfg.model.generator).to(device)
    discriminator = instantiate(cfg.model.discriminator).to(device)
    loss = instantiate(cfg.loss)
    penalties, constraints = build_regularizers(cfg.get("regularizers") or {})
    check_run(cfg, discriminator, loss, penalties, constraints)
    gan = GAN(
        generator=generator,
        discriminator=discriminator,
        g_optimizer=instantiate(cfg.optim.generator)(generator.parameters()),
        d_optimizer=instantiate(cfg.optim.discriminator)(discriminator.parameters()),
        loss=loss,
        latent_dim=cfg.model.latent_dim,
        ema=make_ema(generator) if cfg.model.get("ema_decay") else None,
        ema_decay=cfg.model.get("ema_decay") or 0.0,
        penalties=penalties,
        constraints=constraints,
    )

    start_step = 0
    if cfg.get("resume"):
        start_step = restore(gan, batches, load_checkpoint(cfg.resume))

    fixed_noise = torch.randn(cfg.trainer.num_fixed_samples, cfg.model.latent_dim,
                              generator=torch.Generator().manual_seed(cfg.trainer.seed)).to(device)
    real_preview = real_samples(cfg.data, 1000, seed=cfg.trainer.seed) if len(cfg.data.shape) == 1 else None
    run_log = RunLog(run_dir, enabled=distributed.is_main())
    writer = CheckpointWriter(run_dir / "checkpoints", keep=cfg.trainer.keep_checkpoints)
    configs = {"config": OmegaConf.to_container(cfg, resolve=True), "config_source": OmegaConf.to_container(cfg)}

    def save_checkpoint(step: int):
        payload = checkpoint_payload(gan, batches, configs, step)
        if distributed.is_main():
            path = writer.save(payload, step)
            log.debug("checkpoint %s", path)
        distributed.barrier()

    run_log.info(
        f"Training {cfg.model.name} on {cfg.data.name} {list(cfg.data.shape)} with loss={loss.name} on {device}"
        f" ({distributed.world_size()} process(es)), steps {start_step} -> {cfg.trainer.steps}; run folder: {run_dir}"
    )
    try:
        final = training_loop(
            gan, batches, cfg.trainer, run_log, save_checkpoint,
            last_checkpoint=lambda: str(writer.last_path) if writer.last_path else cfg.get("resume"),
            start_step=start_step, fixed_noise=fixed_noise, real_preview=real_preview,
        )
    finally:
        run_log.close()
    run_log.info(
        f"Done: {final['step']} steps. Checkpoint: {writer.last_path}. Samples: {run_dir / 'samples'}. "
        f"TensorBoard: tensorboard --logdir {run_dir}"
    )
    return final


def checkpoint_payload(gan: GAN, batches, configs: dict, step: int) -> dict:
    return {
        "format": FORMAT,
        "step": step,
        **configs,  # the resolved config (what ran) and its source (interpolations kept, for resume)
        "generator": gan.raw_generator.state_dict(),
        "discriminator": gan.raw_discriminator.state_dict(),
        "ema": gan.ema.state_dict() if gan.ema is not None else None,
        "g_optimizer": gan.g_optimizer.state_dict(),
        "d_optimizer": gan.d_optimizer.state_dict(),
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        },
        "data": batches.state_dict(),
        "world_size": distributed.world_size(),
    }


def restore(gan: GAN, batches, checkpoint: dict) -> int:
    """Put every piece of training state back; return the step to continue from."""
    gan.raw_generator.load_state_dict(checkpoint["generator"])
    gan.raw_discriminator.load_state_dict(checkpoint["discriminator"])
    if gan.ema is not None and checkpoint.get("ema") is not None:
        gan.ema.load_state_dict(checkpoint["ema"])
    for optimizer, key in ((gan.g_optimizer, "g_optimizer"), (gan.d_optimizer, "d_optimizer")):
        # The moments come from the checkpoint; the learning rates from this run's config.
        configured = [group["lr"] for group in optimizer.param_groups]
        optimizer.load_state_dict(checkpoint[key])
        for group, lr in zip(optimizer.param_groups, configured):
            group["lr"] = lr
    torch.set_rng_state(checkpoint["rng"]["torch"])
    if checkpoint["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(checkpoint["rng"]["cuda"])
    batches.load_state_dict(checkpoint["data"])
    return int(checkpoint["step"])


def config_for_resume(cfg: DictConfig, overrides: list[str]) -> DictConfig:
    """The checkpoint's own config, with this command line's value overrides (say, more trainer.steps)."""
    checkpoint = load_checkpoint(cfg.resume)
    dotlist = []
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key in ("resume",) or key.startswith("hydra."):
            continue
        if key in CONFIG_GROUPS:
            raise UserError(
                f"{override} cannot be combined with resume={cfg.resume}: resuming continues the checkpoint's "
                f"run, whose {key} is fixed. Change values instead (for example trainer.steps=...), or start a "
                f"new run without resume=."
            )
        dotlist.append(override.lstrip("+"))
    source = checkpoint.get("config_source") or checkpoint["config"]
    merged = OmegaConf.merge(OmegaConf.create(source), OmegaConf.from_dotlist(dotlist))
    merged.resume = cfg.resume
    return merged


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    hydra_cfg = HydraConfig.get()
    single_run = hydra_cfg.mode == RunMode.RUN
    try:
        if cfg.get("resume"):
            cfg = config_for_resume(cfg, list(hydra_cfg.overrides.task))
        final = train(cfg)
    except UserError as error:
        if not single_run:
            raise  # the sweep records the job as failed and goes on
        exit_with(error)
    except StopRequested as stop:
        log.warning(f"Stopped at step {stop.args[0]}; checkpoint written. Resume with: "
                    f"gan-train resume={Path(hydra_cfg.runtime.output_dir) / 'checkpoints' / 'last.pt'}")
        sys.exit(130)
    return final.get("loss/g")


if __name__ == "__main__":
    main()
