"""The format-aware reward of Stage 1 (NPR-Zero): :func:`format_reward`.

``format_reward(text)`` is ``0.0`` for a valid response and a penalty in ``[-2, 0)`` otherwise. The trainer adds the
correctness term (+1 / -1) only when the format passes (DESIGN.md section 5), so this function is the whole reward of
a malformed response.

The penalty is ``-min(2.0, sum of SEVERITY[code] over the distinct codes violated)``. Counting each code once keeps
one repeated slip (say, every step misnumbered) from weighing like several different failures, while several kinds
of failure add up, which is what "scaled by how badly it fails" asks for. Every severity is positive, so any violation
gives a strictly negative reward.

========================  ========  ==============================================================================
code                      severity  why
========================  ========  ==============================================================================
``no_blocks``             2.0       plain chain of thought: nothing of the format at all, the worst case
``nested_tag``            1.5       the engine cannot fork or join a tree whose elements nest
``unmatched_close``       1.5       a close tag that matches nothing breaks the structure the engine tracks
``unclosed_tag``          1.5       an open element (often a cut-off step) leaves the block without a join point
``unexpected_tag``        1.5       an element outside its place has no defined branch or join in the topology
``no_plans``              1.5       k = 0: the engine has nothing to fork and treats it as a format error
``step_count``            1.0       steps != plans: some plan is not executed, or a step executes no plan
``missing_takeaway``      1.0       the branches are never reduced: the block skips its join
``plan_numbering``        0.5       the structure is intact, only the 1..k labels are wrong
``step_numbering``        0.5       the structure is intact, only step i's label is wrong (or steps are swapped)
``stray_text``            0.5       text the engine would put on the wrong side of a fork; the tree still parses
``empty_plan``            0.5       a branch with no instruction; the structure is intact
``empty_step``            0.5       a branch that did no work; the structure is intact
``empty_takeaway``        0.5       a join that reduces nothing; the structure is intact
``missing_conclusion``    0.5       no final answer text after the last block; the blocks themselves are fine
========================  ========  ==============================================================================

Note the reference implementation's check tested the *plan* text where it meant the steps (DESIGN.md section 9.3);
here step rules (``step_count``, ``step_numbering``, ``empty_step``) are computed from the parsed steps themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Mapping

from npr.schema.structure import Violation
from npr.schema.validate import validate

__all__ = ["SEVERITY", "MAX_PENALTY", "format_reward", "penalty"]

#: The largest penalty: ``format_reward`` never goes below ``-MAX_PENALTY``.
MAX_PENALTY = 2.0

#: Severity of each violation code, in (0, MAX_PENALTY]; read-only so that no caller can change the reward silently.
SEVERITY: Mapping[str, float] = MappingProxyType(
    {
        "no_blocks": 2.0,
        "nested_tag": 1.5,
        "unmatched_close": 1.5,
        "unclosed_tag": 1.5,
        "unexpected_tag": 1.5,
        "no_plans": 1.5,
        "step_count": 1.0,
        "missing_takeaway": 1.0,
        "plan_numbering": 0.5,
        "step_numbering": 0.5,
        "stray_text": 0.5,
        "empty_plan": 0.5,
        "empty_step": 0.5,
        "empty_takeaway": 0.5,
        "missing_conclusion": 0.5,
    }
)


def penalty(violations: Iterable[Violation]) -> float:
    """The reward for a response with these violations: 0.0 for none, else ``-min(2, sum of distinct severities)``.

    An unknown code (which :func:`validate` never produces) weighs the maximum, so that it cannot pass unnoticed.
    """
    codes = {violation.code for violation in violations}
    if not codes:
        return 0.0
    return -min(MAX_PENALTY, sum(SEVERITY.get(code, MAX_PENALTY) for code in codes))


def format_reward(text: str) -> float:
    """0.0 when ``text`` is a valid NPR response, otherwise a penalty in ``[-2, 0)`` scaled by how badly it fails."""
    return penalty(validate(text))
