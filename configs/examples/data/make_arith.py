"""Writes the example configs' data: sums of products, answered in NPR blocks (one branch per product).

    python configs/examples/data/make_arith.py      # rewrites sft-arith.jsonl and rl-arith.jsonl here

``sft-arith.jsonl`` holds ``prompt``/``response`` text pairs (400 problems); ``rl-arith.jsonl`` holds
``id``/``question``/``answer`` (200 other problems). Seeded: the files are the same on every run.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from npr.schema import validate

HERE = Path(__file__).parent


def problem(rng: random.Random) -> tuple[str, list[tuple[int, int]]]:
    pairs = [(rng.randint(2, 19), rng.randint(2, 9)) for _ in range(rng.randint(2, 3))]
    question = "Compute " + " + ".join(f"{a} * {b}" for a, b in pairs) + "."
    return question, pairs


def solution(pairs: list[tuple[int, int]]) -> str:
    plans = "\n".join(f"<plan>{i}: Compute {a} * {b}.</plan>" for i, (a, b) in enumerate(pairs, 1))
    steps = "\n".join(f"<step>\n{i}: {a} * {b} = {a * b}.\n</step>" for i, (a, b) in enumerate(pairs, 1))
    products = [a * b for a, b in pairs]
    total = sum(products)
    text = (
        f"<guideline>\n{plans}\n</guideline>\n{steps}\n<takeaway>\n"
        f"{' + '.join(map(str, products))} = {total}.\n</takeaway>\nThe answer is \\boxed{{{total}}}."
    )
    assert not validate(text), validate(text)
    return text


def main() -> None:
    rng = random.Random(20261128)
    seen: set[str] = set()
    rows = []
    while len(rows) < 600:
        question, pairs = problem(rng)
        if question not in seen:
            seen.add(question)
            rows.append((question, pairs))
    with open(HERE / "sft-arith.jsonl", "w") as f:
        for question, pairs in rows[:400]:
            f.write(json.dumps({"prompt": question, "response": solution(pairs)}) + "\n")
    with open(HERE / "rl-arith.jsonl", "w") as f:
        for i, (question, pairs) in enumerate(rows[400:]):
            f.write(json.dumps({"id": f"arith-{i}", "question": question, "answer": str(sum(a * b for a, b in pairs))}) + "\n")


if __name__ == "__main__":
    main()
