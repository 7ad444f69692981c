"""One exit policy for every command line: a user error is one ``error: ...`` line, exit 2.

``SUITE_DEBUG=1`` re-raises instead, for the traceback. A command that has imported torch
ends with ``exit_without_teardown``.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

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


def exit_without_teardown(status: int = 0) -> None:
    """End the process as ``sys.exit(status)`` would, less the interpreter's teardown.

    After torch and Lightning are imported, freeing every module and object at exit takes
    about a second (``scripts/bench_startup.py`` measures it). What a normal exit does that
    matters still happens: the ``atexit`` handlers run (W&B, logging, file locks,
    multiprocessing) and stdout and stderr are flushed; files the suite writes are already
    closed and fsynced, and the kernel releases the run folder's lock.
    While a thread other than the main one that is not a daemon is alive, a normal exit would
    wait for it: then this is ``sys.exit(status)``."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()
           if t is not threading.main_thread()):
        sys.exit(status)
    atexit._run_exitfuncs()  # what Py_FinalizeEx runs first, before the teardown
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing left to say there
            pass
    os._exit(status)
