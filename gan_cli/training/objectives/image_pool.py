"""The image pool of Shrivastava et al. 2017, as CycleGAN uses it: D is shown a mix of the newest
generated images and ones from earlier steps, which damps the oscillation between G and D.

Each new image enters the pool while it is not full; after that, with probability 1/2 it replaces a
random stored image and that older one is shown instead. The pool's images and its random stream
are part of the checkpoint, so a resumed run shows D the same images as an uninterrupted one.
"""

from __future__ import annotations

import torch

from gan_cli.seeds import derived_seed


class ImagePool:
    def __init__(self, size: int, seed: int, name: str, rank: int = 0):
        self.size = int(size)
        self.images: torch.Tensor | None = None   # (stored, C, H, W), detached, on the training device
        self.count = 0
        self.generator = torch.Generator().manual_seed(derived_seed("image_pool", name, seed, rank))

    def query(self, images: torch.Tensor) -> torch.Tensor:
        """The batch D sees for these newly generated images (same shape)."""
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is not None and self.images.device != images.device:
            self.images = self.images.to(images.device)  # restored from a checkpoint on the CPU
        if self.images is None:
            self.images = torch.empty((self.size, *images.shape[1:]), dtype=images.dtype, device=images.device)
        shown = []
        for image in images:
            if self.count < self.size:
                self.images[self.count] = image
                self.count += 1
                shown.append(image)
            elif torch.rand((), generator=self.generator).item() < 0.5:
                slot = int(torch.randint(self.size, (), generator=self.generator))
                shown.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                shown.append(image)
        return torch.stack(shown)

    def state_dict(self) -> dict:
        images = self.images[: self.count].cpu() if self.images is not None else None
        return {"count": self.count, "images": images, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict | None) -> None:
        if not state:
            return
        self.count = int(state["count"])
        self.generator.set_state(state["generator"].cpu())
        stored = state.get("images")
        if stored is not None and self.count:
            self.images = torch.empty((self.size, *stored.shape[1:]), dtype=stored.dtype)
            self.images[: self.count] = stored
        else:
            self.images = None
