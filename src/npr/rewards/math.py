r"""Grading a math answer: :func:`grade_math`, the ``"math"`` kind.

1. **Extraction.** The answer is the content of the last ``\boxed{}`` (or ``\fbox``), found by
   :func:`npr.schema.last_boxed`. Free text is never searched: without a box the verdict is ``no_answer``.
2. **Caps.** The extracted answer is refused (``too_long``) when :func:`npr.rewards.guards.refusal` says so.
3. **Normalisation** of both sides by :func:`npr.rewards.normalize.normalize_answer` (units, degrees, percent,
   thousands separators, ``x = 5``, ...).
4. **Comparison** by math-verify (``parse`` then ``verify``, the gold answer first since ``verify`` is not
   symmetric), with its ``signal.alarm`` timeouts switched off so that it runs in any thread; the time bound is
   :func:`npr.rewards.deadline.time_limit` (main thread only) and the caps of step 2 elsewhere.

**Several answers.** When ``answer`` is a list of two or more strings, every one must be given: the response's
answers are those of the run of boxes that ends it (:func:`npr.rewards.answers.trailing_boxes`), each box split at
top-level commas (:func:`npr.rewards.answers.split_answers`), and they must match the gold answers one to one, in any
order (a maximum bipartite matching, so duplicates count). A one-element list is the same as its string. A gold
*string* that is itself a list (``"1,3,5"``, as OlympiadBench stores most multi-answer items) is compared as a whole
by math-verify, which reads it as a set; in that case a run of boxes is joined with commas first.

The gold answer may be a ``str``, an ``int`` or a ``float`` (AMC23 stores ``27.0``), or a list of those; anything
else, or an empty answer, is a data error (:class:`~npr.rewards.verdict.InvalidGold`, a ``ValueError``).

math-verify logs a warning the first time its own timeouts are found switched off; this module filters that one
message out of the ``math_verify`` loggers, since the time bound is provided here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify
from sympy import Basic, MatrixBase

from npr.rewards.answers import split_answers, trailing_boxes
from npr.rewards.deadline import Deadline, time_limit
from npr.rewards.guards import MAX_ANSWERS, refusal
from npr.rewards.normalize import normalize_answer
from npr.rewards.verdict import EXTRA, MISMATCH, MISSING, NO_ANSWER, TIMEOUT, TOO_LONG, UNPARSABLE, Grade, InvalidGold
from npr.schema import last_boxed

__all__ = ["grade_math", "gold_answers", "equivalent"]

_EXTRACTION = (LatexExtractionConfig(), ExprExtractionConfig())


class _DropTimeoutDisabledWarning(logging.Filter):
    """Drops math-verify's notice that its timeouts are off: :func:`time_limit` replaces them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Timeout is disabled" not in str(record.msg)


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


def _parse(text: str) -> list[Any]:
    """math-verify's reading of an already normalised answer: sympy objects, then the string itself."""
    return parse(f"${text}$", extraction_config=_EXTRACTION, parsing_timeout=None)


def equivalent(gold: str, predicted: str) -> bool | None:
    """Whether two answers are equal per math-verify after normalisation; ``None`` if ``predicted`` is unparsable.

    No time bound of its own: callers wrap it in :func:`time_limit`.
    """
    gold_norm, predicted_norm = normalize_answer(gold), normalize_answer(predicted)
    if gold_norm == predicted_norm and gold_norm:
        return True
    predicted_parsed = _parse(predicted_norm)
    if verify(_parse(gold_norm), predicted_parsed, timeout_seconds=None):
        return True
    if not any(isinstance(item, (Basic, MatrixBase)) for item in predicted_parsed):
        return None
    return False


def grade_math(response: str, answer: Any, *, choices: int | None = None, timeout: float | None = 5.0) -> Grade:
    """Grade ``response`` against the gold ``answer`` as described in the module docstring (``choices`` unused)."""
    golds = gold_answers(answer)
    boxes = trailing_boxes(response, MAX_ANSWERS)
    if not boxes:
        return Grade.wrong(None, f"{NO_ANSWER}: {_why_no_box(response)}")
    if len(golds) >= 2:
        extracted = ", ".join(boxes)
        compare: Callable[[], Grade] = partial(_grade_several, golds, boxes, extracted)
    else:
        gold = golds[0]
        extracted = ", ".join(boxes) if len(boxes) > 1 and len(split_answers(gold)) > 1 else boxes[-1]
        compare = partial(_grade_one, gold, extracted)
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


def _grade_one(gold: str, predicted: str) -> Grade:
    verdict = equivalent(gold, predicted)
    if verdict:
        return Grade.right(predicted)
    if verdict is None:
        return Grade.wrong(predicted, f"{UNPARSABLE}: not readable as mathematics")
    return Grade.wrong(predicted, MISMATCH)


def _grade_several(golds: Sequence[str], boxes: Sequence[str], extracted: str) -> Grade:
    predicted = [piece for box in boxes for piece in split_answers(box)]
    if len(predicted) > MAX_ANSWERS:
        return Grade.wrong(extracted, f"{TOO_LONG}: {len(predicted)} answers, over the cap of {MAX_ANSWERS}")
    matched = _matching_size(golds, predicted)
    if matched == len(golds) == len(predicted):
        return Grade.right(extracted)
    unmatched = len(golds) - matched
    if unmatched == 0:
        extra = len(predicted) - matched
        return Grade.wrong(extracted, f"{EXTRA}: {extra} beyond the {len(golds)} answers expected")
    if len(predicted) < len(golds):
        return Grade.wrong(extracted, f"{MISSING}: {unmatched} of {len(golds)} answers")
    return Grade.wrong(extracted, f"{MISMATCH}: {unmatched} of {len(golds)} answers wrong")


def _matching_size(golds: Sequence[str], predicted: Sequence[str]) -> int:
    """The size of a maximum matching between gold and predicted answers that are equivalent (Kuhn's algorithm)."""
    cache: dict[tuple[int, int], bool] = {}

    def edge(g: int, p: int) -> bool:
        if (g, p) not in cache:
            cache[(g, p)] = bool(equivalent(golds[g], predicted[p]))
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
