"""The grading entry point: :func:`grade`, dispatching on ``kind`` through a small registry; and :func:`check_gold`.

Built-in kinds: ``"math"`` (:mod:`npr.rewards.math`), ``"choice"`` (:mod:`npr.rewards.choice`) and ``"zebra"``
(:mod:`npr.rewards.zebra`). :func:`register_kind` adds more (tests use it for a kind that hangs); a kind is a
:class:`Kind`: the grading function, called as ``grader(response, answer, timeout=..., **options)``, an optional
cheap ``extract(response)`` that :class:`npr.rewards.GradePool` uses to fill ``Grade.extracted`` when it has to kill
a worker, the names of the options it takes, and an optional ``check(answer, **options)`` that validates a gold
answer without grading anything.

=========  ==========================================================================================
kind       options (besides ``timeout``, which every kind takes)
=========  ==========================================================================================
math       ``tolerance``: an absolute tolerance for numeric answers (:mod:`npr.rewards.math`)
choice     ``choices``: the number of options, 1 to 26 (:mod:`npr.rewards.choice`)
zebra      none
=========  ==========================================================================================

The registry is process-local: worker processes of a pool see kinds registered by the pool's ``initializer``.

Contract of :func:`grade`:

* for any ``str`` response (empty, huge, malformed LaTeX, lone surrogates) it returns a :class:`Grade`; a grader
  that fails anyway is reported as ``unparsable: grader error`` rather than raised (and logged), so one bad sample
  cannot stop an evaluation;
* it raises ``ValueError`` for an unknown ``kind`` or option (the message lists the kind's options), and
  :class:`InvalidGold` (a ``ValueError``) for a malformed gold answer or option value; ``TypeError`` for a response
  that is not a ``str`` (``None`` counts as the empty response);
* it is deterministic, except that a ``timeout`` verdict depends on the machine's speed.

:func:`check_gold` raises exactly the ``ValueError`` s that :func:`grade` would raise for the same gold answer and
options, without a response: a loader can call it on every item up front.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from npr.rewards.choice import check_choice_gold, extract_letter, grade_choice
from npr.rewards.math import check_math_gold, grade_math
from npr.rewards.verdict import UNPARSABLE, Grade, InvalidGold
from npr.rewards.zebra import canonical, check_zebra_gold, extract_grid, grade_zebra
from npr.schema import last_boxed

__all__ = [
    "grade", "check_gold", "Grade", "Kind", "Grader", "register_kind", "kinds", "kind_of", "DEFAULT_TIMEOUT",
]  # fmt: skip

logger = logging.getLogger(__name__)

#: The default time bound (seconds) of one :func:`grade` call, where it can be enforced (see :mod:`deadline`).
DEFAULT_TIMEOUT = 5.0


class Grader(Protocol):
    """A grading function: one response against one gold answer; ``options`` are those its :class:`Kind` names."""

    def __call__(self, response: str, answer: Any, *, timeout: float | None, **options: Any) -> Grade: ...


@dataclass(frozen=True)
class Kind:
    """A kind of question: how to grade it, how to find the answer without grading (for timeouts), the options its
    grader takes besides ``timeout``, and how to validate a gold answer (``check(answer, **options)``, raising
    :class:`InvalidGold`)."""

    name: str
    grader: Grader
    extract: Callable[[str], str | None] | None = None
    options: tuple[str, ...] = ()
    check: Callable[..., None] | None = None


def _zebra_extract(response: str) -> str | None:
    grid = extract_grid(response)
    return None if grid is None else canonical(grid)


_KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("math", grade_math, last_boxed, ("tolerance",), check_math_gold),
        Kind("choice", grade_choice, extract_letter, ("choices",), check_choice_gold),
        Kind("zebra", grade_zebra, _zebra_extract, (), check_zebra_gold),
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


def _check_timeout(timeout: Any) -> None:
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")


def _check_options(entry: Kind, options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - set(entry.options))
    if unknown:
        allowed = ", ".join(("timeout", *entry.options))
        names = ", ".join(repr(name) for name in unknown)
        raise ValueError(f"grading kind {entry.name!r} takes no option {names}; its options are: {allowed}")


def check_gold(answer: Any, kind: str = "math", **options: Any) -> None:
    """Raise ``ValueError`` for an unknown kind or option, :class:`InvalidGold` for a malformed gold ``answer`` or
    option value (an empty answer, a wrong type, a choice gold that is not one letter in range, a zebra grid without
    its header or rows, a negative tolerance); return ``None`` when :func:`grade` would accept them."""
    entry = kind_of(kind)
    _check_timeout(options.pop("timeout", None))
    _check_options(entry, options)
    if entry.check is not None:
        entry.check(answer, **options)


def grade(
    response: str | None,
    answer: Any,
    kind: str = "math",
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    **options: Any,
) -> Grade:
    """Grade one ``response`` against the gold ``answer``; see the module docstring for the contract.

    Args:
        response: the model's text (``None`` is taken as ``""``).
        answer: the gold answer, in the form the kind expects (see each kind's module).
        kind: ``"math"``, ``"choice"``, ``"zebra"`` or a registered kind.
        timeout: seconds allowed for the comparison, enforced in the main thread only (``None``: no bound). Use
            :class:`npr.rewards.GradePool` for a hard bound anywhere.
        options: the kind's own options (the table in the module docstring): ``tolerance`` for math, ``choices``
            for choice.
    """
    entry = kind_of(kind)
    _check_options(entry, options)
    if response is None:
        response = ""
    if not isinstance(response, str):
        raise TypeError(f"response must be a str, got {type(response).__name__}")
    _check_timeout(timeout)
    try:
        return entry.grader(response, answer, timeout=timeout, **options)
    except InvalidGold:
        raise
    except Exception as error:  # noqa: BLE001 - the contract: model output never makes grading raise
        logger.warning("grader %r failed on a response of %d characters", kind, len(response), exc_info=True)
        return Grade.wrong(None, f"{UNPARSABLE}: grader error ({type(error).__name__})")
