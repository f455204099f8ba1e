"""The real-time factor of the vocoders' generators on the CPU (untrained weights: the speed does not
depend on them): seconds of synthesis per second of 22,050 Hz audio, with torch's threads as set.

    OMP_NUM_THREADS=1 python scripts/bench_vocoders.py [--seconds 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import torch

from gan_cli.models.hifigan import HiFiGANGenerator
from gan_cli.models.melgan import MelGANGenerator

SAMPLE_RATE, HOP = 22050, 256


def real_time_factor(generator: torch.nn.Module, seconds: float, repeats: int) -> float:
    mel = torch.randn(1, 80, int(seconds * SAMPLE_RATE) // HOP)
    generator.eval().requires_grad_(False)
    with torch.no_grad():
        generator(mel[..., :8])  # warm-up
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            audio = generator(mel)
            best = min(best, time.perf_counter() - started)
    return best / (audio.shape[-1] / SAMPLE_RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="audio synthesised per timing")
    parser.add_argument("--repeats", type=int, default=3, help="timings; the fastest is reported")
    args = parser.parse_args()
    generators = {f"HiFi-GAN {v}": (lambda v=v: HiFiGANGenerator(v)) for v in ("V1", "V2", "V3")}
    generators["MelGAN (ngf 32)"] = MelGANGenerator
    generators["HiFi-GAN default (V2, 32 ch)"] = lambda: HiFiGANGenerator("V2", upsample_initial_channel=32)
    generators["MelGAN default (ngf 8)"] = lambda: MelGANGenerator(ngf=8)
    print(f"CPU, {torch.get_num_threads()} thread(s), {args.seconds:g} s of audio, best of {args.repeats}")
    for name, make in generators.items():
        generator = make()
        weights = sum(p.numel() for p in generator.parameters())
        print(f"  {name:30s} {weights / 1e6:6.2f} M trainable weights  RTF {real_time_factor(generator, args.seconds, args.repeats):.3f}")


if __name__ == "__main__":
    main()
