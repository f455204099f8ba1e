"""What ends a command early: a user error (one clear paragraph and a non-zero exit, never a
traceback), or a stop the user asked for."""

from __future__ import annotations

import sys


class UserError(Exception):
    """Bad input from the user (a config value, a path, a missing dataset).

    The message is a complete paragraph: it names the bad value and says what would be valid.
    """

    exit_code = 2


def exit_with(error: UserError, say: bool = True) -> None:
    """Print the error as one paragraph on stderr (unless say is False: another process says it) and
    exit with its status."""
    if str(error) and say:
        print(f"error: {error}", file=sys.stderr, flush=True)
    sys.exit(error.exit_code)


class StopRequested(Exception):
    """Raised at a step boundary after Ctrl-C or SIGTERM, once the checkpoint is written.

    args[0] is the step the run stopped after.
    """
