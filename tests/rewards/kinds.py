"""Test-only grading kinds, registered in pool workers through ``GradePool(initializer=register_test_kinds)``.

* ``test_sleep``: sleeps ``answer`` seconds, then returns a correct grade whose ``extracted`` is the response;
* ``test_modules``: ``extracted`` lists which heavy modules (torch, transformers) the process has imported;
* ``test_exit``: ends the process at once with exit code ``answer``, like a crash;
* ``test_timeout``: ``extracted`` is the ``timeout`` that :func:`npr.rewards.grade` was given, as ``repr``.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from npr.rewards import Grade, Kind, register_kind

HEAVY_MODULES = ("torch", "transformers")


def _sleep(response: str, answer: Any, *, timeout: float | None) -> Grade:
    time.sleep(float(answer))
    return Grade.right(response)


def _modules(response: str, answer: Any, *, timeout: float | None) -> Grade:
    return Grade.right(",".join(name for name in HEAVY_MODULES if name in sys.modules))


def _exit(response: str, answer: Any, *, timeout: float | None) -> Grade:
    os._exit(int(answer))


def _timeout(response: str, answer: Any, *, timeout: float | None) -> Grade:
    return Grade.right(repr(timeout))


def _first_word(response: str) -> str | None:
    return response.split()[0] if response.split() else None


TEST_KINDS = (
    Kind("test_sleep", _sleep, _first_word),
    Kind("test_modules", _modules),
    Kind("test_exit", _exit),
    Kind("test_timeout", _timeout),
)


def register_test_kinds() -> None:
    """Register the test kinds (again, harmlessly, if they already are)."""
    for kind in TEST_KINDS:
        register_kind(kind, replace=True)
