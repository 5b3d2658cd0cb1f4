r"""Size caps that keep pathological answers away from sympy: :func:`refusal`.

In the main thread a grader's time is bounded by :func:`npr.rewards.deadline.time_limit`; in other threads nothing
can interrupt it, so inputs whose cost is known to explode are refused up front, the same way in every thread (so the
verdict does not depend on where grading runs). :class:`npr.rewards.GradePool` is the hard bound for what slips
through.

Refused:

* an extracted answer longer than :data:`MAX_ANSWER_CHARS` characters, or nested deeper than :data:`MAX_DEPTH`,
  a brace counting two levels and a parenthesis or bracket one: the time of math-verify's LaTeX parser (ANTLR)
  grows exponentially with brace depth (seconds at 13 nested bare braces), and real answers stay far below;
* more than :data:`MAX_ANSWERS` answers in a multi-answer response;
* a literal integer power tower whose value has more than :data:`MAX_DIGITS` digits (``9^{9^{9}}``): sympy evaluates
  integer powers exactly, in a single C call that no signal interrupts;
* the factorial of a literal over :data:`MAX_FACTORIAL` (``(10^{100})!``), for the same reason.
"""

from __future__ import annotations

import math
import re

__all__ = ["refusal", "MAX_ANSWER_CHARS", "MAX_DEPTH", "MAX_ANSWERS", "MAX_DIGITS", "MAX_FACTORIAL"]

MAX_ANSWER_CHARS = 1000
MAX_DEPTH = 20
MAX_ANSWERS = 32
MAX_DIGITS = 100_000
MAX_FACTORIAL = 20_000

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_SPACES = re.compile(r"\s*")
_CLOSERS = re.compile(r"[\s)}\]]*")


def refusal(answer: str) -> str | None:
    """Why ``answer`` is refused (the detail of a ``too_long`` reason), or ``None`` when it may be graded."""
    if len(answer) > MAX_ANSWER_CHARS:
        return f"the answer has {len(answer)} characters, over the cap of {MAX_ANSWER_CHARS}"
    if _depth(answer) > MAX_DEPTH:
        return "brackets nested too deeply"
    for start in _number_starts(answer):
        log10_value, end = _tower_log10(answer, start)
        if log10_value > MAX_DIGITS:
            return "a literal power too large to evaluate"
        after = _CLOSERS.match(answer, end)
        if after is not None and answer[after.end() : after.end() + 1] == "!":
            if log10_value > math.log10(MAX_FACTORIAL):
                return "a factorial too large to evaluate"
    return None


def _depth(text: str) -> int:
    """The deepest weighted nesting in ``text``: 2 per brace, 1 per parenthesis or bracket (stray closers ignored)."""
    stack: list[int] = []
    depth = deepest = 0
    for char in text:
        if char in "([{":
            weight = 2 if char == "{" else 1
            stack.append(weight)
            depth += weight
            deepest = max(deepest, depth)
        elif char in ")]}" and stack:
            depth -= stack.pop()
    return deepest


def _number_starts(text: str) -> list[int]:
    """Where each run of digits begins (not inside a decimal number)."""
    return [
        index
        for index, char in enumerate(text)
        if char.isdigit() and (index == 0 or not (text[index - 1].isdigit() or text[index - 1] == "."))
    ]


def _skip_spaces(text: str, pos: int) -> int:
    match = _SPACES.match(text, pos)
    return pos if match is None else match.end()


def _tower_log10(text: str, pos: int) -> tuple[float, int]:
    """log10 of the literal tower ``a^{b^{...}}`` (or ``a^b`` with one digit) at ``pos``, and where it ends.

    ``pos`` must be at a digit. The estimate is about magnitude only: a negative exponent counts like a positive one
    (sympy builds the huge denominator all the same) and a base of at most 1 gives 0.
    """
    number = _NUMBER.match(text, pos)
    assert number is not None
    literal = number.group()
    base_log = _literal_log10(literal)
    end = number.end()
    caret = _skip_spaces(text, end)
    if text[caret : caret + 1] != "^":
        return base_log, end
    exponent_at = _skip_spaces(text, caret + 1)
    if text[exponent_at : exponent_at + 1] == "{":
        inner_at = _skip_spaces(text, exponent_at + 1)
        if text[inner_at : inner_at + 1] == "-":
            inner_at = _skip_spaces(text, inner_at + 1)
        if not text[inner_at : inner_at + 1].isdigit():
            return base_log, end
        exponent_log, inner_end = _tower_log10(text, inner_at)
        close = _skip_spaces(text, inner_end)
        if text[close : close + 1] != "}":
            return base_log, end
        end = close + 1
    elif text[exponent_at : exponent_at + 1].isdigit():
        exponent_log = _literal_log10(text[exponent_at])
        end = exponent_at + 1
    else:
        return base_log, end
    if base_log <= 0:
        return 0.0, end
    # 10**exponent_log overflows a float long before it matters: anything past 1e300 is simply infinite.
    exponent = math.inf if exponent_log > 300 else 10.0**exponent_log
    return base_log * exponent, end


def _literal_log10(literal: str) -> float:
    """log10 of a non-negative decimal literal (0 for values of at most 1)."""
    whole = literal.split(".", 1)[0].lstrip("0")
    if len(whole) > 15:
        return float(len(whole) - 1)
    value = float(literal)
    return math.log10(value) if value > 1 else 0.0
