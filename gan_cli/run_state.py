"""The whole training state in and out of a checkpoint.

Weights, optimizers, scalers and the latent sampler are the same on every rank and are stored
once; RNG states and data positions differ per rank and are gathered to rank 0, so a DDP run
resumes exactly too.
"""

from __future__ import annotations

import hashlib
import logging

import torch

from gan_cli import distributed
from gan_cli.checkpoint import FORMAT
from gan_cli.training_loop import GAN

log = logging.getLogger("gan_cli")


def weights_digest(*modules) -> str:
    """A hash of the parameters' bytes: equal on every rank unless DDP let them drift apart.

    (Batch-norm running statistics are left out: each rank updates them from its own batch and
    DDP re-broadcasts rank 0's at every forward, so they differ between ranks by design.)"""
    digest = hashlib.sha256()
    for module in modules:
        for tensor in module.parameters():
            digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _rank_state(gan: GAN, batches) -> dict:
    return {
        "weights_sha256": weights_digest(gan.generator, gan.discriminator),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() and torch.cuda.is_initialized() else None,
        "data": batches.state_dict(),
    }


def checkpoint_payload(gan: GAN, batches, configs: dict, step: int) -> dict:
    """Call on every rank (it gathers the per-rank states); only rank 0 needs the result."""
    ranks = distributed.all_gather_objects(_rank_state(gan, batches))
    if len({r["weights_sha256"] for r in ranks}) > 1:
        log.error(f"Step {step}: the ranks' weights differ ({[r['weights_sha256'][:12] for r in ranks]}); "
                  f"the process group is out of step. Rank 0's weights are saved.")
    return {
        "format": FORMAT,
        "step": step,
        **configs,  # the resolved config (what ran) and its source (interpolations kept, for resume)
        "generator": gan.generator.state_dict(),
        "discriminator": gan.discriminator.state_dict(),
        "ema": gan.ema.state_dict() if gan.ema is not None else None,
        "g_optimizer": gan.g_optimizer.state_dict(),
        "d_optimizer": gan.d_optimizer.state_dict(),
        "g_scaler": gan.g_scaler.state_dict(),
        "d_scaler": gan.d_scaler.state_dict(),
        "latents": gan.latents.state_dict(),
        "ranks": ranks,
        "world_size": distributed.world_size(),
    }


def restore(gan: GAN, batches, checkpoint: dict) -> int:
    """Put every piece of training state back; return the step to continue from."""
    gan.generator.load_state_dict(checkpoint["generator"])
    gan.discriminator.load_state_dict(checkpoint["discriminator"])
    if gan.ema is not None and checkpoint.get("ema") is not None:
        gan.ema.load_state_dict(checkpoint["ema"])
    for optimizer, key in ((gan.g_optimizer, "g_optimizer"), (gan.d_optimizer, "d_optimizer")):
        # The moments come from the checkpoint; the learning rates from this run's config.
        configured = [group["lr"] for group in optimizer.param_groups]
        optimizer.load_state_dict(checkpoint[key])
        for group, lr in zip(optimizer.param_groups, configured):
            group["lr"] = lr
    for scaler, key in ((gan.g_scaler, "g_scaler"), (gan.d_scaler, "d_scaler")):
        if checkpoint.get(key) and scaler.is_enabled():
            scaler.load_state_dict(checkpoint[key])
    gan.latents.load_state_dict(checkpoint["latents"])

    ranks = checkpoint["ranks"]
    rank = distributed.rank()
    if len(ranks) != distributed.world_size():
        log.warning(f"The checkpoint was written by {len(ranks)} process(es) and this run has "
                    f"{distributed.world_size()}: weights and optimizers resume exactly, the data order does not.")
    state = ranks[rank % len(ranks)]
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
    if len(ranks) == distributed.world_size():
        batches.load_state_dict(state["data"])
    return int(checkpoint["step"])
