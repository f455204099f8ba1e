"""The text encoder of the text-to-image task: its vocabulary and the captions a user may type, the
shipped encoder's R-precision on the held-out captioned digits, its training script, and the
checkpoints its loader refuses (a missing, foreign, crafted, damaged or non-finite file)."""

from __future__ import annotations

import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gan_cli.data.captioned_digits import captioned_digits
from gan_cli.errors import UserError
from gan_cli.text.encoder import FORMAT, load_text_encoder, r_precision, save_text_encoder
from gan_cli.text.tokens import MAX_CHARACTERS, Vocabulary, words

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "gan_cli" / "text" / "weights" / "captioned_digits.pt"


def test_words_ids_and_the_vocabulary_round_trip():
    assert words("A Medium-sized, RED 7!") == ["a", "medium-sized", "red", "7"]
    vocabulary = Vocabulary.of_captions(["a red seven", "a blue one"], max_tokens=4)
    assert vocabulary.known == ["<pad>", "<unk>", "a", "blue", "one", "red", "seven"]
    assert vocabulary.ids("a green seven") == [2, 1, 6]
    assert vocabulary.ids("a a a a a a") == [2, 2, 2, 2]  # at most max_tokens words
    ids, lengths = vocabulary.batch(["a red seven", "one"])
    assert ids.tolist() == [[2, 5, 6], [4, 0, 0]] and lengths.tolist() == [3, 1]
    again = Vocabulary.from_state(vocabulary.state())
    assert again.known == vocabulary.known and again.max_tokens == 4


@pytest.mark.parametrize("text,message", [
    ("", "has no words: write a caption"),
    ("  ?!, ", "has no words: write a caption"),
    ("purple elephants", "has no word the text encoder knows (elephants, purple)"),
    ("x" * 10_000, f"text is 10,000 characters long; a caption is at most {MAX_CHARACTERS:,} characters"),
    (42, "text=42 is not a caption"),
])
def test_a_caption_a_user_types_is_checked_with_a_message_naming_the_problem(text, message):
    vocabulary = Vocabulary.of_captions(["a red seven on a pale blue background"])
    with pytest.raises(UserError, match=re.escape(message)):
        vocabulary.check(text)
    assert vocabulary.check("a red elephant") == "a red elephant"  # one known word is enough


def test_the_shipped_encoder_ranks_the_true_caption_first_for_nine_in_ten_held_out_images():
    embedder = load_text_encoder(SHIPPED)
    test = captioned_digits("test", 32)
    assert r_precision(embedder, test[0], [group[0] for group in test.captions]) >= 0.9
    shuffled = [group[0] for group in test.captions[1:] + test.captions[:1]]
    assert r_precision(embedder, test[0], shuffled) <= 0.1  # wrong captions rank like chance
    with pytest.raises(UserError, match="has no word the text encoder knows"):
        embedder.embed(["zebra giraffe"], check=True)


def test_paraphrases_lie_closer_than_other_captions():
    embedder = load_text_encoder(SHIPPED)
    a, b, c = embedder.embed(["a large red seven on black", "a big red 7 on a black background",
                              "a small white two on pale yellow"])
    assert torch.cosine_similarity(a, b, dim=0) > torch.cosine_similarity(a, c, dim=0) + 0.3


def test_the_training_script_writes_an_encoder_that_reads_back(tmp_path):
    out = tmp_path / "encoder.pt"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_text_encoder.py"), "--epochs", "1",
                             "--out", str(out)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "R-precision on the 500 held-out images" in result.stdout and f"wrote {out}" in result.stdout
    embedder = load_text_encoder(out)
    assert embedder.embed(["a red seven"]).shape == (1, 128) and len(embedder.vocabulary) > 50


class Payload:  # a class in a checkpoint: code, which the loader must never run
    def __reduce__(self):
        return (print, ("this ran",))


def test_checkpoints_that_are_not_a_text_encoder_are_refused_by_name(tmp_path):
    with pytest.raises(UserError, match="is not a file"):
        load_text_encoder(tmp_path / "missing.pt")
    crafted = tmp_path / "crafted.pt"
    crafted.write_bytes(pickle.dumps({"format": FORMAT, "vocabulary": Payload()}, protocol=2))
    with pytest.raises(UserError, match="could not be read as a text encoder"):
        load_text_encoder(crafted)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(UserError, match="is not a gan-cli text encoder"):
        load_text_encoder(foreign)
    shipped = torch.load(SHIPPED, weights_only=True)
    damaged = tmp_path / "damaged.pt"
    torch.save({**shipped, "text_encoder": {"words.weight": torch.zeros(3, 3)}}, damaged)
    with pytest.raises(UserError, match="is a damaged text encoder"):
        load_text_encoder(damaged)
    nan = {**shipped, "text_encoder": {k: v.clone() for k, v in shipped["text_encoder"].items()}}
    nan["text_encoder"]["out.weight"][0, 0] = float("nan")
    torch.save(nan, tmp_path / "nan.pt")
    with pytest.raises(UserError, match="holds non-finite weights"):
        load_text_encoder(tmp_path / "nan.pt")
    embedder = load_text_encoder(SHIPPED)
    save_text_encoder(embedder, tmp_path / "copy.pt", {"r_precision": 1.0})
    assert load_text_encoder(tmp_path / "copy.pt").vocabulary.known == embedder.vocabulary.known
