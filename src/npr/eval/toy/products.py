"""``products``: a sum of independent products, ``3*12+7*5+2*9``.

Each branch computes one product; the takeaway adds them as a running sum (``36+35=71``, ``71+18=89``), one
addition of two numbers a line, which a tiny model learns far more easily than a many-term sum.
"""

from __future__ import annotations

import random

from npr.eval.toy.task import ToyProblem, ToyTask


class Products(ToyTask):
    name = "products"

    def draw(self, rng: random.Random, parts: int) -> ToyProblem:
        pairs = tuple((rng.randint(2, 9), rng.randint(2, 12)) for _ in range(parts))  # the times tables to 12
        question = "+".join(f"{a}*{b}" for a, b in pairs)
        return ToyProblem(self.name, question, str(sum(a * b for a, b in pairs)), pairs)

    def plan(self, problem: ToyProblem, i: int) -> str:
        a, b = problem.parts[i]
        return f"{a}*{b}"

    def work(self, problem: ToyProblem, i: int) -> str:
        a, b = problem.parts[i]
        return f"{a}*{b}={a * b}"

    def reduce(self, problem: ToyProblem) -> list[str]:
        values = [a * b for a, b in problem.parts]
        lines, total = [], values[0]
        for v in values[1:]:
            lines.append(f"{total}+{v}={total + v}")
            total += v
        return lines
