"""``pick``: which candidate makes an expression end in 0, ``3*x+4 ends in 0, x in 5 2 7``.

Exactly one candidate does. Each branch tries one candidate forward, one operation at a time, and decides from the
last digit it wrote (``3*2=6 6+4=10 yes``); the takeaway names the winner (``x=2``). The reduce is a copy, and each
branch is several times longer than its plan, so running the branches side by side shortens the critical path.

Why "ends in 0" and not "equals c": the 0.56M toy seed, trained for four minutes, computed ``3*7+4=25`` right
but could not tell whether ``25 vs 25`` was equal (two numbers, digit by digit), and picked the wrong candidate
half the time; the last digit is one token, next to where the decision is written.

Problems are split by their expression (``3*x+4``), not by the whole question: which candidates qualify follows
from the expression alone, so a model that learned the training expressions' answers by heart gains nothing on the
test split.
"""

from __future__ import annotations

import random

from npr.eval.toy.task import ToyProblem, ToyTask

CANDIDATES = range(1, 10)


class Pick(ToyTask):
    name = "pick"

    def draw(self, rng: random.Random, parts: int) -> ToyProblem:
        while True:
            a, b = rng.randint(2, 9), rng.randint(1, 99)
            good = [x for x in CANDIDATES if (a * x + b) % 10 == 0]
            bad = [x for x in CANDIDATES if (a * x + b) % 10]
            if good and len(bad) >= parts - 1:
                break
        x = rng.choice(good)
        candidates = [x, *rng.sample(bad, parts - 1)]
        rng.shuffle(candidates)
        question = f"{a}*x+{b} ends in 0, x in " + " ".join(map(str, candidates))
        return ToyProblem(self.name, question, str(x), tuple((a, b, v) for v in candidates))

    def split_key(self, problem: ToyProblem) -> str:
        a, b, _ = problem.parts[0]
        return f"{a}*x+{b}"  # the expression: which x qualify follows from it alone

    def plan(self, problem: ToyProblem, i: int) -> str:
        return f"try x={problem.parts[i][2]}"

    def work(self, problem: ToyProblem, i: int) -> str:
        a, b, v = problem.parts[i]
        return f"{a}*{v}={a * v} {a * v}+{b}={a * v + b} {'no' if (a * v + b) % 10 else 'yes'}"

    def reduce(self, problem: ToyProblem) -> list[str]:
        return [f"x={problem.answer}"]
