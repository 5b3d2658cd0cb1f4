"""The toy task interface: one small :class:`ToyTask` that SFT data, RL prompts and evaluation all draw from.

A toy problem decomposes into 2-4 independent parts. A task writes two solutions of every problem:

* :meth:`ToyTask.sequential`: the step-by-step answer without tags - one line per part, then the reduce lines;
* :meth:`ToyTask.parallel`: one NPR block whose k steps each work on one part alone (no step reads a sibling's
  result), and whose takeaway does the reduce; rendered by :func:`npr.schema.render`, so it is valid by
  construction.

Both end with ``\\boxed{answer}`` and are graded exactly by :func:`npr.rewards.grade` (the answer is an integer).

**Splits.** A problem's split follows from a hash of its :meth:`ToyTask.split_key` (:func:`split_of`), which is its
question unless a family says otherwise (``pick`` splits by its expression): one key in ten is a test key. The
test split can therefore never share a key with any training set drawn with any seed - disjoint by construction -
and the generator is byte-stable across processes (its seeds are hashes, not ``hash()``).
"""

from __future__ import annotations

import hashlib
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

from npr.eval.item import Item
from npr.rewards import grade
from npr.schema import Block, Plan, Response, Step, render

Split = Literal["train", "test"]

#: The toy world's instructions, by prompt mode: short, since every character is a token of its tokenizer (the
#: full NPR instruction would cost thousands). ``npr eval`` uses them for the ``toy-*`` benchmarks.
INSTRUCTIONS = {"npr": "answer in parallel blocks", "plain": "answer step by step"}
PARTS = (2, 3, 4)  # the natural branch counts
TEST_SHARE = 10  # one question in TEST_SHARE is a test question


def _digest(question: str) -> bytes:
    return hashlib.sha256(question.encode("utf-8")).digest()


def split_of(key: str) -> Split:
    """The split a problem's key belongs to, from its SHA-256: the same in every process and for every seed."""
    return "test" if int.from_bytes(_digest(key)[:4], "big") % TEST_SHARE == 0 else "train"


def rng_for(*keys: object) -> random.Random:
    """A ``random.Random`` seeded from ``keys`` through SHA-256, so streams do not depend on the process."""
    blob = "\x1f".join(map(str, keys)).encode("utf-8")
    return random.Random(int.from_bytes(hashlib.sha256(blob).digest()[:8], "big"))


@dataclass(frozen=True)
class ToyProblem:
    """One toy problem: the ``question``, its integer ``answer`` (as text) and its independent ``parts``."""

    family: str
    question: str
    answer: str
    parts: tuple[Any, ...]

    @property
    def id(self) -> str:
        return f"{self.family}-{_digest(self.question).hex()[:12]}"

    def item(self) -> Item:
        """The problem as an evaluation :class:`~npr.eval.item.Item` (graded as math)."""
        return Item(self.id, self.question, self.answer, meta={"family": self.family, "parts": len(self.parts)})


class ToyTask(ABC):
    """A family of toy problems. Subclasses say how to draw one and how each part and the reduce are written."""

    name: str

    @abstractmethod
    def draw(self, rng: random.Random, parts: int) -> ToyProblem:
        """One problem with ``parts`` independent parts."""

    @abstractmethod
    def plan(self, problem: ToyProblem, i: int) -> str:
        """The plan of part ``i`` (what its branch will do)."""

    @abstractmethod
    def work(self, problem: ToyProblem, i: int) -> str:
        """Part ``i`` worked out, from the question alone."""

    @abstractmethod
    def reduce(self, problem: ToyProblem) -> list[str]:
        """The lines that merge the parts' results into the answer."""

    def split_key(self, problem: ToyProblem) -> str:
        """The text whose hash decides the split (:func:`split_of`): the question, unless a family needs test
        problems to differ from every training problem in more than the question's wording."""
        return problem.question

    # ---- what every family shares --------------------------------------------------------------------------

    def sequential(self, problem: ToyProblem) -> str:
        """The step-by-step solution without tags."""
        lines = [self.work(problem, i) for i in range(len(problem.parts))] + self.reduce(problem)
        return "\n".join(lines) + f"\n\\boxed{{{problem.answer}}}"

    def parallel(self, problem: ToyProblem) -> str:
        """The NPR solution: one block, one step per part, the reduce in the takeaway."""
        k = len(problem.parts)
        block = Block(
            plans=tuple(Plan(i + 1, self.plan(problem, i)) for i in range(k)),
            steps=tuple(Step(i + 1, self.work(problem, i)) for i in range(k)),
            takeaway="\n".join(self.reduce(problem)),
        )
        return render(Response(blocks=(block,), conclusion=f"\\boxed{{{problem.answer}}}"))

    def correct(self, response: str | None, problem: ToyProblem) -> bool:
        """Exact grading through :func:`npr.rewards.grade`."""
        return grade(response, problem.answer, "math").correct

    def problems(self, split: Split, n: int, *, seed: int = 0, parts: tuple[int, ...] = PARTS) -> list[ToyProblem]:
        """``n`` distinct problems of ``split``, drawn with ``seed``; the part count cycles through ``parts``."""
        if n < 0:
            raise ValueError(f"n={n} must be >= 0")
        bad = [p for p in parts if p not in PARTS]
        if not parts or bad:
            raise ValueError(f"parts={parts}: each part count must be one of {PARTS}")
        rng = rng_for(self.name, split, seed)
        out: list[ToyProblem] = []
        seen: set[str] = set()
        tries = 0
        while len(out) < n:
            tries += 1
            if tries > 1000 * (n + 10):
                raise ValueError(f"{self.name}: could not draw {n} distinct {split} problems (only {len(out)} exist)")
            problem = self.draw(rng, parts[len(out) % len(parts)])
            if problem.question in seen or split_of(self.split_key(problem)) != split:
                continue
            seen.add(problem.question)
            out.append(problem)
        return out
