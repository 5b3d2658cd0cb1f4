r"""Every gold answer of the benchmarks, boxed, grades right against itself, and math-verify can read all but a few.

The bundled sets are always swept; AIME25, HMMT25 and Minerva when the shared benchmark folder is here. Each gold is
boxed in a lightly rewritten form (no ``$``, no spaces except between letters, ``\dfrac`` as ``\frac``) and graded
with the grader's "same normalised text" shortcut switched off, so that the verdict is the comparison of the two
readings. A gold that math-verify cannot read at all is graded by that shortcut alone; those are listed in
:data:`UNREADABLE`, so a new one fails the test (and the failure says how many there are).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest

import npr.rewards.math as math_grader
from npr.eval import load_benchmark
from npr.eval.item import Item
from npr.rewards import check_gold, grade
from npr.rewards.math import readable

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
# The slowest first, so that parallel workers share the load.
BUNDLED = ("olympiadbench", "math500", "gsm8k", "aime24", "amc23")
IN_SHARED = ("minerva", "aime25", "hmmt25")
#: Golds that math-verify cannot read, by benchmark and id, and why.
UNREADABLE = {
    # "f(x) = ax + b, where b is an arbitrary integer, and a is ...": a family of functions described in words.
    "olympiadbench": {"1965"},
    # 27: a differential equation in M_\odot; 261, 268, 269: E_0, E_1, E_2, which math-verify takes for Euler's e.
    "minerva": {"27", "261", "268", "269"},
}

_DOLLAR = re.compile(r"(?<!\\)\$")
# Spaces go, except between two letters, where they may end a command (\pi r) or separate variables.
_SPACE = re.compile(r"(?<![A-Za-z])\s+|\s+(?![A-Za-z])")


def _rewrite(gold: str) -> str:
    return _SPACE.sub("", _DOLLAR.sub("", gold).replace(r"\dfrac", r"\frac"))


def _response(answer: str | list[str], rewrite: bool = True) -> str:
    golds = answer if isinstance(answer, list) else [answer]
    boxes = ", ".join(f"$\\boxed{{{_rewrite(gold) if rewrite else gold}}}$" for gold in golds)
    return f"So the answer is {boxes}."


def _golds(item: Item) -> list[str]:
    return item.answer if isinstance(item.answer, list) else [item.answer]


def _load(name: str) -> list[Item]:
    if name in BUNDLED:
        return load_benchmark(name, offline=True)
    if not SHARED.is_dir():
        pytest.skip("the shared benchmark files are not here")
    return load_benchmark(name, data_dir=SHARED, offline=True)


@pytest.mark.parametrize("name", BUNDLED + IN_SHARED)
def test_every_gold_grades_right_against_itself(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    items = _load(name)
    # Each gold is read once, for the readability count and for grading: that halves the time.
    monkeypatch.setattr(math_grader, "_reading", lru_cache(maxsize=None)(math_grader._reading))
    for item in items:
        check_gold(item.answer, "math", **item.grade_options)
    unreadable = {item.id for item in items if not all(readable(gold) for gold in _golds(item))}
    assert unreadable == UNREADABLE.get(name, set()), f"{name}: {len(unreadable)} unreadable golds: {unreadable}"
    for item in items:
        if item.id in unreadable:
            assert grade(_response(item.answer, rewrite=False), item.answer, **item.grade_options).correct, item
    monkeypatch.setattr(math_grader, "_literally_equal", lambda gold, predicted: False)
    wrong = []
    for item in items:
        if item.id not in unreadable:
            result = grade(_response(item.answer), item.answer, timeout=30.0, **item.grade_options)
            if not result.correct:
                wrong.append((item.id, item.answer, result.reason))
    assert not wrong, f"{name}: {len(wrong)} of {len(items)} golds graded wrong against themselves: {wrong}"
