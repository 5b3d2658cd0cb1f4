"""What every ``npr`` subcommand shares: the exit statuses and the one way to report bad input."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def fail(command: str, exc: BaseException) -> int:
    """Print ``npr COMMAND: reason`` to stderr; the exit status for bad usage or unreadable input."""
    print(f"npr {command}: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT
