"""One exit policy for every command line: a user error is one ``error: ...`` line, exit 2.

``SUITE_DEBUG=1`` re-raises instead, for the traceback.
"""

from __future__ import annotations

import os
import sys

from hydra.errors import InstantiationException

USAGE_ERROR = 2  # wrong input: a config key, a value, a path, a damaged file
# What a run raises for wrong input (a config key or value, a path, a damaged folder): the
# command lines report these in one line (``user_error``).
USER_ERRORS = (ValueError, FileNotFoundError, KeyError, PermissionError, OSError,
               InstantiationException)


def error_line(error: BaseException | str) -> str:
    """The first line of an error's message (Hydra's instantiate wrapper unwrapped)."""
    if isinstance(error, BaseException):
        from hydra.errors import InstantiationException

        while isinstance(error, InstantiationException) and error.__cause__ is not None:
            error = error.__cause__
        text = str(error).strip().strip("'\"")
        return text.splitlines()[0] if text else type(error).__name__
    return str(error).splitlines()[0] if str(error) else "error"


def user_error(error: BaseException | str) -> int:
    """Print ``error: <first line>`` on stderr and return the exit status for user errors."""
    if isinstance(error, BaseException) and os.environ.get("SUITE_DEBUG"):
        raise error
    print(f"error: {error_line(error)}", file=sys.stderr)
    return USAGE_ERROR
