"""The training state: everything a checkpoint saves and a resume restores.

Networks, the EMA generator, optimizers and gradient scalers are the same on every rank and are
stored once; RNG states and data positions differ per rank and are gathered to rank 0, so a DDP
run resumes exactly too. The checkpoint keys are the dictionaries' keys (generator,
discriminator, ema, g_optimizer, d_optimizer, g_scaler, d_scaler, latents, ranks, step, ...).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from gan_cli import distributed
from gan_cli.errors import UserError
from gan_cli.runs.checkpoints import load_weights, require_keys
from gan_cli.seeds import latent_generator
from gan_cli.training.ema import EmaSchedule, refresh_batch_norm, update_ema
from gan_cli.training.latent_stream import LatentSampler

log = logging.getLogger("gan_cli")


@dataclass
class TrainingState:
    networks: dict[str, nn.Module]                  # trained networks by checkpoint key: generator, discriminator
    optimizers: dict[str, torch.optim.Optimizer]    # by checkpoint key: g_optimizer, d_optimizer
    scalers: dict[str, torch.amp.GradScaler]        # by checkpoint key: g_scaler, d_scaler
    batches: object                                 # the data source: .next(), .batch_size, state_dict()
    latents: LatentSampler | None = None            # the latent stream (z -> image families)
    ema: nn.Module | None = None                    # moving average of the generator, used for samples
    ema_schedule: EmaSchedule | None = None         # the decay of each EMA update
    step: int = 0                                   # training steps done
    extras: dict[str, object] = field(default_factory=dict)  # more state_dict()/load_state_dict() parts ("eval")
    ema_statistics_step: int | None = field(default=None, repr=False)  # the step the EMA's BN statistics are of

    @property
    def generator(self) -> nn.Module:
        return self.networks["generator"]

    @property
    def discriminator(self) -> nn.Module:
        return self.networks["discriminator"]

    @property
    def g_optimizer(self) -> torch.optim.Optimizer:
        return self.optimizers["g_optimizer"]

    @property
    def d_optimizer(self) -> torch.optim.Optimizer:
        return self.optimizers["d_optimizer"]

    @property
    def sampler(self) -> nn.Module:
        """The generator that samples are drawn from: the EMA when there is one (its batch-norm
        statistics its own, recomputed once per step when asked)."""
        if self.ema is None:
            return self.generator
        self.refresh_ema_statistics()
        return self.ema

    def refresh_ema_statistics(self) -> None:
        """The EMA's batch-norm statistics from its own samples (z -> image families), the same on every
        rank and for the same step; the next EMA update copies G's over them again, so training and an
        exact resume are unchanged."""
        if self.ema is None or self.latents is None or self.ema_statistics_step == self.step:
            return
        layout, device = self.latents.layout, self.latents.device
        generator = latent_generator(self.step, "ema_batch_norm", device)
        refresh_batch_norm(self.ema, lambda: layout.sample(64, generator, device))
        self.ema_statistics_step = self.step

    def update_ema(self) -> None:
        """Move the EMA towards the generator, as the end of step `self.step + 1`."""
        if self.ema is not None:
            update_ema(self.ema, self.generator, self.ema_schedule.decay(self.step + 1))

    def side(self, name: str) -> list[nn.Module]:
        """The networks of one side ("generator" or "discriminator": every key that starts with it)."""
        return [network for key, network in self.networks.items() if key.startswith(name)]

    def optimizer_and_scaler(self, name: str) -> tuple[torch.optim.Optimizer, torch.amp.GradScaler]:
        """The optimizer over one side's parameters, and its gradient scaler."""
        return self.optimizers[f"{name[0]}_optimizer"], self.scalers[f"{name[0]}_scaler"]

    def modules(self) -> list[tuple[str, nn.Module]]:
        """(checkpoint key, module) of every network a checkpoint holds, the EMA included."""
        return [*self.networks.items(), *([("ema", self.ema)] if self.ema is not None else [])]

    def state_dict(self) -> dict:
        """Call on every rank (it gathers the per-rank states); only rank 0 needs the result."""
        self.refresh_ema_statistics()
        ranks = distributed.all_gather_objects(self._rank_state())
        if len({r["weights_sha256"] for r in ranks}) > 1:
            log.error(f"Step {self.step}: the ranks' weights differ ({[r['weights_sha256'][:12] for r in ranks]}); "
                      f"the process group is out of step. Rank 0's weights are saved.")
        return {
            "step": self.step,
            **{key: network.state_dict() for key, network in self.networks.items()},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            **{key: optimizer.state_dict() for key, optimizer in self.optimizers.items()},
            **{key: scaler.state_dict() for key, scaler in self.scalers.items()},
            "latents": self.latents.state_dict() if self.latents is not None else None,
            "ranks": ranks,
            "world_size": distributed.world_size(),
            **{key: part.state_dict() for key, part in self.extras.items()},
        }

    def load_state_dict(self, checkpoint: dict, source="the checkpoint") -> None:
        """Put every piece of training state back from a checkpoint (`source` names it in errors)."""
        require_keys(checkpoint, [*self.networks, *self.optimizers, "ranks", "step"]
                     + (["latents"] if self.latents is not None else []), source)
        for key, network in self.networks.items():
            load_weights(network, checkpoint[key], key, source)
        if self.ema is not None and checkpoint.get("ema") is not None:
            load_weights(self.ema, checkpoint["ema"], "ema", source)
        for key, optimizer in self.optimizers.items():
            # The moments come from the checkpoint; the learning rates from this run's config.
            configured = [group["lr"] for group in optimizer.param_groups]
            load_weights(optimizer, checkpoint[key], key, source)
            for group, lr in zip(optimizer.param_groups, configured):
                group["lr"] = lr
        for key, scaler in self.scalers.items():
            if checkpoint.get(key) and scaler.is_enabled():
                with damaged_part(key, source):
                    scaler.load_state_dict(checkpoint[key])
        if self.latents is not None:
            with damaged_part("latents", source):
                self.latents.load_state_dict(checkpoint["latents"])
        for key, part in self.extras.items():
            with damaged_part(key, source):
                part.load_state_dict(checkpoint.get(key))
        with damaged_part("ranks", source):
            self._load_rank_state(checkpoint["ranks"])
        self.step = int(checkpoint["step"])

    def _rank_state(self) -> dict:
        return {
            "weights_sha256": weights_digest(*self.networks.values()),
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state() if torch.cuda.is_available() and torch.cuda.is_initialized() else None,
            "data": self.batches.state_dict(),
        }

    def _load_rank_state(self, ranks: list[dict]) -> None:
        world_size = distributed.world_size()
        if len(ranks) != world_size:
            log.warning(f"The checkpoint was written by {len(ranks)} process(es) and this run has "
                        f"{world_size}: weights and optimizers resume exactly, the data order does not.")
        state = ranks[distributed.rank() % len(ranks)]
        torch.set_rng_state(state["torch"])
        if state["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state(state["cuda"])
        if len(ranks) == world_size:
            self.batches.load_state_dict(state["data"])


@contextlib.contextmanager
def damaged_part(key: str, source):
    """A part of a checkpoint that does not have the shape gan-train writes is named, not a traceback."""
    try:
        yield
    except UserError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, RuntimeError) as error:
        raise UserError(f"{source}: its '{key}' is damaged or was not written by gan-train ({type(error).__name__}: "
                        f"{str(error).splitlines()[0] if str(error) else ''}). Use another checkpoint of the run "
                        f"(checkpoints/step_*.pt).") from None


def weights_digest(*modules) -> str:
    """A hash of the parameters' bytes: equal on every rank unless DDP let them drift apart.

    (Batch-norm running statistics are left out: each rank updates them from its own batch and
    DDP re-broadcasts rank 0's at every forward, so they differ between ranks by design.)"""
    digest = hashlib.sha256()
    for module in modules:
        for tensor in module.parameters():
            digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
