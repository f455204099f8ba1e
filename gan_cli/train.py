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
from gan_cli.checkpoint import CheckpointWriter, load_checkpoint
from gan_cli.data import build_batches, real_samples
from gan_cli.ema import make_ema
from gan_cli.errors import UserError, exit_with
from gan_cli.eval.tracking import EvalTracker
from gan_cli.latents import LatentSampler
from gan_cli.launch import check_devices, launch_processes
from gan_cli.precision import make_scaler, parse_precision
from gan_cli.regularizers import build_regularizers
from gan_cli.run_log import RunLog
from gan_cli.run_state import checkpoint_payload, restore
from gan_cli.schedules import lr_factor
from gan_cli.sweep import JobAlreadyFinished, finish_job, job_config, record_interrupted
from gan_cli.training_loop import GAN, StopRequested, training_loop
from gan_cli.validation import check_codes, check_labels, check_run, resolve_device

log = logging.getLogger("gan_cli")
CONFIG_GROUPS = ("model", "loss", "data", "optim", "trainer", "experiment", "debug", "hparams_search")


def train(cfg: DictConfig, run_dir: str | Path | None = None) -> dict[str, float]:
    """Train the GAN that `cfg` describes; write logs, samples and checkpoints under run_dir.

    Under a process group (torchrun, SLURM, trainer.devices=N) every rank calls this; rank 0 writes.
    """
    run_dir = Path(run_dir or HydraConfig.get().runtime.output_dir)
    trainer = cfg.trainer
    device = resolve_device(trainer.device)
    rank, world_size = distributed.rank(), distributed.world_size()
    torch.manual_seed(trainer.seed + rank)
    gan, batches = build_gan(cfg, device)
    loss, precision = gan.loss, gan.precision
    schedule = lr_factor(cfg.optim, trainer.steps)

    eval_every = int((cfg.get("eval") or {}).get("every") or 0)
    tracker = EvalTracker(cfg, device, run_dir, enabled=distributed.is_main()) if eval_every > 0 else None

    start_step = 0
    if cfg.get("resume"):
        checkpoint = load_checkpoint(cfg.resume)
        start_step = restore(gan, batches, checkpoint)
        if tracker is not None:
            tracker.load_state_dict(checkpoint.get("eval"))

    fixed_noise, fixed_labels = fixed_latents(cfg, gan.latents)
    fixed_noise = fixed_noise.to(device)
    fixed_labels = fixed_labels.to(device) if fixed_labels is not None else None
    real_preview = real_samples(cfg.data, 1000, seed=trainer.seed) if len(cfg.data.shape) == 1 else None
    run_log = RunLog(run_dir, enabled=distributed.is_main())
    writer = CheckpointWriter(run_dir / "checkpoints", keep=trainer.keep_checkpoints)
    configs = {"config": OmegaConf.to_container(cfg, resolve=True), "config_source": OmegaConf.to_container(cfg)}

    def payload(step: int) -> dict:
        return {**checkpoint_payload(gan, batches, configs, step),
                "eval": tracker.state_dict() if tracker is not None else None}

    def save_checkpoint(step: int):
        state = payload(step)
        if distributed.is_main():
            writer.save(state, step)
        distributed.barrier()

    def evaluate(step: int):
        improved = tracker.evaluate(step, gan.sampler)
        if distributed.is_main():
            values = tracker.latest
            run_log.scalars({f"eval/{name}": value for name, value in values.items()}, step)
            shown = ", ".join(f"{name} {value:.4g}" for name, value in values.items())
            run_log.info(f"eval at step {step}: {shown}" + (" (best so far)" if improved else ""))
        if improved and trainer.get("save_checkpoints", True):
            state = payload(step)
            if distributed.is_main():
                writer.save_best(state)
            distributed.barrier()

    run_log.info(
        f"Training {cfg.model.name} on {cfg.data.name} {list(cfg.data.shape)} with loss={loss.name} on {device}"
        f" ({world_size} process(es), precision {precision}), steps {start_step} -> {trainer.steps}; "
        f"run folder: {run_dir}"
    )
    try:
        final = training_loop(
            gan, batches, trainer, run_log, save_checkpoint,
            last_checkpoint=lambda: str(writer.last_path) if writer.last_path else cfg.get("resume"),
            start_step=start_step, fixed_noise=fixed_noise, fixed_labels=fixed_labels, real_preview=real_preview,
            evaluate=evaluate if tracker is not None else None, eval_every=eval_every,
            lr_factor=schedule,
        )
    finally:
        run_log.close()
    if tracker is not None:
        final = {**final, **tracker.final_values()}
    run_log.info(
        f"Done: {final['step']} steps. Checkpoint: {writer.last_path}. Samples: {run_dir / 'samples'}. "
        f"TensorBoard: tensorboard --logdir {run_dir}"
    )
    return final


def fixed_latents(cfg: DictConfig, latents: LatentSampler) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The sample grid's inputs, the same in every run with this seed; a row per class when conditional."""
    generator = torch.Generator().manual_seed(cfg.trainer.seed)
    n = cfg.trainer.num_fixed_samples
    labels = None
    if latents.num_classes:
        per_class = max(1, n // latents.num_classes)
        labels = torch.arange(latents.num_classes).repeat_interleave(per_class)
        n = len(labels)
    z = torch.randn(n, latents.dim - latents.code_dim, generator=generator)
    if latents.code_dim:
        z = torch.cat([z, latents.auxiliary.sample_codes(n, generator, "cpu")], dim=1)
    return z, labels


def build_gan(cfg: DictConfig, device: torch.device) -> tuple[GAN, object]:
    """The networks, optimizers, loss, regularizers and batch source that `cfg` describes."""
    trainer = cfg.trainer
    precision = parse_precision(trainer.get("precision", 32))
    rank, world_size = distributed.rank(), distributed.world_size()
    batches = build_batches(cfg.data, device=device, seed=trainer.seed, rank=rank, world_size=world_size)
    generator = instantiate(cfg.model.generator).to(device)
    discriminator = instantiate(cfg.model.discriminator).to(device)
    loss = instantiate(cfg.loss)
    penalties, constraints = build_regularizers(cfg.get("regularizers") or {})
    auxiliary = instantiate(cfg.model.auxiliary) if cfg.model.get("auxiliary") else None
    conditional = bool(cfg.model.get("conditional", False))
    check_run(cfg, discriminator, loss, penalties, constraints)
    check_labels(cfg, conditional, auxiliary)
    check_codes(cfg, auxiliary)
    channels_last = use_channels_last(trainer, device, cfg.data.shape)
    if channels_last:
        generator.to(memory_format=torch.channels_last)
        discriminator.to(memory_format=torch.channels_last)
    g_train, d_train = wrap_for_training(generator, discriminator, device, compile_=trainer.get("compile", False),
                                         double_backward=bool(penalties))
    gan = GAN(
        generator=generator,
        discriminator=discriminator,
        g_optimizer=instantiate(cfg.optim.generator)(generator.parameters()),
        d_optimizer=instantiate(cfg.optim.discriminator)(discriminator.parameters()),
        loss=loss,
        latents=LatentSampler(cfg.model.latent_dim, trainer.seed, device, rank, world_size,
                              num_classes=cfg.data.num_classes if conditional else None, auxiliary=auxiliary),
        g_train=g_train,
        d_train=d_train,
        ema=make_ema(generator) if cfg.model.get("ema_decay") else None,
        ema_decay=cfg.model.get("ema_decay") or 0.0,
        penalties=penalties,
        constraints=constraints,
        precision=precision,
        g_scaler=make_scaler(precision, device),
        d_scaler=make_scaler(precision, device),
        channels_last=channels_last,
        conditional=conditional,
        auxiliary=auxiliary,
        augment=build_augment(cfg),
    )
    return gan, batches


def build_augment(cfg: DictConfig):
    policy = (cfg.get("augment") or {}).get("policy")
    if not policy:
        return None
    from gan_cli.augment import DiffAugment

    return DiffAugment(policy)


def use_channels_last(trainer, device: torch.device, data_shape) -> bool:
    """channels-last memory format: on by default on GPUs (faster convolutions), off on the CPU."""
    setting = trainer.get("channels_last", "auto")
    if len(data_shape) != 3:
        return False
    return device.type == "cuda" if setting == "auto" else bool(setting)


def wrap_for_training(generator, discriminator, device, compile_: bool, double_backward: bool):
    """G and D as the training step calls them: each in its own DDP wrapper under a process group,
    then compiled if asked. D is not compiled when a penalty needs a double backward through it,
    which torch.compile does not support."""
    g_train, d_train = generator, discriminator
    if distributed.world_size() > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if device.type == "cuda" else None
        g_train = DDP(generator, device_ids=ids)
        d_train = DDP(discriminator, device_ids=ids)  # BN buffers follow rank 0
    if compile_:
        g_train = torch.compile(g_train)
        if not double_backward:
            d_train = torch.compile(d_train)
        else:
            log.info("trainer.compile: D stays eager (its gradient penalty needs a double backward)")
    return g_train, d_train


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


def run_job(cfg: DictConfig, run_dir: Path) -> dict[str, float]:
    """One job: in this process, in the process group the environment describes, or in N spawned ones."""
    devices = check_devices(cfg.trainer.get("devices", 1), cfg.trainer.device)
    if distributed.environment_world_size() > 1:  # torchrun or SLURM started the ranks
        distributed.init_from_env(timeout_s=cfg.trainer.get("ddp_timeout_s", 300))
        return train(cfg, run_dir)
    if devices > 1:
        return launch_processes(cfg, run_dir, devices)
    return train(cfg, run_dir)


@hydra.main(version_base="1.3", config_path="pkg://gan_cli.conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    hydra_cfg = HydraConfig.get()
    single_run = hydra_cfg.mode == RunMode.RUN
    run_dir = Path(hydra_cfg.runtime.output_dir)
    try:
        cfg = job_config(cfg, hydra_cfg)  # resume=PATH, or resume=auto in a sweep (gan_cli/sweep.py)
        final = run_job(cfg, run_dir)
    except JobAlreadyFinished as done:  # resume=auto: the job finished in an earlier run of the sweep
        return done.objective
    except UserError as error:
        if not single_run:
            raise  # the sweep records the job as failed and goes on
        if str(error):
            exit_with(error)
        sys.exit(error.exit_code)
    except StopRequested as stop:
        if distributed.is_main():
            if cfg.trainer.get("save_checkpoints", True):
                log.warning(f"Stopped at step {stop.args[0]}; checkpoint written. Resume with: "
                            f"gan-train resume={run_dir / 'checkpoints' / 'last.pt'}")
            else:
                log.warning(f"Stopped at step {stop.args[0]}; no checkpoint (trainer.save_checkpoints=false).")
        record_interrupted(hydra_cfg, stop.args[0])
        sys.exit(130)
    finally:
        distributed.shutdown()
    return finish_job(cfg, hydra_cfg, final)  # status.json, HPARAMS; the objective (cfg.objective)


if __name__ == "__main__":
    main()
