"""RL training prompts: questions with gold answers, checked before any model loads, and a resumable stream.

* :func:`load_prompts` reads :class:`PromptItem` s from a JSONL file (:class:`~npr.train.config.rl.RLDataConfig`);
  every line needs a question (or ``prompt_ids``) and, when the reward grades answers, a gold answer - each
  failure names the line.
* :class:`PromptStream` hands out prompts in a seeded order, a new permutation each epoch; its position is part of
  every checkpoint, so a resumed run sees exactly the prompts an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from npr.rewards import check_gold
from npr.train.config.rl import RLDataConfig
from npr.train.jsonl import DataError, read_jsonl

WHAT = "RL prompts"


@dataclass(frozen=True)
class PromptItem:
    """One training prompt: ``question`` text or ready ``prompt_ids``, the gold ``answer`` and its grader."""

    id: str
    question: str | None
    answer: Any
    kind: str = "math"
    grade_options: dict[str, Any] = field(default_factory=dict)
    prompt_ids: tuple[int, ...] | None = None


def load_prompts(cfg: RLDataConfig, *, need_answers: bool | Sequence[str]) -> list[PromptItem]:
    """All prompts of ``cfg.path``. ``need_answers``: the reward terms that grade answers (correctness,
    acceleration), or a bool; when any, every prompt needs a gold answer its grader accepts."""
    graders = ["correctness"] if need_answers is True else list(need_answers or [])
    items: list[PromptItem] = []
    seen: set[str] = set()
    for number, record in read_jsonl(cfg.path, WHAT):
        where = f"{WHAT} {cfg.path!r}, line {number}"
        question = record.get(cfg.question_field)
        ids = record.get("prompt_ids")
        if ids is not None:
            if not isinstance(ids, list) or not ids or not all(isinstance(t, int) and not isinstance(t, bool) for t in ids):
                raise DataError(f"{where}: 'prompt_ids' must be a non-empty list of integer token ids")
        elif not isinstance(question, str) or not question.strip():
            raise DataError(
                f"{where}: no question: field {cfg.question_field!r} is missing or empty (fields here: "
                f"{', '.join(record)}; set data.question_field to the right one)"
            )
        answer = record.get(cfg.answer_field)
        kind = record.get("kind", cfg.kind)
        options = record.get("grade_options") or {}
        if not isinstance(options, dict):
            raise DataError(f"{where}: 'grade_options' must be a mapping of grader options, got {type(options).__name__}")
        if "timeout" in options:
            raise DataError(f"{where}: grade_options may not set 'timeout': the run's reward.grade_timeout bounds every grade")
        if graders:
            if answer is None or (isinstance(answer, str) and not answer.strip()):
                raise DataError(
                    f"{where}: no gold answer in field {cfg.answer_field!r}: the reward grades answers (the "
                    f"{' and '.join(graders)} term{'s' if len(graders) > 1 else ''}), so every prompt needs one"
                )
            try:
                check_gold(answer, kind, **options)
            except ValueError as exc:
                raise DataError(f"{where}: {exc}") from None
        raw_id = record.get(cfg.id_field, number)
        pid = str(raw_id)
        if pid in seen:
            raise DataError(f"{where}: id {pid!r} appears twice (ids name prompts in the logs and must be unique)")
        seen.add(pid)
        items.append(PromptItem(pid, question, answer, kind, dict(options), tuple(ids) if ids is not None else None))
    return items


class PromptStream:
    """An endless, seeded stream of prompt indices: epoch e visits every prompt once, in ``permutation(seed, e)``.

    ``state_dict()`` / ``load_state_dict()`` carry the position (epoch, index, total handed out).
    """

    def __init__(self, size: int, seed: int, shuffle: bool = True):
        if size < 1:
            raise ValueError("the prompt stream needs at least one prompt")
        self.size, self.seed, self.shuffle = size, seed, shuffle
        self.epoch, self.index, self.consumed = 0, 0, 0
        self._order = self._permutation(0)

    def _permutation(self, epoch: int) -> list[int]:
        if not self.shuffle:
            return list(range(self.size))
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.size, generator=g).tolist()

    def take(self, n: int) -> list[tuple[int, int]]:
        """The next ``n`` prompts as ``(stream position, prompt index)``; the position is unique over the run."""
        out = []
        for _ in range(n):
            if self.index == self.size:
                self.epoch, self.index = self.epoch + 1, 0
                self._order = self._permutation(self.epoch)
            out.append((self.consumed, self._order[self.index]))
            self.index += 1
            self.consumed += 1
        return out

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "index": self.index, "consumed": self.consumed, "size": self.size}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state["size"] != self.size:
            raise ValueError(
                f"the checkpoint was made with {state['size']} training prompts, the data now holds {self.size}: "
                "resume with the same data"
            )
        self.epoch, self.index, self.consumed = state["epoch"], state["index"], state["consumed"]
        self._order = self._permutation(self.epoch)
