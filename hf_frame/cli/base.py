"""What every part of the command line shares: the program name, exit statuses, usage errors."""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
PROG = "hf-frame"


class UsageError(Exception):
    """A problem with the command line or the input file (exit status 2)."""


class RunFailed(Exception):
    """The run finished but produced nothing usable, e.g. every row failed (exit status 1)."""
