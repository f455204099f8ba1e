"""Captions -> token ids: a word vocabulary built from a dataset's captions, and the checks a caption
typed by a user must pass (not empty, not absurdly long, at least one known word).

The vocabulary is a plain list of words, so it is stored in a text encoder's checkpoint as data.
"""

from __future__ import annotations

import re
from collections import Counter

import torch

from gan_cli.errors import UserError

PAD, UNKNOWN = "<pad>", "<unk>"
MAX_CHARACTERS = 1000  # longer text is refused: no caption of a captioned set comes near it
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def words(text: str) -> list[str]:
    """Lower-cased words and numerals, hyphenated words kept whole ("medium-sized")."""
    return _WORD.findall(text.lower())


class Vocabulary:
    """Word <-> id, with id 0 for padding and 1 for words it has not seen."""

    def __init__(self, known: list[str], max_tokens: int = 32):
        if known[:2] != [PAD, UNKNOWN] or len(set(known)) != len(known):
            raise ValueError("a vocabulary starts with <pad>, <unk> and lists each word once")
        self.known, self.max_tokens = list(known), int(max_tokens)
        self.index = {word: i for i, word in enumerate(self.known)}

    @classmethod
    def of_captions(cls, captions, min_count: int = 1, max_tokens: int = 32) -> Vocabulary:
        counts = Counter(word for caption in captions for word in words(caption))
        return cls([PAD, UNKNOWN, *sorted(w for w, n in counts.items() if n >= min_count)], max_tokens)

    def __len__(self) -> int:
        return len(self.known)

    def state(self) -> dict:
        return {"words": list(self.known), "max_tokens": self.max_tokens}

    @classmethod
    def from_state(cls, state: dict) -> Vocabulary:
        return cls(list(state["words"]), int(state["max_tokens"]))

    def ids(self, text: str) -> list[int]:
        return [self.index.get(word, 1) for word in words(text)][: self.max_tokens]

    def batch(self, texts) -> tuple[torch.Tensor, torch.Tensor]:
        """(ids N x L, lengths N) for captions known to be readable (training data)."""
        rows = [self.ids(text) or [1] for text in texts]
        width = max(len(row) for row in rows)
        ids = torch.zeros(len(rows), width, dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row)
        return ids, torch.tensor([len(row) for row in rows])

    def check(self, text, key: str = "text") -> str:
        """A user's caption, or a one-paragraph error saying what is wrong with it."""
        if not isinstance(text, str):
            raise UserError(f"{key}={text!r} is not a caption: pass text in quotes, such as "
                            f'{key}="a small red seven on a pale blue background".')
        if len(text) > MAX_CHARACTERS:
            raise UserError(f"{key} is {len(text):,} characters long; a caption is at most {MAX_CHARACTERS:,} "
                            f"characters (the text encoder reads its first {self.max_tokens} words). Write one "
                            f"sentence, such as \"a small red seven on a pale blue background\".")
        found = words(text)
        if not found:
            raise UserError(f"{key}={text!r} has no words: write a caption, such as "
                            f'"a small red seven on a pale blue background".')
        unknown = [word for word in found if word not in self.index]
        if len(unknown) == len(found):
            sample = ", ".join(word for word in self.known[2:] if not word.isdigit())
            raise UserError(f"{key}={text!r} has no word the text encoder knows ({', '.join(sorted(set(unknown)))}); "
                            f"its vocabulary of {len(self) - 2} words is: {sample}.")
        return text
