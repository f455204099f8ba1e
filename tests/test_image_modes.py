"""Images in every mode PIL reads, as the model's 1 or 3 channels with the right value scale: the
conversion against known values, the training readers that share it, and gan-sample input= on a
tiny image-to-image checkpoint (each file's translation equals that of its 8-bit RGB equivalent)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from gan_cli.data.decoding import decode_image
from gan_cli.data.folder import folder
from gan_cli.data.image_modes import Notes, model_image, read_signed
from gan_cli.errors import UserError

WHITE = (255, 255, 255)
SIZE = 8  # the test images: 8 x 8, a left half and a right half of known values


def halves(mode: str, left, right, palette=None, **info) -> Image.Image:
    image = Image.new(mode, (SIZE, SIZE), left)
    image.paste(right, (SIZE // 2, 0, SIZE, SIZE))
    if palette:
        image.putpalette(palette)
    image.info.update(info)
    return image


RED_BLUE = [255, 0, 0, 0, 0, 255]
# file name -> (the image, its left and right halves as 8-bit RGB)
FILES = {
    "bilevel.png": (halves("1", 0, 1), (0, 0, 0), WHITE),
    "grey.png": (halves("L", 60, 200), (60,) * 3, (200,) * 3),
    "rgb.png": (halves("RGB", (1, 2, 3), (250, 251, 252)), (1, 2, 3), (250, 251, 252)),
    "palette.png": (halves("P", 0, 1, RED_BLUE), (255, 0, 0), (0, 0, 255)),
    "palette_frame.gif": (halves("P", 1, 0, RED_BLUE), (0, 0, 255), (255, 0, 0)),
    "palette_transparent.png": (halves("P", 0, 1, RED_BLUE, transparency=1), (255, 0, 0), WHITE),
    "palette_alpha.tif": (halves("PA", (1, 255), (0, 0), RED_BLUE), (0, 0, 255), WHITE),
    "grey_alpha.png": (halves("LA", (100, 255), (100, 0)), (100,) * 3, WHITE),
    "rgba.png": (halves("RGBA", (10, 20, 30, 255), (10, 20, 30, 0)), (10, 20, 30), WHITE),
    "cmyk.tif": (halves("CMYK", (0, 255, 255, 0), (255, 0, 0, 0)), (255, 0, 0), (0, 255, 255)),
    "ycbcr.tif": (halves("YCbCr", (50, 128, 128), (210, 128, 128)), (50,) * 3, (210,) * 3),
    "grey16.png": (halves("I;16", 32896, 65535), (128,) * 3, WHITE),  # 32896 / 65535 = 128 / 255
    "grey16_big_endian.tif": (halves("I;16B", 32896, 0), (128,) * 3, (0,) * 3),
    "int32_16bit_data.tif": (halves("I", 32896, 65535), (128,) * 3, WHITE),
    "int32_8bit_data.tif": (halves("I", 60, 200), (60,) * 3, (200,) * 3),
    "float.tif": (halves("F", 0.25, 1.0), (64,) * 3, WHITE),  # 0.25 * 255 = 63.75
    "float_wide.tif": (halves("F", 0.0, 1000.0), (0,) * 3, WHITE),  # stretched by its range, with a note
}


def write_files(folder_path) -> None:
    """Every file of FILES, and beside each one ref_<stem>.png: its 8-bit RGB equivalent."""
    folder_path.mkdir(parents=True, exist_ok=True)
    for name, (image, left, right) in FILES.items():
        image.save(folder_path / name)
        halves("RGB", left, right).save(folder_path / f"ref_{name.replace('.', '_')}.png")


# (mode, value, channels, expected pixel); images made in memory, so also modes no file format keeps.
IN_MEMORY = [
    ("1", 1, 1, 255),
    ("L", 77, 3, (77, 77, 77)),
    ("RGB", (255, 0, 0), 1, 76),  # ITU-R 601 luma: 0.299 * 255
    ("I;16", 32768, 1, 128),  # 127.5 rounds to the even 128
    ("I;16L", 32896, 1, 128),
    ("I;16B", 65535, 3, WHITE),
    ("I;16N", 0, 1, 0),
    ("I", 200, 1, 200),
    ("I", 40000, 1, 156),  # 16-bit data held as 32-bit integers: 40000 / 65535 * 255 = 155.6
    ("F", 0.5, 1, 128),
    ("LA", (100, 128), 1, 177),  # half transparent over white: 100 * 128/255 + 255 * 127/255
    ("La", (50, 128), 1, 177),  # premultiplied: 50 + (255 - 128)
    ("RGBa", (100, 50, 0, 128), 3, (227, 177, 127)),
    ("RGBA", (0, 0, 0, 0), 3, WHITE),
    ("PA", (0, 0), 3, WHITE),
    ("RGBX", (1, 2, 3, 4), 3, (1, 2, 3)),
    ("HSV", (0, 255, 255), 3, (255, 0, 0)),
    ("HSV", (85, 255, 255), 3, (0, 255, 0)),
    ("CMYK", (0, 0, 0, 255), 1, 0),
    ("YCbCr", (90, 128, 128), 1, 90),
]


@pytest.mark.parametrize("mode,value,channels,expected", IN_MEMORY, ids=lambda v: str(v))
def test_every_mode_reads_as_known_pixels(mode, value, channels, expected):
    converted = model_image(Image.new(mode, (3, 2), value), channels, "test image", Notes(lambda message: None))
    assert converted.mode == ("L" if channels == 1 else "RGB") and converted.size == (3, 2)
    assert converted.getpixel((1, 1)) == expected


def test_lab_reads_as_colour():
    quiet = Notes(lambda message: None)
    white, black = (model_image(Image.new("LAB", (2, 2), value), 3, "lab", quiet).getpixel((0, 0))
                    for value in ((255, 128, 128), (0, 128, 128)))  # L* 100 and 0, a* = b* = 0
    assert min(white) >= 250 and max(black) <= 5


def test_a_16_bit_mid_grey_reads_as_zero_not_one(tmp_path):
    path = tmp_path / "mid_grey16.png"
    halves("I;16", 32768, 65535).save(path)
    assert Image.open(path).mode == "I;16"
    for channels in (1, 3):
        signed = read_signed(path, channels)
        assert signed.shape == (channels, SIZE, SIZE)
        assert signed[:, :, : SIZE // 2].abs().max() < 0.01  # mid-grey: 128 / 127.5 - 1 = 0.004
        assert signed[:, :, SIZE // 2:].min() == 1.0
    assert read_signed(path, 1, resolution=4).shape == (1, 4, 4)


def test_alpha_is_noted_once_and_nan_is_refused_by_name():
    said = []
    notes = Notes(said.append)
    for name in ("a.png", "b.png"):
        model_image(Image.new("RGBA", (2, 2), (9, 9, 9, 0)), 3, name, notes)
    model_image(Image.new("RGBA", (2, 2), (9, 9, 9, 255)), 3, "opaque.png", Notes(said.append))
    assert len(said) == 1 and "a.png has transparent pixels" in said[0] and "white background" in said[0]
    nan = Image.fromarray(np.array([[np.nan, 1.0]], dtype=np.float32))
    with pytest.raises(UserError, match="nan.tif is a mode-F .* NaN or infinite"):
        model_image(nan, 1, "nan.tif", notes)


def test_training_readers_use_the_same_conversion(tmp_path):
    write_files(tmp_path / "images")
    dataset = folder(str(tmp_path / "images"), resolution=SIZE, channels=1)
    by_name = {path.name: index for index, path in enumerate(dataset.paths)}
    grey16, _ = dataset[by_name["grey16.png"]]
    assert grey16.shape == (1, SIZE, SIZE) and grey16[0, 0, 0].abs() < 0.01 and grey16[0, 0, -1] == 1.0
    for name in ("grey16_big_endian.tif", "cmyk.tif", "rgba.png", "float.tif"):
        reference = f"ref_{name.replace('.', '_')}.png"
        assert dataset[by_name[name]][0].equal(dataset[by_name[reference]][0]), name
    # The pair datasets (pix2pix, CycleGAN, SRGAN) open their files the same way.
    assert np.array_equal(np.asarray(decode_image(tmp_path / "images" / "grey16.png", "RGB")),
                          np.asarray(Image.open(tmp_path / "images" / "ref_grey16_png.png")))


SRGAN = ["model=srgan", "data.crop=24", "data.lr_size=6", "data.batch_size=2", "model.generator.base_width=8",
         "model.generator.blocks=2", "model.discriminator.base_width=8", "model.pretrain_steps=1",
         "trainer.device=cpu", "trainer.steps=2", "trainer.sample_every=2", "trainer.checkpoint_every=2",
         "trainer.num_fixed_samples=2"]


def test_gan_sample_translates_every_mode_as_its_8_bit_equivalent(tmp_path):
    """SRGAN (3 channels, no resize) upscales each file; the output for a file in any mode equals the
    output for its 8-bit RGB equivalent, and a 16-bit mid-grey is not read as white."""
    run = tmp_path / "run"
    run_cli("gan-train", *SRGAN, f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    ckpt = run / "checkpoints" / "last.pt"
    write_files(tmp_path / "images")
    halves("RGB", WHITE, WHITE).save(tmp_path / "images" / "all_white.png")
    halves("LAB", (255, 128, 128), (0, 128, 128)).save(tmp_path / "images" / "lab.tif")
    result = run_cli("gan-sample", f"ckpt={ckpt}", f"input={tmp_path / 'images'}", f"out={tmp_path / 'out'}",
                     cwd=tmp_path, check=True)
    assert result.stderr.count("transparent pixels") == 1 and "white background" in result.stderr
    assert "float_wide.tif is a mode-F image whose values run from 0 to 1000" in result.stderr

    def output(stem):
        return np.asarray(Image.open(tmp_path / "out" / f"{stem}.png"))

    assert output("lab").shape == (4 * SIZE, 4 * SIZE, 3)
    for name in FILES:
        stem = name.rsplit(".", 1)[0]
        assert np.array_equal(output(stem), output(f"ref_{name.replace('.', '_')}")), name
    assert not np.array_equal(output("grey16"), output("all_white"))  # the model tells grey from white

    nan = tmp_path / "nan.tif"
    Image.fromarray(np.full((SIZE, SIZE), np.nan, dtype=np.float32)).save(nan)
    refused = run_cli("gan-sample", f"ckpt={ckpt}", f"input={nan}", f"out={tmp_path / 'nan_out.png'}", cwd=tmp_path)
    assert refused.returncode == 2 and "mode-F (32-bit float) image holding NaN" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
