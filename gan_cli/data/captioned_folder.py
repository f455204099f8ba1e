"""Images with captions from disk (data=captioned_folder), in the layouts the captioned sets ship in:

    root/images/<any>/<name>.jpg  +  root/captions/<any>/<name>.txt      one caption per line (the CUB and
                                                                          Oxford-102 releases: text_c10/)
    root/images/...               +  root/captions.csv                   columns image,caption (a row per caption)
    root/images/...               +  root/captions.json                  [{"image": ..., "caption": ...}] or
                                                                          COCO's {"images": [...], "annotations": [...]}

Image paths in a CSV/JSON are relative to root/images (COCO's file_name is, too). An image without a
caption is left out with a count in the log (a text-to-image model needs one per image); a folder
where none has one is an error naming where captions were looked for. The held-out split (data.split=
test) is a fixed share of the images, chosen by a hash of each image's path, so it is the same on every
machine and does not move when images are added.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
from pathlib import Path

from torch.utils.data import Dataset

from gan_cli.data.decoding import SkippingFiles, decode_image
from gan_cli.data.folder import find_images, readable_images
from gan_cli.data.image_modes import CHANNEL_MODES
from gan_cli.data.transforms import check_image_args, resize_crop_to_signed
from gan_cli.errors import UserError

log = logging.getLogger("gan_cli")

CAPTION_FOLDERS = ("captions", "text_c10", "text")  # per-image .txt files, as the CUB / Oxford-102 releases
CAPTION_FILES = ("captions.csv", "captions.json")
SPLITS = ("train", "test")


def _where(root: Path) -> str:
    return (f"{root}/images/ with {' or '.join(f'{root}/{name}/' for name in CAPTION_FOLDERS)} (a .txt per image, "
            f"one caption per line) or {' or '.join(f'{root}/{name}' for name in CAPTION_FILES)}")


def _text_lines(path: Path) -> tuple[str, ...]:
    text = path.read_text(encoding="utf-8", errors="replace")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _from_folder(folder: Path, images: Path, paths: list[Path]) -> dict[Path, tuple[str, ...]]:
    found = {}
    for path in paths:
        text = (folder / path.relative_to(images)).with_suffix(".txt")
        if text.is_file():
            found[path] = _text_lines(text)
    return found


def _pairs_from_json(data, where: Path) -> list[tuple[str, str]]:
    if isinstance(data, dict) and "annotations" in data and "images" in data:  # COCO captions
        names = {entry["id"]: entry["file_name"] for entry in data["images"]}
        return [(names[a["image_id"]], a["caption"]) for a in data["annotations"] if a.get("image_id") in names]
    if isinstance(data, list) and all(isinstance(e, dict) and "image" in e and "caption" in e for e in data):
        return [(e["image"], e["caption"]) for e in data]
    raise UserError(f"{where} is not a captions file gan-cli reads: use a list of {{\"image\": ..., \"caption\": ...}} "
                    f"entries, or COCO's captions layout ({{\"images\": [...], \"annotations\": [...]}}).")


def _from_file(path: Path, images: Path) -> dict[Path, tuple[str, ...]]:
    try:
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            if rows and not {"image", "caption"} <= set(rows[0]):
                raise UserError(f"{path} has the columns {', '.join(rows[0])}; a captions CSV needs the columns "
                                f"image and caption (a row per caption).")
            pairs = [(row["image"], row["caption"]) for row in rows]
        else:
            pairs = _pairs_from_json(json.loads(path.read_text(encoding="utf-8")), path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path} could not be read as captions ({type(error).__name__}: {error}).") from None
    found: dict[Path, list[str]] = {}
    for image, caption in pairs:
        if isinstance(caption, str) and caption.strip():
            found.setdefault((images / str(image)).absolute(), []).append(caption.strip())
    return {path: tuple(texts) for path, texts in found.items()}


def read_captions(root: Path, images: Path, paths: list[Path]) -> dict[Path, tuple[str, ...]]:
    for name in CAPTION_FOLDERS:
        if (root / name).is_dir():
            return _from_folder(root / name, images, paths)
    for name in CAPTION_FILES:
        if (root / name).is_file():
            return _from_file(root / name, images)
    raise UserError(f"data.root={root} has no captions: a captioned folder is {_where(root)}.")


def in_split(path: Path, images: Path, split: str, test_share: float) -> bool:
    digest = hashlib.sha256(str(path.relative_to(images)).encode()).digest()
    return (int.from_bytes(digest[:8], "big") / 2 ** 64 < test_share) == (split == "test")


class CaptionedFolder(Dataset):
    """(image C x R x R in [-1, 1], -1) items with `.captions` (a tuple of captions per item)."""

    def __init__(self, root: str, resolution: int = 64, channels: int = 3, split: str = "train",
                 test_share: float = 0.1):
        check_image_args(resolution, channels)
        if split not in SPLITS:
            raise UserError(f"data.split={split!r} is not a split of a captioned folder: use train or test.")
        if isinstance(test_share, bool) or not isinstance(test_share, (int, float)) or not 0 < test_share < 1:
            raise UserError(f"data.test_share={test_share!r} must be the share of images held out, between 0 and 1 "
                            f"(0.1: one in ten).")
        self.root = Path(str(root)).expanduser().absolute()
        images = self.root / "images"
        if not images.is_dir():
            raise UserError(f"data.root={root} has no images/ folder: a captioned folder is {_where(self.root)}.")
        paths = [p.absolute() for p in find_images(images)]
        captions = read_captions(self.root, images, paths)
        kept = [p for p in paths if captions.get(p)]
        if not kept:
            raise UserError(f"data.root={root}: none of its {len(paths)} images has a caption; a captioned folder is "
                            f"{_where(self.root)}, with the caption files named as the images.")
        if len(kept) < len(paths):
            log.warning(f"data.root={root}: {len(paths) - len(kept)} of {len(paths)} images have no caption and are "
                        f"left out (e.g. {next(p for p in paths if not captions.get(p))}).")
        kept = [p for p in kept if in_split(p, images, split, float(test_share))]
        if not kept:
            raise UserError(f"data.root={root} has no captioned images in its {split} split (data.test_share="
                            f"{test_share}); add images or change data.test_share.")
        self.paths = readable_images(kept, root)
        self.captions = tuple(captions[p] for p in self.paths)
        self.mode, self.transform = CHANNEL_MODES[channels], resize_crop_to_signed(resolution, channels)
        self.files = SkippingFiles(len(self.paths), f"data.root={root}")

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        pixels = self.files.load(index, lambda position: decode_image(self.paths[position], self.mode))
        return self.transform(pixels), -1


def captioned_folder(root: str, resolution: int = 64, channels: int = 3, split: str = "train",
                     test_share: float = 0.1) -> CaptionedFolder:
    """data=captioned_folder: images with captions under root (see the module's docstring for the layouts)."""
    if root is None or not str(root).strip():
        raise UserError("data.root is not set: pass data.root=<folder> holding images/ and captions/ (or "
                        "captions.csv / captions.json).")
    return CaptionedFolder(root, resolution, channels, split, test_share)
