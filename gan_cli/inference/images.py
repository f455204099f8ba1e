"""Pictures of samples: image grids, single images, GIFs and 2-D scatter plots, for files and TensorBoard."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

# matplotlib is imported by the scatter functions only: image grids start faster without it.


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Map images from [-1, 1] to uint8 [0, 255]."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def tile(images: torch.Tensor, nrow: int, padding: int = 2, pad_value: int = 255) -> torch.Tensor:
    """N uint8 images (N, C, H, W) as one (C, H', W') grid, nrow per row, `padding` white pixels
    around each (torchvision's make_grid layout; a single image comes back as it is)."""
    count, channels, height, width = images.shape
    if count == 1:
        return images[0]
    columns = min(nrow, count)
    rows = math.ceil(count / columns)
    cell_h, cell_w = height + padding, width + padding
    grid = torch.full((channels, rows * cell_h + padding, columns * cell_w + padding), pad_value, dtype=images.dtype)
    for index, image in enumerate(images):
        top, left = (index // columns) * cell_h + padding, (index % columns) * cell_w + padding
        grid[:, top:top + height, left:left + width] = image
    return grid


def grid_image(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """Tile N images in [-1, 1] into one PIL image, nrow per row (a square grid by default)."""
    nrow = nrow or math.ceil(math.sqrt(images.shape[0]))
    array = tile(to_uint8(images.cpu()), nrow, padding).permute(1, 2, 0).numpy()
    return Image.fromarray(array[:, :, 0] if images.shape[1] == 1 else array)


def captioned_rows(images: torch.Tensor, captions: list[str], per_row: int, scale: int | None = None) -> Image.Image:
    """A row of `per_row` images per caption, the caption written (wrapped) on white under its row;
    small images are enlarged (nearest) so that the text stays readable beside them."""
    import textwrap

    from PIL import ImageDraw, ImageFont

    scale = scale or max(1, 64 // images.shape[-1])
    if scale > 1:
        images = images.repeat_interleave(scale, dim=-1).repeat_interleave(scale, dim=-2)
    rows = [grid_image(images[i * per_row:(i + 1) * per_row], nrow=per_row).convert("RGB")
            for i in range(len(captions))]
    width = max(row.width for row in rows)
    font = ImageFont.load_default()
    characters = max(20, width // 7)
    bands = [textwrap.wrap(caption, characters)[:3] or [""] for caption in captions]
    height = sum(row.height + 12 * len(lines) + 4 for row, lines in zip(rows, bands))
    sheet = Image.new("RGB", (width, height), "white")
    draw, top = ImageDraw.Draw(sheet), 0
    for row, lines in zip(rows, bands):
        sheet.paste(row, (0, top))
        top += row.height
        for line in lines:
            draw.text((4, top), line, fill="black", font=font)
            top += 12
        top += 4
    return sheet


def save_grid(images: torch.Tensor, path, nrow: int | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(images, nrow).save(path)
    return path


def save_images(images: torch.Tensor, folder, prefix: str = "") -> list[Path]:
    """Write each image as its own PNG."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(to_uint8(images.cpu())):
        array = image.permute(1, 2, 0).numpy()
        path = folder / f"{prefix}{i:05d}.png"
        Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(path)
        paths.append(path)
    return paths


def scatter_figure(fake: torch.Tensor, real: torch.Tensor | None = None, title: str = ""):
    """A matplotlib figure of generated 2-D points over real ones."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(5, 5), dpi=100)
    if real is not None:
        r = real.detach().cpu().numpy()
        axes.scatter(r[:, 0], r[:, 1], s=4, c="tab:blue", alpha=0.4, label="real")
    f = fake.detach().float().cpu().numpy()
    axes.scatter(f[:, 0], f[:, 1], s=4, c="tab:orange", alpha=0.6, label="generated")
    axes.set_aspect("equal")
    axes.legend(loc="upper right")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def save_scatter(fake: torch.Tensor, path, real: torch.Tensor | None = None, title: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure = scatter_figure(fake, real, title)
    figure.savefig(path)
    _pyplot().close(figure)
    return path


@dataclass(frozen=True)
class GifSettings:
    """How a walk's GIF is drawn (gan-interp's frames, fps and gif_size)."""

    frames: int = 24   # frames per leg of a walk (per picture held, for a sequence of pictures)
    fps: int = 24
    size: int = 128    # smallest side of a frame, in pixels (pictures are scaled up, nearest)


def save_gif(images: torch.Tensor, path, fps: int, size: int, hold: int = 1) -> Path:
    """A looping GIF of the images (N, C, H, W) in [-1, 1] in order, each enlarged (nearest neighbour)
    so that its smaller side has at least `size` pixels, and shown for `hold` frames of 1/fps s."""
    return _write_gif(to_uint8(images.cpu()), path, fps, size, hold)


def save_grid_gif(grids: list[torch.Tensor], nrow: int, path, fps: int, size: int, hold: int = 1) -> Path:
    """A looping GIF whose frames are grids: each a batch of images in [-1, 1], tiled nrow per row as
    save_grid tiles them."""
    return _write_gif(torch.stack([tile(to_uint8(grid.cpu()), nrow) for grid in grids]), path, fps, size, hold)


def _write_gif(frames: torch.Tensor, path, fps: int, size: int, hold: int) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scale = max(1, -(-size // min(frames.shape[-2:])))
    frames = frames.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1)
    pictures = [Image.fromarray(frame.permute(1, 2, 0).squeeze(-1).numpy()) for frame in frames]
    duration = max(1, round(1000 * hold / fps))
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=duration, loop=0)
    return path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
