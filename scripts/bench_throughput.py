"""Training throughput of gan-cli against a minimal hand-written PyTorch loop, side by side.

    python scripts/bench_throughput.py                 # CPU: framework overhead, 1 -> 2 processes
    python scripts/bench_throughput.py --quick         # fewer steps, for a smoke run
    python scripts/bench_throughput.py --gpu           # also fp32 vs bf16 vs bf16+channels-last+compile

Both loops train the same networks (built from the same config), on the same in-memory data,
with the same loss, batch size and optimizer. Each is built once, then blocks of a few steps take
turns between them (12 blocks of 5 steps each by default), so that the drift of a shared machine's
speed hits both alike. The figure that counts is the ratio of the medians, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_module
from hydra.utils import instantiate
from omegaconf import open_dict

from gan_cli.distributed.spawn import launch_processes
from gan_cli.runs.paths import RunPaths
from gan_cli.training.build import build_objective, build_state
from gan_cli.training.execution import Execution
from gan_cli.training.hooks import run_hooks
from gan_cli.training.loop import training_loop
from gan_cli.training.run import train
from gan_cli.training.run_log import RunLog
from gan_cli.training.schedules import LearningRateSchedule, lr_factor
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import describe_run

# --small: networks and batches small enough for a smoke run of the script on a CPU.
SMALL = ["data.batch_size=8", "model.generator.base_width=8", "model.discriminator.base_width=8"]
CASES = {
    "dcgan_32": ["model=dcgan", "data.resolution=32"],
    "dcgan_64": ["model=dcgan", "data.resolution=64"],
    "wgan_gp_32": ["model=wgan_gp", "data.resolution=32"],
    "stylegan2_16": ["model=stylegan2"],      # the preset: R1 every 16 steps folded into D's update, EMA
    "cyclegan_16": ["model=cyclegan", "data=digits_printed"],  # the preset: two G, two D, cycle and identity terms, image pools
}


def compose_cfg(overrides):
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        default = [] if any(o.startswith("data=") for o in overrides) else ["data=digits"]
        return compose(config_name="train", overrides=[*default, *overrides])


def gan_cli_runner(cfg, device):
    """gan-cli's own training loop (phases, statistics, finiteness guard, stop flag, hooks, learning-
    rate schedule) on one built state: run(n) trains n more steps. Logging, sampling and checkpoint
    intervals lie beyond the run."""
    torch.manual_seed(0)
    cfg = cfg.copy()
    with open_dict(cfg):
        cfg.trainer.log_every = cfg.trainer.sample_every = 10**9
        cfg.trainer.save_checkpoints = False
        cfg.trainer.num_fixed_samples = 4
    run = describe_run(cfg)
    execution = Execution.from_settings(run.trainer, device, run.data.shape)
    state = build_state(run, execution)
    stats = RunningStats()
    objective = build_objective(run, state, execution, stats)
    schedule = LearningRateSchedule(lr_factor(cfg.optim, 10**9), state.optimizers.values())
    folder = Path(tempfile.mkdtemp())
    hooks = run_hooks(run, state, objective.images_per_step, stats, RunLog(folder, enabled=False), folder, None, device)
    for hook in hooks.hooks:
        hook.at_end = False  # no log line or grid at the end of each block

    def run(n: int) -> None:
        training_loop(state, objective, hooks.hooks, state.step + n, hooks.guard, before_step=schedule)
        stats.flush()  # one reduction per block, as one per log interval in a run

    return run


def plain_runner(cfg, device):
    """The loop a user would write by hand for the same GAN: run(n) trains n more steps."""
    if cfg.model.name == "stylegan2":
        return plain_stylegan2_runner(cfg, device)
    if cfg.model.name == "cyclegan":
        return plain_cyclegan_runner(cfg, device)
    return plain_dcgan_runner(cfg, device)


def plain_parts(cfg, device):
    """G, D, their optimizers and the in-memory images, built from the config as a user would."""
    torch.manual_seed(0)
    generator = instantiate(cfg.model.generator).to(device)
    discriminator = instantiate(cfg.model.discriminator).to(device)
    g_opt = instantiate(cfg.optim.generator)(generator.parameters())
    d_opt = instantiate(cfg.optim.discriminator)(discriminator.parameters())
    return generator, discriminator, g_opt, d_opt, instantiate(cfg.data.dataset)[0].to(device)


def plain_ema(cfg, generator):
    """A hand-written EMA of G's weights (when the preset keeps one): update() after each step."""
    if not cfg.model.ema_decay:
        return lambda: None
    ema = [p.detach().clone() for p in generator.parameters()]

    def update():
        with torch.no_grad():
            torch._foreach_lerp_(ema, [p.detach() for p in generator.parameters()], 1 - cfg.model.ema_decay)
    return update


def plain_stylegan2_runner(cfg, device):
    """StyleGAN2 by hand: logistic loss, R1 every r1_interval steps in D's update (gamma/2 x interval), EMA."""
    generator, discriminator, g_opt, d_opt, images = plain_parts(cfg, device)
    batch, latent_dim = cfg.data.batch_size, cfg.model.latent_dim
    gamma, interval = float(cfg.regularizers.r1), int(cfg.regularizers.r1_interval)
    ema, counter = plain_ema(cfg, generator), [0]

    def step():
        real = images[torch.randint(len(images), (batch,), device=device)]
        with torch.no_grad():
            fake = generator(torch.randn(batch, latent_dim, device=device))
        d_loss = F.softplus(discriminator(fake)).mean() + F.softplus(-discriminator(real)).mean()
        if counter[0] % interval == 0:
            real = real.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(discriminator(real).sum(), real, create_graph=True)
            d_loss = d_loss + grad.square().sum([1, 2, 3]).mean() * (gamma / 2) * interval
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        discriminator.requires_grad_(False)
        g_loss = F.softplus(-discriminator(generator(torch.randn(batch, latent_dim, device=device)))).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        discriminator.requires_grad_(True)
        ema()
        counter[0] += 1

    return lambda n: [step() for _ in range(n)] and None


def plain_cyclegan_runner(cfg, device):
    """CycleGAN by hand: least squares, cycle x 10, identity x 5, D's halved, 50/50 image pools."""
    torch.manual_seed(0)
    nets = {key: instantiate(cfg.model[key]).to(device)
            for key in ("generator", "generator_ba", "discriminator", "discriminator_a")}
    g_ab, g_ba, d_b, d_a = nets["generator"], nets["generator_ba"], nets["discriminator"], nets["discriminator_a"]
    g_opt = instantiate(cfg.optim.generator)([*g_ab.parameters(), *g_ba.parameters()])
    d_opt = instantiate(cfg.optim.discriminator)([*d_b.parameters(), *d_a.parameters()])
    dataset = instantiate(cfg.data.dataset)
    items = [dataset[i] for i in range(min(len(dataset), 512))]
    domain_a = torch.stack([a for a, _ in items]).to(device)
    domain_b = torch.stack([b for _, b in items]).to(device)
    batch, cycle, identity = cfg.data.batch_size, float(cfg.model.cycle_weight), float(cfg.model.identity_weight)
    pools = {"a": [], "b": []}

    def query(name, images):
        pool, out = pools[name], []
        for image in images.detach():
            if len(pool) < int(cfg.model.pool_size):
                pool.append(image)
                out.append(image)
            elif torch.rand(()) < 0.5:
                index = int(torch.randint(len(pool), ()))
                out.append(pool[index])
                pool[index] = image
            else:
                out.append(image)
        return torch.stack(out)

    def step():
        a = domain_a[torch.randint(len(domain_a), (batch,), device=device)]
        b = domain_b[torch.randint(len(domain_b), (batch,), device=device)]
        d_b.requires_grad_(False)
        d_a.requires_grad_(False)
        fake_b, fake_a = g_ab(a), g_ba(b)
        out_b, out_a = d_b(fake_b), d_a(fake_a)
        g_loss = F.mse_loss(out_b, torch.ones_like(out_b)) + F.mse_loss(out_a, torch.ones_like(out_a))
        g_loss = g_loss + cycle * ((g_ba(fake_b) - a).abs().mean() + (g_ab(fake_a) - b).abs().mean())
        if identity:
            g_loss = g_loss + identity * cycle * ((g_ab(b) - b).abs().mean() + (g_ba(a) - a).abs().mean())
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        d_b.requires_grad_(True)
        d_a.requires_grad_(True)
        d_loss = 0
        for d, real, fake in ((d_b, b, query("b", fake_b)), (d_a, a, query("a", fake_a))):
            real_out, fake_out = d(real), d(fake)
            d_loss = d_loss + 0.5 * (F.mse_loss(real_out, torch.ones_like(real_out))
                                     + F.mse_loss(fake_out, torch.zeros_like(fake_out)))
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()

    return lambda n: [step() for _ in range(n)] and None


def plain_dcgan_runner(cfg, device):
    """DCGAN / WGAN-GP by hand: D n_critic times (gradient penalty when configured), then G; EMA."""
    generator, discriminator, g_opt, d_opt, images = plain_parts(cfg, device)
    batch, latent_dim, n_critic = cfg.data.batch_size, cfg.model.latent_dim, cfg.trainer.n_critic
    gp_weight = cfg.regularizers.gradient_penalty
    wasserstein = cfg.loss._target_.endswith("WassersteinLoss")
    ema = plain_ema(cfg, generator)

    def step():
        for _ in range(n_critic):
            real = images[torch.randint(len(images), (batch,), device=device)]
            with torch.no_grad():
                fake = generator(torch.randn(batch, latent_dim, device=device))
            real_out, fake_out = discriminator(real), discriminator(fake)
            if wasserstein:
                d_loss = fake_out.mean() - real_out.mean()
            else:
                d_loss = F.softplus(-real_out).mean() + F.softplus(fake_out).mean()
            if gp_weight:
                eps = torch.rand(batch, 1, 1, 1, device=device)
                mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
                (grad,) = torch.autograd.grad(discriminator(mixed).sum(), mixed, create_graph=True)
                d_loss = d_loss + gp_weight * (grad.flatten(1).norm(dim=1) - 1).square().mean()
            d_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            d_opt.step()
        discriminator.requires_grad_(False)
        fake_out = discriminator(generator(torch.randn(batch, latent_dim, device=device)))
        g_loss = -fake_out.mean() if wasserstein else F.softplus(-fake_out).mean()
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
        discriminator.requires_grad_(True)
        ema()

    def run(n: int) -> None:
        for _ in range(n):
            step()

    return run


def timed(run, device, steps: int) -> float:
    _sync(device)
    started = time.perf_counter()
    run(steps)
    _sync(device)
    return time.perf_counter() - started


def time_gan_cli(cfg, device, steps: int, warmup: int) -> float:
    """images/s of gan-cli's loop after `warmup` steps."""
    run = gan_cli_runner(cfg, device)
    run(warmup)
    return steps * cfg.data.batch_size * cfg.trainer.n_critic / timed(run, device, steps)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def overhead_table(device, steps, warmup, rounds, cases=tuple(CASES), extra=()):
    """Both loops built once per case, then blocks of `steps` steps taking turns, `rounds` blocks each
    (who goes first swaps every pair): both see the same drift of the machine's speed."""
    rows = []
    for name in cases:
        cfg = compose_cfg([*CASES[name], f"trainer.device={device.type}", *extra])
        runners = {"gan-cli": gan_cli_runner(cfg, device), "plain": plain_runner(cfg, device)}
        for run in runners.values():
            run(warmup)
        seconds = {key: [] for key in runners}
        for round_index in range(rounds):
            order = list(runners) if round_index % 2 == 0 else list(runners)[::-1]
            for key in order:
                seconds[key].append(timed(runners[key], device, steps))
        images = steps * cfg.data.batch_size * cfg.trainer.n_critic
        rates = {key: [images / s for s in values] for key, values in seconds.items()}
        print(f"{name:12s} blocks of {steps} steps: gan-cli {[round(x, 1) for x in rates['gan-cli']]}, "
              f"plain {[round(x, 1) for x in rates['plain']]}", flush=True)
        ours_m, plain_m = statistics.median(rates["gan-cli"]), statistics.median(rates["plain"])
        rows.append({"case": name, "gan_cli_img_s": ours_m, "plain_img_s": plain_m, "ratio": ours_m / plain_m})
        print(f"{name:12s} gan-cli {ours_m:9.1f} img/s | plain loop {plain_m:9.1f} img/s | ratio {ours_m / plain_m:.3f}",
              flush=True)
    return rows


def scaling_table(steps):
    """Global images/s of the same DCGAN 32x32 run in 1 and 2 CPU processes (gloo), same per-process batch.

    The launcher gives each of N processes cpu_count/N threads, so on a small machine two processes
    share the cores that one process used alone. The row that isolates DDP's cost is therefore
    1 process on 1 thread against 2 processes on 1 thread each (one core per process, as one GPU
    per process would be).
    """
    rows = []
    threads = torch.get_num_threads()
    settings = [  # (processes, threads of the single process, label)
        (1, threads, f"1 process, {threads} thread(s)"),
        (1, 1, "1 process, 1 thread"),
        (2, None, f"2 processes, {max(1, (os.cpu_count() or 1) // 2)} thread(s) each"),
    ]
    for devices, main_threads, label in settings:
        cfg = compose_cfg(["model=dcgan", "trainer.device=cpu", f"trainer.steps={steps}",
                           f"trainer.log_every={steps // 2}", f"trainer.sample_every={10**9}",
                           "trainer.save_checkpoints=false", "trainer.num_fixed_samples=4"])
        torch.set_num_threads(main_threads or threads)
        with tempfile.TemporaryDirectory() as folder:
            if devices == 1:
                final = train(cfg, run_dir=folder)
            else:
                final = launch_processes(train, cfg, Path(folder), devices, log_file=RunPaths(folder).train_log)
        torch.set_num_threads(threads)
        rate = final["speed/images_per_sec"]  # the second half of the run: warm
        rows.append({"setting": label, "processes": devices, "img_s": rate})
        print(f"{label:28s} {rate:9.1f} img/s (global batch {64 * devices})", flush=True)
    print(f"1 -> 2 processes, one thread each: x{rows[2]['img_s'] / rows[1]['img_s']:.2f}; "
          f"2 processes against 1 process on all {threads} threads: x{rows[2]['img_s'] / rows[0]['img_s']:.2f}")
    return rows


PRECISION_CASES = {
    "DCGAN 64x64 batch 256": ["model=dcgan", "data.resolution=64", "data.batch_size=256"],
    "WGAN-GP 64x64 batch 64": ["model=wgan_gp", "data.resolution=64", "data.batch_size=64"],
}
PRECISION_SETTINGS = {
    "fp32": ["trainer.precision=32", "trainer.channels_last=false"],
    "bf16": ["trainer.precision=bf16", "trainer.channels_last=false"],
    "bf16+channels_last+compile": ["trainer.precision=bf16", "trainer.channels_last=true", "trainer.compile=true"],
}


def precision_table(device, steps, warmup, extra=()):
    """gan-cli's img/s with each precision setting, for the cases of PRECISION_CASES."""
    rows = []
    for case, overrides in PRECISION_CASES.items():
        for name, settings in PRECISION_SETTINGS.items():
            cfg = compose_cfg([*overrides, f"trainer.device={device.type}", *settings, *extra])
            rate = time_gan_cli(cfg, device, steps, warmup)
            rows.append({"case": case, "setting": name, "img_s": rate})
            print(f"{case:24s} {name:28s} {rate:10.1f} img/s", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5, help="steps per timed block")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=12, help="timed blocks per loop")
    parser.add_argument("--quick", action="store_true", help="few steps and two blocks (a smoke run)")
    parser.add_argument("--device", default="cpu", help="where the overhead table runs: cpu or cuda")
    parser.add_argument("--gpu", action="store_true", help="the overhead table on cuda, and the precision table")
    parser.add_argument("--precisions", action="store_true", help="the fp32 / bf16 / compile table on --device")
    parser.add_argument("--small", action="store_true", help="tiny networks and batches (a CPU smoke run)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"overhead cases, comma-separated ({', '.join(CASES)})")
    parser.add_argument("--no-scaling", action="store_true", help="skip the 1 -> 2 processes table")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup, args.rounds = 2, 1, 2
    if args.gpu:
        args.device, args.precisions = "cuda", True
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda / --gpu: torch sees no CUDA device")
    device = torch.device(args.device)
    extra = SMALL if args.small else []

    machine = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    if device.type == "cuda":
        machine += f", {torch.cuda.get_device_name()}"
    print(f"Machine: {machine}\n== Framework overhead ({device.type}, same models/loss/batch/optimizer) ==")
    results = {"machine": machine, "overhead": overhead_table(device, args.steps, args.warmup, args.rounds,
                                                                 cases=args.cases.split(","), extra=extra)}
    if not args.no_scaling:
        print("== 1 -> 2 processes (CPU, gloo) ==")
        results["scaling"] = scaling_table(60)
    if args.precisions:
        print(f"== Precision and compile ({device.type}) ==")
        results["precisions"] = precision_table(device, args.steps * 10, args.warmup * 4, extra=extra)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
