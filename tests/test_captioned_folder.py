"""data=captioned_folder (issue 22): the layouts captioned sets ship in, written small here — a captions/
folder of .txt files beside images/ (CUB, Oxford-102; text_c10/), a CSV, a JSON list and COCO's captions
JSON — the images without captions left out with a count, what is missing named, and StackGAN trained
on the folder by the real gan-train."""

from __future__ import annotations

import csv
import json
import logging

import pytest
import torch
from conftest import CPU_SIZED, run_cli
from PIL import Image

from gan_cli.data.captioned_folder import captioned_folder
from gan_cli.errors import UserError

COLOURS = {"red": (215, 38, 38), "blue": (40, 70, 215), "green": (30, 160, 60)}


def write_images(root, n: int = 12) -> list[str]:
    """n small PNGs under root/images/<colour>/ (nested, as CUB's class folders); their relative paths."""
    names = []
    for i in range(n):
        colour = list(COLOURS)[i % 3]
        path = root / "images" / colour / f"img_{i:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (20, 24), COLOURS[colour]).save(path)
        names.append(f"{colour}/img_{i:03d}.png")
    return names


def caption_of(name: str, k: int = 0) -> str:
    return f"a {'large' if k else 'small'} {name.split('/')[0]} seven"


def write_layout(root, layout: str, missing: int = 0) -> list[str]:
    names = write_images(root)
    described = names[missing:]
    if layout in ("captions", "text_c10"):
        for name in described:
            text = (root / layout / name).with_suffix(".txt")
            text.parent.mkdir(parents=True, exist_ok=True)
            text.write_text(f"{caption_of(name)}\n{caption_of(name, 1)}\n\n")
    elif layout == "csv":
        with (root / "captions.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image", "caption"])
            writer.writerows([(name, caption_of(name, k)) for name in described for k in (0, 1)])
    elif layout == "json":
        (root / "captions.json").write_text(json.dumps([{"image": n, "caption": caption_of(n, k)}
                                                        for n in described for k in (0, 1)]))
    else:  # coco
        images = [{"id": i, "file_name": name} for i, name in enumerate(names) if name in described]
        annotations = [{"image_id": entry["id"], "caption": caption_of(entry["file_name"], k)}
                       for entry in images for k in (0, 1)]
        (root / "captions.json").write_text(json.dumps({"images": images, "annotations": annotations}))
    return names


@pytest.mark.parametrize("layout", ["captions", "text_c10", "csv", "json", "coco"])
def test_every_layout_gives_each_image_its_own_captions(layout, tmp_path):
    write_layout(tmp_path, layout)
    train = captioned_folder(str(tmp_path), resolution=16, split="train", test_share=0.25)
    test = captioned_folder(str(tmp_path), resolution=16, split="test", test_share=0.25)
    assert len(train) + len(test) == 12 and len(test) >= 1
    assert not set(train.paths) & set(test.paths)
    for index in range(len(train)):
        image, label = train[index]
        colour = train.paths[index].parent.name
        assert image.shape == (3, 16, 16) and label == -1
        assert train.captions[index] == (caption_of(f"{colour}/x"), caption_of(f"{colour}/x", 1))
        expected = torch.tensor(COLOURS[colour]) / 127.5 - 1
        assert torch.allclose(image[:, 8, 8], expected, atol=0.02)


def test_images_without_captions_are_left_out_with_a_count(tmp_path, caplog):
    write_layout(tmp_path, "captions", missing=3)
    with caplog.at_level(logging.WARNING, logger="gan_cli"):
        data = captioned_folder(str(tmp_path), resolution=16, test_share=0.01)
    assert len(data) == 9 and "3 of 12 images have no caption and are left out" in caplog.text


@pytest.mark.parametrize("make,message", [
    (lambda root: None, "has no images/ folder"),
    (lambda root: write_images(root), "has no captions: a captioned folder is"),
    (lambda root: (write_images(root), (root / "captions").mkdir()), "none of its 12 images has a caption"),
    (lambda root: (write_images(root), (root / "captions.csv").write_text("file,text\na,b\n")),
     "has the columns file, text; a captions CSV needs the columns image and caption"),
    (lambda root: (write_images(root), (root / "captions.json").write_text('{"x": 1}')),
     "is not a captions file gan-cli reads"),
])
def test_what_is_missing_is_named(make, message, tmp_path):
    make(tmp_path)
    with pytest.raises(UserError, match=message):
        captioned_folder(str(tmp_path), resolution=16)


def test_stackgan_trains_on_a_captioned_folder(tmp_path):
    root = tmp_path / "data"
    write_layout(root, "csv")
    result = run_cli("gan-train", "model=stackgan", "data=captioned_folder", f"data.root={root}", *CPU_SIZED,
                     "data.resolution=16", "data.batch_size=4", "data.num_workers=0", "data.test_share=0.25",
                     "model.latent_dim=8", "model.c_dim=8", "model.stage_one_width=4",
                     "model.discriminator.base_width=4", "trainer.num_fixed_samples=8",
                     f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path, check=True)
    assert (tmp_path / "run" / "checkpoints" / "last.pt").is_file(), result.stdout
    assert (tmp_path / "run" / "samples" / "step_0000003.png").is_file()
