"""The :class:`Item`: one evaluation problem, the same shape for every benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Item:
    """One problem of a benchmark.

    Attributes:
        id: unique within its benchmark and stable across loads (results are resumed and compared by it).
        question: the problem text given to the model.
        answer: the gold answer: a LaTeX/plain string for math, a list of strings when every one of several
            answers must be given (OlympiadBench multi-answer), a letter for multiple choice, and a
            ``{"header": [...], "rows": [[...], ...]}`` grid for ZebraLogic.
        meta: everything else from the source (subject, level, unit, size, ...). ``meta["grade"]``, when present,
            holds keyword arguments for :func:`npr.rewards.grade` (e.g. ``{"choices": 4}``).
    """

    id: str
    question: str
    answer: Any
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "question": self.question, "answer": self.answer, "meta": self.meta}
