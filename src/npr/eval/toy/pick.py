"""``pick``: which candidate is a multiple of k, ``mult of 7: 25 21 30``.

Exactly one candidate is a multiple of k. Each branch divides one candidate by k and says whether the remainder is
0 (``21=7*3+0 yes``); the takeaway names the winner.
"""

from __future__ import annotations

import random

from npr.eval.toy.task import ToyProblem, ToyTask


class Pick(ToyTask):
    name = "pick"

    def draw(self, rng: random.Random, parts: int) -> ToyProblem:
        k = rng.randint(3, 9)
        winner = k * rng.randint(2, 11)
        others: set[int] = set()
        while len(others) < parts - 1:
            x = rng.randint(10, 99)
            if x % k:
                others.add(x)
        candidates = [winner, *sorted(others)]
        rng.shuffle(candidates)
        question = f"mult of {k}: " + " ".join(map(str, candidates))
        return ToyProblem(self.name, question, str(winner), tuple((k, x) for x in candidates))

    def plan(self, problem: ToyProblem, i: int) -> str:
        k, x = problem.parts[i]
        return f"{x}/{k}"

    def work(self, problem: ToyProblem, i: int) -> str:
        k, x = problem.parts[i]
        return f"{x}={k}*{x // k}+{x % k} {'yes' if x % k == 0 else 'no'}"

    def reduce(self, problem: ToyProblem) -> list[str]:
        return [f"{problem.answer} is the one"]
