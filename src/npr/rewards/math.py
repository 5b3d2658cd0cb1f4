r"""Grading a math answer: :func:`grade_math`, the ``"math"`` kind.

1. **Extraction.** The answer is the content of the last ``\boxed{}`` (or ``\fbox``), found by
   :func:`npr.schema.last_boxed`. Free text is never searched: without a box the verdict is ``no_answer``.
2. **Caps.** The extracted answer is refused (``too_long``) when :func:`npr.rewards.guards.refusal` says so.
3. **Normalisation** of both sides by :func:`npr.rewards.normalize.normalize_answer` (units, degrees, percent,
   thousands separators, ``x = 5``, ...). Equal normalised texts are equal answers.
4. **Reading.** Each side is read by math-verify's LaTeX parser. Its fallback, a plain-expression reader, is used only
   when it reads the *whole* text: otherwise it picks a stray number out of LaTeX it cannot read (``-1./3`` as -1,
   ``\hbar\omega(v+1/2) - \frac{E_0^2 e^2}{2m\omega^2}`` as 2). A side with no reading is unparsable. Symbols of
   the answer take the assumptions of the gold's same-named ones (math-verify makes ``i`` complex in ``2 i`` and real
   in ``2i``, which would make ``1+2i`` differ from ``1 + 2 i``).
5. **Comparison.** Base-``b`` literals (``52_8``) and plain numbers are decided by :mod:`npr.rewards.numeric`
   (relative tolerances instead of math-verify's rounding to six decimals); everything else by math-verify's
   ``verify``, the gold answer first since it is not symmetric, with its ``signal.alarm`` timeouts switched off so
   that it runs in any thread. The time bound is :func:`npr.rewards.deadline.time_limit` (main thread only) and the
   caps of step 2 elsewhere.

**Several answers.** When ``answer`` is a list of two or more strings, every one must be given: the response's
answers are those of the run of boxes that ends it (:func:`npr.rewards.answers.trailing_boxes`), each box split at
top-level commas (:func:`npr.rewards.answers.split_answers`); one set given alone (``\{(1,2), (3,4)\}``, also as
``(a, b) \in \{...\}``) stands for its members (:func:`npr.rewards.answers.set_members`). They must match the gold
answers one to one, in any order (a maximum bipartite matching, so duplicates count). A one-element list is the same
as its string. A gold *string* that is itself a list (``"1,3,5"``) is compared as a whole by math-verify, which reads
it as a set; in that case a run of boxes is joined with commas first.

The gold answer may be a ``str``, an ``int`` or a ``float`` (AMC23 stores ``27.0``), or a list of those; anything
else, or an empty answer, is a data error (:class:`~npr.rewards.verdict.InvalidGold`, a ``ValueError``). The one
option, ``tolerance``, is an absolute tolerance for numeric answers (a non-negative number), on top of the default
comparison: OlympiadBench gives one for a few problems.

math-verify logs a warning the first time its own timeouts are found switched off; this module filters that one
message out of the ``math_verify`` loggers, since the time bound is provided here.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from functools import cached_property, partial
from typing import Any

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from sympy import Basic, MatrixBase, Symbol

from npr.rewards.answers import set_members, split_answers, trailing_boxes
from npr.rewards.deadline import Deadline, time_limit
from npr.rewards.guards import MAX_ANSWERS, refusal
from npr.rewards.normalize import normalize_answer
from npr.rewards.numeric import base_literals_equal, numbers_equal
from npr.rewards.verdict import EXTRA, MISMATCH, MISSING, NO_ANSWER, TIMEOUT, TOO_LONG, UNPARSABLE, Grade, InvalidGold
from npr.schema import last_boxed

__all__ = ["grade_math", "check_math_gold", "gold_answers", "equivalent", "readable"]

_LATEX = (LatexExtractionConfig(),)
_EXPRESSION = (ExprExtractionConfig(),)
#: A sympy reading of an answer.
Reading = Basic | MatrixBase


class _DropTimeoutDisabledWarning(logging.Filter):
    """Drops math-verify's notice that its timeouts are off: :func:`time_limit` replaces them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in str(record.msg)


_PLUS_MINUS = re.compile(r"\\pm(?![A-Za-z])")

def _quiet_math_verify() -> None:
    for name in ("math_verify.parser", "math_verify.grader"):
        logging.getLogger(name).addFilter(_DropTimeoutDisabledWarning())


_quiet_math_verify()


def gold_answers(answer: Any) -> list[str]:
    """The gold answer as a non-empty list of non-empty strings; :class:`InvalidGold` when it is malformed."""
    items = list(answer) if isinstance(answer, (list, tuple)) else [answer]
    if not items:
        raise InvalidGold("math gold answer: an empty list")
    golds = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            kind = type(item).__name__
            raise InvalidGold(f"math gold answer: expected str, int, float or a list of them, got {kind}")
        text = str(item).strip()
        if not text:
            raise InvalidGold("math gold answer: an empty string")
        golds.append(text)
    return golds


def _check_tolerance(tolerance: Any) -> None:
    if tolerance is None:
        return
    number = not isinstance(tolerance, bool) and isinstance(tolerance, (int, float))
    if not number or not math.isfinite(tolerance) or tolerance < 0:
        raise InvalidGold(f"math: tolerance must be a non-negative number, got {tolerance!r}")


def check_math_gold(answer: Any, *, tolerance: float | None = None) -> None:
    """Raise :class:`InvalidGold` when ``answer`` or ``tolerance`` is malformed (see the module docstring)."""
    gold_answers(answer)
    _check_tolerance(tolerance)


def _reading(text: str) -> Reading | None:
    """math-verify's reading of an already normalised answer (step 4 of the module docstring), or ``None``."""
    for config in (_LATEX, _EXPRESSION):
        parsed = parse(f"${text}$", extraction_config=config, parsing_timeout=None)
        found = [item for item in parsed if isinstance(item, (Basic, MatrixBase))]
        if not found:
            continue
        if config is _EXPRESSION and not any(isinstance(item, str) and item.strip() == text.strip() for item in parsed):
            return None
        return found[0]
    return None


def readable(answer: str) -> bool:
    """Whether math-verify reads ``answer`` (normalised first) as mathematics."""
    return _reading(normalize_answer(answer)) is not None


def _align_symbols(gold: Reading, predicted: Reading) -> Reading:
    """``predicted`` with each symbol replaced by the gold's symbol of the same name, assumptions and all."""
    by_name = {symbol.name: symbol for symbol in gold.free_symbols if isinstance(symbol, Symbol)}
    swap = {
        symbol: by_name[symbol.name]
        for symbol in predicted.free_symbols
        if isinstance(symbol, Symbol) and symbol.name in by_name and symbol != by_name[symbol.name]
    }
    return predicted.xreplace(swap) if swap else predicted


def _literally_equal(gold: str, predicted: str) -> bool:
    """Whether two normalised answers are the same text (a test switches this off to exercise the readings)."""
    return bool(gold) and gold == predicted


class _Answer:
    """One answer, normalised at once and read by math-verify when first needed (so at most once)."""

    def __init__(self, text: str) -> None:
        self.text = normalize_answer(text)

    @cached_property
    def reading(self) -> Reading | None:
        return _reading(self.text)


def equivalent(gold: str, predicted: str, tolerance: float | None = None) -> bool | None:
    """Whether two answers are equal (steps 3 to 5 of the module docstring); ``None`` if ``predicted`` is unparsable.

    No time bound of its own: callers wrap it in :func:`time_limit`.
    """
    return _equal(_Answer(gold), _Answer(predicted), tolerance)


def _equal(gold: _Answer, predicted: _Answer, tolerance: float | None) -> bool | None:
    if _literally_equal(gold.text, predicted.text):
        return True
    literal = base_literals_equal(gold.text, predicted.text)
    if literal is not None:
        return literal
    predicted_reading = predicted.reading
    if predicted_reading is None:
        return None
    gold_reading = gold.reading
    if gold_reading is None:
        return False
    predicted_reading = _align_symbols(gold_reading, predicted_reading)
    numeric = numbers_equal(gold_reading, predicted_reading, tolerance)
    if numeric is not None:
        return numeric
    return bool(verify(gold_reading, predicted_reading, timeout_seconds=None))


def grade_math(response: str, answer: Any, *, timeout: float | None = 5.0, tolerance: float | None = None) -> Grade:
    """Grade ``response`` against the gold ``answer`` as described in the module docstring."""
    golds = gold_answers(answer)
    _check_tolerance(tolerance)
    boxes = trailing_boxes(response, MAX_ANSWERS)
    if not boxes:
        return Grade.wrong(None, f"{NO_ANSWER}: {_why_no_box(response)}")
    if len(golds) >= 2:
        extracted = ", ".join(boxes)
        compare: Callable[[], Grade] = partial(_grade_several, golds, boxes, extracted, tolerance)
    else:
        gold = golds[0]
        extracted = ", ".join(boxes) if len(boxes) > 1 and len(split_answers(gold)) > 1 else boxes[-1]
        compare = partial(_grade_one, gold, extracted, tolerance)
    if not extracted:
        return Grade.wrong(extracted, f"{NO_ANSWER}: an empty \\boxed{{}}")
    refused = refusal(extracted)
    if refused is not None:
        return Grade.wrong(extracted, f"{TOO_LONG}: {refused}")
    try:
        with time_limit(timeout):
            return compare()
    except Deadline:
        return Grade.wrong(extracted, f"{TIMEOUT}: over {timeout} s")
    except RecursionError:
        return Grade.wrong(extracted, f"{UNPARSABLE}: nested too deeply")


def _why_no_box(response: str) -> str:
    if last_boxed(response) is None and ("\\boxed" in response or "\\fbox" in response):
        return "the last \\boxed{} is not closed"
    return "no \\boxed{} in the response"


def _grade_one(gold: str, predicted: str, tolerance: float | None) -> Grade:
    verdict = equivalent(gold, predicted, tolerance)
    if verdict:
        return Grade.right(predicted)
    if verdict is None:
        return Grade.wrong(predicted, f"{UNPARSABLE}: not readable as mathematics")
    return Grade.wrong(predicted, MISMATCH)


def _grade_several(golds: Sequence[str], boxes: Sequence[str], extracted: str, tolerance: float | None) -> Grade:
    predicted = [piece for box in boxes for piece in split_answers(box)]
    if len(predicted) == 1:
        predicted = set_members(predicted[0]) or predicted
    predicted = [branch for piece in predicted for branch in _plus_minus(piece)]
    if len(predicted) > MAX_ANSWERS:
        return Grade.wrong(extracted, f"{TOO_LONG}: {len(predicted)} answers, over the cap of {MAX_ANSWERS}")
    matched = _matching_size(golds, predicted, tolerance)
    if matched == len(golds) == len(predicted):
        return Grade.right(extracted)
    unmatched = len(golds) - matched
    if unmatched == 0:
        extra = len(predicted) - matched
        return Grade.wrong(extracted, f"{EXTRA}: {extra} beyond the {len(golds)} answers expected")
    if len(predicted) < len(golds):
        return Grade.wrong(extracted, f"{MISSING}: {unmatched} of {len(golds)} answers")
    return Grade.wrong(extracted, f"{MISMATCH}: {unmatched} of {len(golds)} answers wrong")


def _plus_minus(piece: str) -> list[str]:
    r"""``a \pm b`` as its two answers ``a + b`` and ``a - b``; a piece with no or several ``\pm`` as it is (several
    would be a product of sign choices that the gold rarely lists in full)."""
    if len(_PLUS_MINUS.findall(piece)) != 1:
        return [piece]
    return [_PLUS_MINUS.sub("+", piece), _PLUS_MINUS.sub("-", piece)]


def _matching_size(golds: Sequence[str], predicted: Sequence[str], tolerance: float | None) -> int:
    """The size of a maximum matching between gold and predicted answers that are equivalent (Kuhn's algorithm)."""
    gold_forms, predicted_forms = [_Answer(text) for text in golds], [_Answer(text) for text in predicted]
    cache: dict[tuple[int, int], bool] = {}

    def edge(g: int, p: int) -> bool:
        if (g, p) not in cache:
            cache[(g, p)] = bool(_equal(gold_forms[g], predicted_forms[p], tolerance))
        return cache[(g, p)]

    owner: list[int | None] = [None] * len(predicted)

    def augment(g: int, seen: list[bool]) -> bool:
        for p in range(len(predicted)):
            if seen[p] or not edge(g, p):
                continue
            seen[p] = True
            current = owner[p]
            if current is None or augment(current, seen):
                owner[p] = g
                return True
        return False

    return sum(augment(g, [False] * len(predicted)) for g in range(len(golds)))
