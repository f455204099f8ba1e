"""The ranges numbers must fit, and the sizes past which a network has diverged.

A setting is checked against what it becomes (a float32 or float16 tensor value, an int64 size or
count, a torch seed, a timeout) before any work, so that a value Python holds but torch cannot
(1e39, 2**70) is named in one paragraph instead of failing deep inside a step:

    check_number_range(1e39, "optim.lr")          # float32: UserError naming the key and the range
    check_number_range(2**70, "seed", "seed")     # a torch seed: 0 .. 2**63 - 1
    check_number_range(7e4, "scale", "float16")   # a factor of float16 activations

No torch here: the commands' option checks import this before torch is loaded.
"""

from __future__ import annotations

import math

from gan_cli.errors import UserError

INT64_MAX = 2**63 - 1

# dtype: (lowest, highest, what it is, how the range is written). The float limits are
# torch.finfo(dtype).max; a seed leaves room below torch.manual_seed's 2**64 - 1 for the offsets
# added per rank and per stream (seed + rank, seed + 7919).
RANGES = {
    "float32": (-3.4028234663852886e38, 3.4028234663852886e38,
                "a float32 (the precision weights, learning rates and losses are computed in)", "±3.4028235e+38"),
    "bfloat16": (-3.3895313892515355e38, 3.3895313892515355e38,
                 "a bfloat16 (what bf16 activations are)", "±3.3895314e+38"),
    "float16": (-65504.0, 65504.0, "a float16 (what fp16 activations are)", "±65504"),
    "int64": (-(2**63), INT64_MAX, "a 64-bit integer (what tensor sizes, steps and counts are)",
              f"-2**63 to 2**63 - 1 = {INT64_MAX}"),
    "seed": (0, INT64_MAX, "a seed (torch.manual_seed, with room for the per-rank offsets)",
             f"0 to 2**63 - 1 = {INT64_MAX}"),
    # datetime.timedelta holds at most 999,999,999 days.
    "seconds": (0, 999_999_999 * 86_400, "a timeout (a datetime.timedelta)",
                "0 to 8.64e+13 seconds (999,999,999 days)"),
}
FLOAT_DTYPES = ("float32", "bfloat16", "float16")

# Past these a network has diverged: no healthy run comes near them (initialisations hold values
# below 5, StyleGAN2's equalized-lr mapping weights below ~500, batch-norm statistics a few units),
# while one update with an absurd learning rate lands far beyond, and the next steps overflow.
DIVERGED_VALUE = 1e8
# fp16 autocast casts the weights to float16 (largest 65504) in every convolution and matmul, so a
# weight of 1e5, finite in the float32 master copy, is already infinite in the forward pass.
DIVERGED_FP16_WEIGHT = 1e4
# |loss| past this: squared or raw critic scores of 1e5 and more, where healthy runs score ~1e2.
DIVERGED_LOSS = 1e10


def diverged_weight_bound(precision: str = "32") -> float:
    """The largest |parameter| a healthy network has under trainer.precision (32, bf16, fp16)."""
    return DIVERGED_FP16_WEIGHT if str(precision) == "fp16" else DIVERGED_VALUE


def check_number_range(value, key: str, dtype: str = "float32") -> None:
    """A UserError naming `key` when `value` does not fit `dtype` (a key of RANGES).

    Non-numbers and bools pass (their type is checked where the value is read). Every int must also
    fit int64, whatever it feeds: torch turns Python ints into int64 tensors or C longs.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise UserError(f"{key}={value} is not a finite number (a value such as 1e999 overflows a float); "
                        f"give a number in range.")
    if isinstance(value, int) and dtype in FLOAT_DTYPES:
        check_number_range(value, key, "int64")
    low, high, what, written = RANGES[dtype]
    if not low <= value <= high:
        shown = f"{value:.8g}" if isinstance(value, float) else str(value)
        raise UserError(f"{key}={shown} is out of range: it is used as {what}, which holds {written}. "
                        f"Give a value in that range.")
