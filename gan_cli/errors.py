"""User-facing errors: one clear paragraph and a non-zero exit, never a traceback."""

from __future__ import annotations

import sys


class UserError(Exception):
    """Bad input from the user (a config value, a path, a missing dataset).

    The message is a complete paragraph: it names the bad value and says what would be valid.
    """

    exit_code = 2


def exit_with(error: UserError) -> None:
    """Print the error as one paragraph on stderr and exit non-zero."""
    print(f"error: {error}", file=sys.stderr, flush=True)
    sys.exit(error.exit_code)
