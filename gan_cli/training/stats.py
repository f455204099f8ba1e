"""Training statistics kept on the device and reduced once per logging interval.

`add` only queues a detached tensor (no host sync); `flush` stacks everything, averages over ranks
in one all-reduce and returns plain floats.
"""

from __future__ import annotations

from collections import defaultdict

import torch

from gan_cli import distributed


class RunningStats:
    def __init__(self):
        self._values: dict[str, list[torch.Tensor]] = defaultdict(list)

    def add(self, name: str, value: torch.Tensor) -> None:
        self._values[name].append(value.detach().float().mean())

    def flush(self) -> dict[str, float]:
        if not self._values:
            return {}
        names = sorted(self._values)
        means = torch.stack([torch.stack(self._values[n]).mean() for n in names])
        means = distributed.all_reduce_mean(means).tolist()
        self._values.clear()
        return dict(zip(names, means))
