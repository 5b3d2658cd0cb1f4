"""The result of grading one response: :class:`Grade`, and the stable reason codes it carries.

``Grade.reason`` is ``"<code>"`` or ``"<code>: <detail>"``. The code (``Grade.code``) is stable and meant for
machines (counting failure kinds in a report, filtering a results file); the detail is for people and may change.

=================  ====================================================================================================
code               meaning
=================  ====================================================================================================
``match``          the answer is right (for zebra: every cell is right)
``mismatch``       an answer was found and understood, and it is wrong (zebra: no cell is right)
``partial``        zebra only: some but not all cells are right; ``score`` holds the share of right cells
``no_answer``      nothing to grade: no ``\\boxed{}`` (math), no letter in range (choice), no grid (zebra), an
                   empty or unterminated box
``missing``        multi-answer math: fewer answers than the gold list has; e.g. ``"missing: 1 of 2 answers"``
``extra``          multi-answer math: every gold answer is there, plus answers that match none of them
``unparsable``     the extracted answer could not be read as mathematics, and it is not literally the gold answer;
                   also a grader that failed unexpectedly (logged, see :mod:`npr.rewards.grade`)
``too_long``       the extracted answer is over the size cap, refused without trying (a bound on time in threads)
``timeout``        the comparison ran past its time bound
``worker_died``    :class:`npr.rewards.GradePool` only: the grading process died (e.g. killed for memory)
=================  ====================================================================================================

``score`` is 1.0 or 0.0, except for zebra, where it is the share of right cells (so ``partial`` lies strictly between).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "Grade",
    "InvalidGold",
    "REASON_CODES",
    "MATCH",
    "MISMATCH",
    "PARTIAL",
    "NO_ANSWER",
    "MISSING",
    "EXTRA",
    "UNPARSABLE",
    "TOO_LONG",
    "TIMEOUT",
    "WORKER_DIED",
]

MATCH = "match"
MISMATCH = "mismatch"
PARTIAL = "partial"
NO_ANSWER = "no_answer"
MISSING = "missing"
EXTRA = "extra"
UNPARSABLE = "unparsable"
TOO_LONG = "too_long"
TIMEOUT = "timeout"
WORKER_DIED = "worker_died"

#: Every code a built-in grader can put in ``Grade.reason``, in the order of the table above.
REASON_CODES: tuple[str, ...] = (
    MATCH, MISMATCH, PARTIAL, NO_ANSWER, MISSING, EXTRA, UNPARSABLE, TOO_LONG, TIMEOUT, WORKER_DIED,
)


class InvalidGold(ValueError):
    """The gold answer (data, not model output) is malformed; the message says how."""


@dataclass(frozen=True)
class Grade:
    """The verdict on one response.

    Attributes:
        correct: whether the response is right (zebra: every cell right).
        extracted: the answer as found in the response (the last box's content; the letter; the grid as canonical
            JSON), or ``None`` when nothing was found.
        reason: ``"<code>"`` or ``"<code>: <detail>"``, the code from the table in this module's docstring.
        score: 1.0 or 0.0, or the share of right cells for zebra.
    """

    correct: bool
    extracted: str | None
    reason: str
    score: float

    @property
    def code(self) -> str:
        """The stable part of ``reason``: the text before the first colon."""
        return self.reason.split(":", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the four fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Grade:
        """The inverse of :meth:`to_dict`; keys other than the four fields are ignored."""
        extracted = data.get("extracted")
        return cls(
            correct=bool(data["correct"]),
            extracted=None if extracted is None else str(extracted),
            reason=str(data["reason"]),
            score=float(data["score"]),
        )

    @classmethod
    def right(cls, extracted: str | None, reason: str = MATCH) -> Grade:
        """A correct verdict with score 1.0."""
        return cls(True, extracted, reason, 1.0)

    @classmethod
    def wrong(cls, extracted: str | None, reason: str) -> Grade:
        """An incorrect verdict with score 0.0."""
        return cls(False, extracted, reason, 0.0)
