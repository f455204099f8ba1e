"""data=captioned_digits: the offline text-to-image set. Its renders are reproducible, its captions
say only what is true of their image, every checkable attribute reads back from the pixels, bad
settings are refused with the key's name, and gan-train trains on it."""

from __future__ import annotations

import re

import pytest
import torch
from conftest import compose_train, run_cli

from gan_cli.data.captioned_digits import (
    BACKGROUND,
    DIGIT_WORDS,
    FOREGROUND,
    MIN_CONTRAST,
    _render_split,
    captioned_digits,
    read_attributes,
)
from gan_cli.data.source import DataSource
from gan_cli.errors import UserError


def test_the_same_split_renders_the_same_images_and_captions_and_the_splits_differ():
    first = captioned_digits("train", 32, 40)
    _render_split.cache_clear()
    again = captioned_digits("train", 32, 40)
    assert torch.equal(first[0], again[0]) and first.captions == again.captions
    test = captioned_digits("test", 32, 40)
    assert not torch.equal(first[0], test[0])
    images, labels = first
    assert images.shape == (40, 3, 32, 32) and float(images.min()) >= -1 and float(images.max()) <= 1
    assert labels.tolist() == [i % 10 for i in range(40)]


def test_every_caption_names_the_digit_and_both_colours_and_says_nothing_false():
    data = captioned_digits("train", 32, 300)
    colour_words = sorted({*FOREGROUND, *BACKGROUND}, key=len, reverse=True)
    sizes = {"small": {"small", "little", "tiny"}, "medium": {"medium", "medium-sized", "mid-sized"},
             "large": {"large", "big", "huge"}}
    for render, captions in zip(data.renders, data.captions):
        assert len(set(captions)) == len(captions) == 5
        for caption in captions:
            words = set(re.findall(r"[\w-]+", caption))
            assert DIGIT_WORDS[render.digit] in words or str(render.digit) in words, caption
            assert not (words & set(DIGIT_WORDS) - {DIGIT_WORDS[render.digit]}), caption
            named = []
            rest = caption
            for colour in colour_words:  # longest first: "pale blue" before "blue"
                if colour in rest:
                    named.append(colour)
                    rest = rest.replace(colour, "#")
            assert sorted(named) == sorted({render.colour, render.background}), caption
            said_sizes = {size for size, synonyms in sizes.items() if words & synonyms}
            assert said_sizes <= {render.size}, caption
            if "left" in words or "right" in words:
                assert render.position in words or render.slant.split()[-1] in words, caption
            assert not re.search(r"\ba (orange|eight|8)\b", caption), caption


def test_colours_far_enough_apart_to_read_and_every_attribute_reads_back():
    for resolution, floor in ((32, 0.995), (64, 0.995), (16, 0.97)):
        data = captioned_digits("test", resolution)
        truth, read = data.attributes(), read_attributes(data[0])
        for name in ("colour", "background", "size", "position"):
            agreement = float((read[name] == truth[name]).float().mean())
            assert agreement >= floor, (resolution, name, agreement)
    for render in captioned_digits("train", 32, 200).renders:
        ink, paper = torch.tensor(FOREGROUND[render.colour]), torch.tensor(BACKGROUND[render.background])
        assert float((ink - paper).float().norm()) >= MIN_CONTRAST


def test_read_attributes_is_not_fooled_by_a_blank_or_a_recoloured_image():
    data = captioned_digits("test", 32, 20)
    images = data[0].clone()
    blue, black = list(FOREGROUND).index("blue"), list(BACKGROUND).index("black")
    images[:, :] = torch.tensor(BACKGROUND["black"]).float().div(127.5).sub(1)[:, None, None]
    images[:, :, 6:26, 12:20] = torch.tensor(FOREGROUND["blue"]).float().div(127.5).sub(1)[:, None, None]
    read = read_attributes(images)
    assert (read["colour"] == blue).all() and (read["background"] == black).all()
    assert (read["size"] == 1).all() and (read["position"] == 1).all()  # 20 of 32 rows tall, centred


@pytest.mark.parametrize("settings,message", [
    ({"split": "val"}, "data.split='val' is not a split of the captioned digits"),
    ({"resolution": 8}, "data.resolution=8 is too small for captioned digits"),
    ({"resolution": 0}, "data.resolution=0 is not a valid image size"),
    ({"count": 0}, "data.count=0 is not valid"),
    ({"count": "many"}, "data.count='many' is not valid"),
])
def test_bad_settings_are_refused_by_name(settings, message):
    with pytest.raises(UserError, match=re.escape(message)):
        captioned_digits(**settings)


def test_the_data_config_builds_both_splits_with_their_captions():
    cfg = compose_train(["data=captioned_digits", "data.count=30"])
    assert tuple(cfg.data.shape) == (3, 32, 32) and cfg.data.num_classes == 10
    source = DataSource(cfg.data)
    assert len(source) == 30 and len(source.dataset.captions) == 30
    assert len(source.heldout.captions) == 30 and source.heldout.captions != source.dataset.captions


def test_gan_train_trains_a_class_conditional_model_on_the_captioned_digits(tmp_path):
    run_cli("gan-train", "model=cgan", "data=captioned_digits", "data.count=64", "data.batch_size=16",
            "trainer.device=cpu", "trainer.steps=4", "trainer.log_every=2", "trainer.sample_every=4",
            "trainer.checkpoint_every=4", "model.generator.base_width=4", "model.discriminator.base_width=4",
            f"hydra.run.dir={tmp_path}", cwd=tmp_path, check=True)
    assert (tmp_path / "checkpoints" / "last.pt").is_file() and list((tmp_path / "samples").glob("*.png"))
