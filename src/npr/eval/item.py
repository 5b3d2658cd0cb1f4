"""The :class:`Item`: one evaluation problem, the same shape for every benchmark."""

from __future__ import annotations

import hashlib
import json
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
        meta: everything else from the source (subject, level, unit, size, ...), as data only.
        grade_options: keyword arguments for :func:`npr.rewards.grade` that this problem needs (e.g.
            ``{"choices": 4}``). A field of its own, so that no column of a user's file can be taken for one.
    """

    id: str
    question: str
    answer: Any
    meta: dict[str, Any] = field(default_factory=dict)
    grade_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "question": self.question, "answer": self.answer, "meta": self.meta,
            "grade_options": self.grade_options,
        }  # fmt: skip

    def fingerprint(self) -> str:
        """A short hash of what the model is asked and graded against: a resumed run checks its old samples by it."""
        blob = json.dumps([self.question, self.answer, self.grade_options], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]
