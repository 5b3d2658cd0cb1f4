"""Hand-written NPR texts shared by the schema tests."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TRAJECTORIES = FIXTURES / "trajectories.jsonl"


def block(*plans: str, steps: list[str] | None = None, takeaway: str | None = "Merged.") -> str:
    """A canonical block; ``steps`` default to one per plan, numbered like the plans."""
    lines = ["<guideline>", *(f"<plan>{p}</plan>" for p in plans), "</guideline>"]
    for s in steps if steps is not None else [f"{i}: did {i}" for i in range(1, len(plans) + 1)]:
        lines += ["<step>", s, "</step>"]
    if takeaway is not None:
        lines += ["<takeaway>", takeaway, "</takeaway>"]
    return "\n".join(lines)


ONE = block("1: Only way.")
TWO = block("1: First way.", "2: Second way.")
CONCLUSION = "So the answer is \\boxed{42}."

#: A valid response of three blocks (k = 1, 2, 3) with unicode and LaTeX content.
MULTI = "\n".join(
    [
        block("1: Read the problem: ∑ x² for x ∈ {1,2}."),
        block("1: Compute $1^2 + 2^2$ directly.", "2: Use n(n+1)(2n+1)/6 with n = 2.",
              steps=["1: $1 + 4 = 5$.", "2: $\\frac{2\\cdot 3\\cdot 5}{6} = 5$."], takeaway="Both give 5 ✓."),
        block("1: Check parity.", "2: Check size.", "3: Check sign.", takeaway="All consistent."),
        "The sum is \\boxed{5}.",
    ]
)  # fmt: skip


def fixture_records() -> list[dict]:
    return [json.loads(line) for line in TRAJECTORIES.read_text(encoding="utf-8").splitlines() if line.strip()]
