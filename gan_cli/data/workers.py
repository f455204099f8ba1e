"""A UserError raised in a DataLoader worker process reaches the user as itself.

torch sends a worker's exception to the main process as its type and its formatted traceback, and
raises exc_type("Caught UserError in DataLoader worker process 0.\\nOriginal Traceback ...") there
(torch._utils.ExceptionWrapper.reraise): the user would read torch's preamble and the worker's
frames instead of the one paragraph. Every DataLoader of this package therefore reads through
ReportingWorkerErrors, which raises a worker's UserError as a WorkerUserError whose text carries
the message and exit status, packed between markers; torch's call WorkerUserError(text) in the
main process unpacks them, so the command wrapper prints the paragraph and exits with its status.
"""

from __future__ import annotations

import base64
import binascii
import json

from torch.utils.data import Dataset, get_worker_info

from gan_cli.errors import UserError

_START, _END = "[gan-cli message ", "]"


class WorkerUserError(UserError):
    """A UserError that a DataLoader worker raised, rebuilt in the main process with its message."""

    def __init__(self, text: str = "", exit_code: int = UserError.exit_code):
        # torch passes the worker's whole traceback; the packed message is on its last line.
        message, exit_code = _unpack(text) or (text, exit_code)
        super().__init__(message)
        self.exit_code = exit_code

    @classmethod
    def in_transit(cls, error: UserError) -> "WorkerUserError":
        """What a worker raises for `error`: its text is the packed message, for torch to pass on."""
        carrier = cls.__new__(cls)
        Exception.__init__(carrier, _pack(str(error), error.exit_code))
        carrier.exit_code = error.exit_code
        return carrier

    def __reduce__(self):
        return type(self), (str(self), self.exit_code)


class ReportingWorkerErrors(Dataset):
    """`dataset` as a DataLoader reads it: in a worker process, a UserError becomes a WorkerUserError."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        try:
            return self.dataset[key]
        except UserError as error:
            if get_worker_info() is None:  # the main process: the error is already itself
                raise
            raise WorkerUserError.in_transit(error) from None


def _pack(message: str, exit_code: int) -> str:
    payload = json.dumps({"message": message, "exit_code": exit_code}).encode()
    return f"{_START}{base64.b64encode(payload).decode('ascii')}{_END}"


def _unpack(text: str) -> tuple[str, int] | None:
    """(message, exit code) from the last packed message in text, or None when it holds none."""
    start = text.rfind(_START)
    end = text.find(_END, start + len(_START))
    if start < 0 or end < 0:
        return None
    try:
        payload = json.loads(base64.b64decode(text[start + len(_START) : end], validate=True))
        return str(payload["message"]), int(payload["exit_code"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
