"""Checks that run before training: bad values and combinations that cannot work."""

from __future__ import annotations

import math

import torch.nn as nn
from omegaconf import OmegaConf

from gan_cli.data import DataSource
from gan_cli.errors import UserError
from gan_cli.numbers import RANGES, check_number_range
from gan_cli.options import check_known_keys, check_missing_values, check_options
from gan_cli.run_settings import RunSettings
from gan_cli.tasks import check_task
from gan_cli.tasks.run_description import RunDescription
from gan_cli.training.train_options import GROUP_NODES, MISSING_EXAMPLES, TRAIN_OPTIONS

# trainer.precision=bf16/fp16 is autocast: weights, optimizer state and losses stay float32, and a
# setting meets float32 tensors (or scales them before a cast), so float32 is every float setting's
# range; float16's narrower one bounds the weights of fp16 runs instead (gan_cli.numbers). These
# settings become something narrower than their type says:
KEY_DTYPES = {"trainer.seed": "seed", "eval.seed": "seed", "trainer.ddp_timeout_s": "seconds"}


def check_command_config(cfg) -> None:
    """gan-train's config as the command line composed it, before a checkpoint is read or anything
    resolves: no key the table does not know (+trainer.stepz=1), no ??? left, every value in range."""
    check_known_keys(cfg, "gan-train", TRAIN_OPTIONS, GROUP_NODES)
    check_missing_values(cfg, "gan-train", MISSING_EXAMPLES)
    check_options(cfg, TRAIN_OPTIONS)


def describe_run(cfg) -> RunDescription:
    """The run `cfg` composes, described once: every value it reads that can be wrong on its own named
    before any work is done, gan-train's own keys typed (gan_cli/run_settings.py), its task chosen."""
    check_missing_values(cfg, "gan-train", MISSING_EXAMPLES)  # first: nothing may resolve a ???
    settings = RunSettings.from_config(cfg)  # trainer.*, eval.*, regularizers.*, augment.*, resume, objective
    task = check_task(cfg)  # before the groups resolve: a model's config may not resolve on data of another task
    # The values as written first, so that a bad one is named where it was set (trainer.steps, not
    # optim.schedule_steps=${trainer.steps}); then as resolved, for values a resolver computes.
    for resolve in (False, True):
        check_config_numbers(OmegaConf.to_container(cfg, resolve=resolve, throw_on_missing=False))
    check_learning_rates(cfg.optim)
    decay = cfg.model.ema_decay
    if decay is not None and (isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 <= decay < 1):
        raise UserError(f"model.ema_decay={decay!r} must be a number in [0, 1) (e.g. 0.999: the EMA generator "
                        f"keeps 99.9% of itself at each step), or null for no EMA.")
    task.check_config(cfg)  # the task's own keys (model.latent_dim; CycleGAN has no EMA)
    return RunDescription(cfg, settings, task, DataSource(cfg.data))


def check_weight(value, key: str) -> float:
    """A loss term's weight: a finite number of 0 or more (0 turns the term off)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise UserError(f"{key}={value!r} must be a number of 0 or more (the weight of its loss term; 0 turns it off).")
    check_number_range(value, key)
    return float(value)


def check_config_numbers(values, prefix: str = "") -> None:
    """Every number of the run's config fits what it becomes: no NaN or infinity (1e999 on a command
    line), floats within float32 (1e39 is finite in Python only), ints within int64 (sizes, counts,
    steps), seeds within what torch.manual_seed takes, the DDP timeout within a timedelta."""
    items = values.items() if isinstance(values, dict) else enumerate(values) if isinstance(values, list) else ()
    for key, value in items:
        where = f"{prefix}.{key}" if prefix and not isinstance(key, int) else f"{prefix}[{key}]" if prefix else str(key)
        check_number_range(value, where, KEY_DTYPES.get(where, "int64" if isinstance(value, int) else "float32"))
        check_config_numbers(value, where)


def check_learning_rates(optim) -> None:
    """The optimizer group's learning rates (the trainer's keys are in the option table)."""
    for key in ("lr", "g_lr", "d_lr"):
        value = optim.get(key)  # an optimizer config may have any of them
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise UserError(f"optim.{key}={value!r} must be a positive number (such as 2e-4).")
    for side in ("generator", "discriminator"):
        check_first_update(optim, side)


def check_first_update(optim, side: str) -> None:
    """Adam's betas lie in [0, 1), and its first update, lr / (1 - beta1) per weight, fits a float32
    (optim.lr=3e38 is in range on its own, but not once Adam's bias correction divides it by 0.5)."""
    node = optim.get(side)
    betas = node.get("betas") if node is not None and hasattr(node, "get") else None
    if betas is None:
        return
    key = "optim.betas" if optim.get("betas") == betas else f"optim.{side}.betas"
    betas = list(betas) if OmegaConf.is_list(betas) else betas
    if not isinstance(betas, list) or len(betas) != 2 or not all(
            isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in betas):
        raise UserError(f"{key}={betas!r} must be two numbers in [0, 1): the decay rates of Adam's moment "
                        f"estimates, such as [0.5, 0.999] (DCGAN) or [0.0, 0.99] (StyleGAN2).")
    lr = node.get("lr")
    if not isinstance(lr, (int, float)) or isinstance(lr, bool):
        return
    step = lr / (1 - betas[0])
    if step > RANGES["float32"][1]:
        lr_key = next((f"optim.{k}" for k in ("lr", f"{side[0]}_lr") if optim.get(k) == lr), f"optim.{side}.lr")
        raise UserError(f"{lr_key}={lr:.8g} is out of range: Adam's first update moves each weight by lr / (1 - "
                        f"beta1) = {step:.3g}, beyond float32's largest number (3.4e+38). Give a learning rate "
                        f"below {RANGES['float32'][1] * (1 - betas[0]):.3g}; GANs train with rates such as 2e-4.")


def check_critic(model, discriminator: nn.Module, loss, penalties: list, constraints: list) -> None:
    """A Wasserstein critic must be kept Lipschitz, and input-gradient penalties exclude batch norm."""
    has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in discriminator.modules())
    has_spectral_norm = any(hasattr(m, "parametrizations") for m in discriminator.modules())
    # ProGAN's drift term keeps the scores near 0 but does not bound the critic's slope.
    bounding = [penalty for penalty in penalties if not penalty.on_real_logits]
    if loss.needs_lipschitz_critic and not (bounding or constraints or has_spectral_norm):
        raise UserError(
            f"loss={loss.name} needs a Lipschitz critic, but model={model.name} has no spectral norm in D and "
            f"neither a gradient penalty nor weight clipping is set: the critic's score would grow without bound. "
            f"Use model=wgan_gp or model=wgan, or add regularizers.weight_clip=0.01, or "
            f"regularizers.gradient_penalty=10 with a critic without batch norm (model.discriminator.norm=layer)."
        )
    for penalty in penalties:
        if penalty.forbids_batch_norm and has_batch_norm:
            raise UserError(
                f"The {penalty.name} penalises each sample's input gradient, which batch norm in the "
                f"discriminator makes meaningless (model={model.name} has model.discriminator.norm=batch). "
                f"Use model.discriminator.norm=layer (the WGAN-GP recipe, model=wgan_gp), instance or none."
            )


def check_labels(model, data, conditional: bool, auxiliary) -> None:
    """Conditional models and class objectives need a dataset with labels (data: its config node)."""
    needs = conditional or getattr(auxiliary, "needs_labels", False)
    if needs and not data.get("num_classes"):
        raise UserError(
            f"model={model.name} is conditional on class labels, but data={data.name} has none "
            f"(data.num_classes is null). Use a labelled dataset: data=digits, mnist, fashion_mnist or cifar10."
        )


def check_codes(model, auxiliary) -> None:
    """InfoGAN: z holds the noise and the codes, so latent_dim must add up."""
    code_dim = getattr(auxiliary, "code_dim", 0)
    if not code_dim:
        return
    noise_dim = model.get("noise_dim", model.latent_dim - code_dim)
    if noise_dim < 1 or noise_dim + code_dim != model.latent_dim:
        raise UserError(
            f"model.latent_dim={model.latent_dim} must be model.noise_dim ({noise_dim}) plus the code sizes "
            f"({code_dim}: the categorical sizes plus the continuous count); set model.latent_dim="
            f"{max(noise_dim, 1) + code_dim}."
        )
