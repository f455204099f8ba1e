"""Image files decoded at load time, where a file that fails is skipped for the next one.

The datasets of image folders read every file's header once, up front, and leave out the
unreadable ones. A file can still fail later, when its pixels are decoded in a DataLoader worker:
damaged past its header, or truncated, corrupted or deleted after the scan. Such a file is skipped
too: the item takes the next file in order that decodes (wrapping around), with the same sample
seed, so an item stays a pure function of (index, sample seed) and a resumed run sees the batches
an uninterrupted one would have seen on the same files.

A failed file is tried again whenever an item needs it (so what an item is depends only on the
files as they are now, not on which worker failed on what before); each process warns once per
file. When more than half of the files have failed, the data is damaged rather than a file or two:
a UserError names some of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from PIL import Image

from gan_cli.data import image_modes
from gan_cli.errors import UserError

log = logging.getLogger("gan_cli")

# What PIL (and the file system) raise for a file that is not, or no longer, a readable image.
UNREADABLE = image_modes.UNREADABLE
_CHANNELS_OF_MODE = {mode: channels for channels, mode in image_modes.CHANNEL_MODES.items()}

T = TypeVar("T")


class UndecodableImage(Exception):
    """A file that could not be decoded at load time; `path` names it, `reason` says why."""

    def __init__(self, path, error: BaseException):
        super().__init__(path, error)
        self.path, self.reason = str(path), f"{type(error).__name__}: {error}"


def decode_image(path: Path, mode: str) -> Image.Image:
    """The image at path converted to mode (this decodes all its pixels), else UndecodableImage."""
    try:
        # Any mode PIL reads (16-bit, palette, alpha, CMYK, ...) at its real scale; a GIF's first frame.
        return image_modes.open_image(path, _CHANNELS_OF_MODE[mode])
    except UNREADABLE as error:
        raise UndecodableImage(path, error) from None


class SkippingFiles:
    """Loads entry i of `count` files, or the next one that decodes; counts the files that failed.

    `where` names the files' folder (or config key) in the messages.
    """

    def __init__(self, count: int, where: str):
        self.count, self.where = count, where
        self.failed: dict[int, UndecodableImage] = {}  # position -> its failure, in this process

    def load(self, index: int, decode: Callable[[int], T]) -> T:
        """decode(position) for the first position from index on (wrapping) that does not raise
        UndecodableImage; the positions that raised are skipped with a warning."""
        for offset in range(self.count):
            position = (index + offset) % self.count
            try:
                return decode(position)
            except UndecodableImage as failure:
                self._skip(position, failure)
        raise self._too_many()

    def _skip(self, position: int, failure: UndecodableImage) -> None:
        if position in self.failed:  # warned already
            return
        self.failed[position] = failure
        if 2 * len(self.failed) > self.count:
            raise self._too_many() from None
        log.warning(f"skipping {failure.path}: it cannot be decoded as an image ({failure.reason}); "
                    f"the next image of {self.where} takes its place")

    def _too_many(self) -> UserError:
        failures = list(self.failed.values())
        shown = "; ".join(f"{failure.path} ({failure.reason})" for failure in failures[:3])
        more = f" and {len(failures) - 3} more" if len(failures) > 3 else ""
        return UserError(
            f"{len(failures)} of the {self.count} image files of {self.where} could not be decoded while "
            f"loading, too many to skip: {shown}{more}. They may have been damaged, truncated or removed "
            "since the data was scanned: restore or replace them, or remove them from the folder."
        )

