"""What a run shows its user: TensorBoard scalars and images, sample files, and log lines.

Only rank 0 writes; on other ranks every method does nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch

from gan_cli.inference import images
from gan_cli.runs.paths import RunPaths

log = logging.getLogger("gan_cli")


class RunLog:
    def __init__(self, run_dir: Path, enabled: bool = True):
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self.writer = None
        self.captions_written = False
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.writer = SummaryWriter(log_dir=str(self.run_dir))

    def scalars(self, values: dict[str, float], step: int) -> None:
        if self.writer:
            for tag, value in values.items():
                self.writer.add_scalar(tag, value, step)

    def samples(self, fake: torch.Tensor, step: int, real: torch.Tensor | None = None, rows: int | None = None) -> None:
        """An image grid (or, for 2-D points, a scatter plot over the real data) to TensorBoard and a PNG."""
        if not self.writer:
            return
        path = RunPaths(self.run_dir).sample_grid(step)
        path.parent.mkdir(parents=True, exist_ok=True)
        if fake.ndim == 2:
            figure = images.scatter_figure(fake, real, title=f"step {step}")
            figure.savefig(path)
            self.writer.add_figure("samples/fixed_noise", figure, step)  # closes the figure
        else:
            # A conditional model's grid has one row per class.
            grid = images.grid_image(fake, nrow=fake.shape[0] // rows if rows else None)
            grid.save(path)
            self.writer.add_image("samples/fixed_noise", np.asarray(grid.convert("RGB")), step, dataformats="HWC")

    def captioned(self, fake: torch.Tensor, captions: list[str], step: int) -> None:
        """A text-to-image grid: a row of draws per caption, the caption written under it (PNG, TensorBoard)."""
        if not self.writer:
            return
        path = RunPaths(self.run_dir).sample_grid(step)
        path.parent.mkdir(parents=True, exist_ok=True)
        sheet = images.captioned_rows(fake, captions, fake.shape[0] // len(captions))
        sheet.save(path)
        self.writer.add_image("samples/captions", np.asarray(sheet), step, dataformats="HWC")
        if not self.captions_written:  # the captions once, as text (the rows are numbered in that order)
            self.writer.add_text("samples/captions", "\n\n".join(f"{i + 1}. {c}" for i, c in enumerate(captions)), step)
            self.captions_written = True

    def comparison(self, rows: torch.Tensor, step: int, direction: str = "AtoB") -> None:
        """An image-to-image model's grid (three images per row) to TensorBoard and a PNG."""
        if not self.writer:
            return
        path = RunPaths(self.run_dir).sample_grid(step, direction)
        path.parent.mkdir(parents=True, exist_ok=True)
        grid = images.grid_image(rows, nrow=3)
        grid.save(path)
        self.writer.add_image(f"samples/{direction}", np.asarray(grid.convert("RGB")), step, dataformats="HWC")

    def audio(self, clips: torch.Tensor, step: int, sample_rate: int, listened: int = 4) -> None:
        """An audio model's clips: the first `listened` to TensorBoard's audio tab, every clip's spectrogram
        as one grid image, and the step's files (a WAV of the clips one after another, its spectrogram PNG)."""
        if not self.writer:
            return
        from gan_cli.inference.audio_output import save_clips, spectrogram_images

        for index, clip in enumerate(clips[:listened]):
            self.writer.add_audio(f"samples/clip_{index}", clip.float().cpu().reshape(1, -1).clamp(-1, 1), step,
                                  sample_rate=int(sample_rate))
        grid = images.grid_image(spectrogram_images(clips), nrow=min(4, len(clips)))
        self.writer.add_image("samples/spectrograms", np.asarray(grid.convert("RGB")), step, dataformats="HWC")
        save_clips(clips, sample_rate, RunPaths(self.run_dir).sample_grid(step))

    def vocoded(self, real: torch.Tensor, vocoded: torch.Tensor, step: int, sample_rate: int, listened: int = 4) -> None:
        """Held-out clips and their re-synthesis: the first `listened` pairs to TensorBoard's audio tab
        (heldout/real_i, heldout/vocoded_i), their spectrograms as one grid (a row per clip: real | vocoded),
        and the step's files (a WAV of each real clip then its re-synthesis, their spectrogram PNG)."""
        if not self.writer:
            return
        from gan_cli.inference.audio_output import spectrogram_images
        from gan_cli.inference.copy_synthesis import comparison_files, interleaved

        for index, (clip, output) in enumerate(zip(real[:listened], vocoded[:listened])):
            for name, audio in (("real", clip), ("vocoded", output)):
                self.writer.add_audio(f"heldout/{name}_{index}", audio.float().cpu().reshape(1, -1).clamp(-1, 1), step,
                                      sample_rate=int(sample_rate))
        grid = images.grid_image(spectrogram_images(interleaved(real, vocoded)), nrow=2)
        self.writer.add_image("samples/spectrograms", np.asarray(grid.convert("RGB")), step, dataformats="HWC")
        comparison_files(real, vocoded, sample_rate, RunPaths(self.run_dir).sample_grid(step))

    def info(self, message: str) -> None:
        if self.enabled:
            log.info(message)

    def close(self) -> None:
        if self.writer:
            self.writer.flush()
            self.writer.close()
