"""``largest``: the largest of 2-4 small expressions, ``largest of 7*8+5 6*9+2 4*7+9``.

Each branch evaluates one expression, one operation at a time (``7*8=56 56+5=61``); the takeaway compares the
values and names the largest (``61 is the largest``). Comparing two-digit numbers reads them most-significant
digit first, the order they are written in, so the reduce is easy to learn, unlike a many-term sum.
"""

from __future__ import annotations

import random

from npr.eval.toy.task import ToyProblem, ToyTask


class Largest(ToyTask):
    name = "largest"

    def draw(self, rng: random.Random, parts: int) -> ToyProblem:
        while True:
            terms = tuple((rng.randint(2, 9), rng.randint(2, 9), rng.randint(1, 19)) for _ in range(parts))
            values = sorted((a * b + c for a, b, c in terms), reverse=True)
            if values[0] != values[1]:  # one largest value
                break
        question = "largest of " + " ".join(f"{a}*{b}+{c}" for a, b, c in terms)
        return ToyProblem(self.name, question, str(values[0]), terms)

    def plan(self, problem: ToyProblem, i: int) -> str:
        a, b, c = problem.parts[i]
        return f"{a}*{b}+{c}"

    def work(self, problem: ToyProblem, i: int) -> str:
        a, b, c = problem.parts[i]
        return f"{a}*{b}={a * b} {a * b}+{c}={a * b + c}"

    def reduce(self, problem: ToyProblem) -> list[str]:
        return [f"{problem.answer} is the largest"]
