"""The grading entry point: :func:`grade`, which dispatches on ``kind`` through a small registry.

Built-in kinds: ``"math"`` (:mod:`npr.rewards.math`), ``"choice"`` (:mod:`npr.rewards.choice`) and ``"zebra"``
(:mod:`npr.rewards.zebra`). :func:`register_kind` adds more (tests use it for a kind that hangs); a kind is a
:class:`Kind`: the grading function, called as ``grader(response, answer, choices=..., timeout=...)``, and an optional
cheap ``extract(response)`` that :class:`npr.rewards.GradePool` uses to fill ``Grade.extracted`` when it has to kill
a worker.

The registry is process-local: worker processes of a pool see kinds registered by the pool's ``initializer``.

Contract of :func:`grade`:

* for any ``str`` response (empty, huge, malformed LaTeX, lone surrogates) it returns a :class:`Grade`; a grader
  that fails anyway is reported as ``unparsable: grader error`` rather than raised (and logged), so one bad sample
  cannot stop an evaluation;
* it raises ``ValueError`` for an unknown ``kind``, a malformed gold answer or bad options (:class:`InvalidGold`),
  and ``TypeError`` for a response that is not a ``str`` (``None`` counts as the empty response);
* it is deterministic, except that a ``timeout`` verdict depends on the machine's speed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from npr.rewards.choice import extract_letter, grade_choice
from npr.rewards.math import grade_math
from npr.rewards.verdict import UNPARSABLE, Grade, InvalidGold
from npr.rewards.zebra import canonical, extract_grid, grade_zebra
from npr.schema import last_boxed

__all__ = ["grade", "Grade", "Kind", "Grader", "register_kind", "kinds", "kind_of", "DEFAULT_TIMEOUT"]

logger = logging.getLogger(__name__)

#: The default time bound (seconds) of one :func:`grade` call, where it can be enforced (see :mod:`deadline`).
DEFAULT_TIMEOUT = 5.0


class Grader(Protocol):
    """A grading function: one response against one gold answer."""

    def __call__(self, response: str, answer: Any, *, choices: int | None, timeout: float | None) -> Grade: ...


@dataclass(frozen=True)
class Kind:
    """A kind of question: how to grade it, and how to find the answer without grading (for timeouts)."""

    name: str
    grader: Grader
    extract: Callable[[str], str | None] | None = None


def _zebra_extract(response: str) -> str | None:
    grid = extract_grid(response)
    return None if grid is None else canonical(grid)


_KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("math", grade_math, last_boxed),
        Kind("choice", grade_choice, extract_letter),
        Kind("zebra", grade_zebra, _zebra_extract),
    )
}


def register_kind(kind: Kind, *, replace: bool = False) -> None:
    """Add ``kind`` to the registry; replacing an existing name needs ``replace=True``."""
    if kind.name in _KINDS and not replace:
        raise ValueError(f"grading kind {kind.name!r} is already registered")
    _KINDS[kind.name] = kind


def kinds() -> tuple[str, ...]:
    """The registered kind names, sorted."""
    return tuple(sorted(_KINDS))


def kind_of(name: str) -> Kind:
    """The registered :class:`Kind` called ``name``; ``ValueError`` if there is none."""
    try:
        return _KINDS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown grading kind {name!r}; known kinds: {', '.join(kinds())}") from None


def grade(
    response: str | None,
    answer: Any,
    kind: str = "math",
    *,
    choices: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
) -> Grade:
    """Grade one ``response`` against the gold ``answer``; see the module docstring for the contract.

    Args:
        response: the model's text (``None`` is taken as ``""``).
        answer: the gold answer, in the form the kind expects (see each kind's module).
        kind: ``"math"``, ``"choice"``, ``"zebra"`` or a registered kind.
        choices: the number of options, for ``"choice"`` (ignored by the others).
        timeout: seconds allowed for the comparison, enforced in the main thread only (``None``: no bound). Use
            :class:`npr.rewards.GradePool` for a hard bound anywhere.
    """
    entry = kind_of(kind)
    if response is None:
        response = ""
    if not isinstance(response, str):
        raise TypeError(f"response must be a str, got {type(response).__name__}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    try:
        return entry.grader(response, answer, choices=choices, timeout=timeout)
    except InvalidGold:
        raise
    except Exception as error:  # noqa: BLE001 - the contract: model output never makes grading raise
        logger.warning("grader %r failed on a response of %d characters", kind, len(response), exc_info=True)
        return Grade.wrong(None, f"{UNPARSABLE}: grader error ({type(error).__name__})")
