"""Rollout filters: which trajectories are dropped before advantages are computed (PAPO's structural filter).

A dropped trajectory takes no part in its group's baseline and gets exactly zero gradient. Each filter returns the
reason it drops a rollout, or ``None`` to keep it.

=========  ========================================================================================================
name       drops
=========  ========================================================================================================
invalid    responses that break the NPR format (:func:`npr.schema.validate` finds a violation), and those the engine
           ended with ``format_error`` (a guideline with no plans or more than ``max_branches``)
truncated  responses cut off by a token budget (``finish_reason`` ``length``) or aborted
=========  ========================================================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from npr.schema import validate
from npr.train.registry import Registry


@dataclass(frozen=True)
class Candidate:
    """What a filter sees of one rollout: its response text (stop tokens removed) and the engine's finish reason."""

    text: str
    finish_reason: str


#: ``fn(candidate) -> reason or None``.
Filter = Callable[[Candidate], "str | None"]
FILTERS: Registry[Filter] = Registry("rollout filter")


@FILTERS.register("invalid")
def invalid(c: Candidate) -> str | None:
    if c.finish_reason == "format_error":
        return "format_error"
    violations = validate(c.text)
    return f"invalid:{violations[0].code}" if violations else None


@FILTERS.register("truncated")
def truncated(c: Candidate) -> str | None:
    return f"truncated:{c.finish_reason}" if c.finish_reason in ("length", "aborted") else None


def drop_reasons(names: list[str], candidate: Candidate) -> dict[str, str]:
    """``{filter name: reason}`` for every named filter that drops the rollout; empty when it is kept.

    Every filter is asked, so each one's count is its own (a cut-off response is usually invalid as well).
    """
    out = {}
    for name in names:
        reason = FILTERS.get(name)(candidate)
        if reason is not None:
            out[name] = reason
    return out
