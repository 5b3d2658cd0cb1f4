"""The hand-written cases of :mod:`tests.rewards.cases`, graded one by one."""

from __future__ import annotations

import pytest

from npr.rewards import Grade, grade

from .cases import ANY, CASES, CHOICE, MATH, ZEBRA, Case


@pytest.mark.parametrize("case", CASES, ids=[f"{case.kind}:{case.id}" for case in CASES])
def test_case(case: Case) -> None:
    result = grade(case.response, case.answer, case.kind, **case.options)
    assert isinstance(result, Grade)
    assert result.correct is case.correct, result
    if case.extracted is not ANY:
        assert result.extracted == case.extracted, result
    if case.code is not ANY:
        assert result.code == case.code, result
    if case.score is not ANY:
        assert result.score == pytest.approx(case.score), result
    if case.kind != "zebra":
        assert result.score == (1.0 if case.correct else 0.0)


def test_the_table_is_big_and_balanced() -> None:
    assert len(CASES) >= 60
    assert len(MATH) >= 40 and len(CHOICE) >= 10 and len(ZEBRA) >= 8
    assert sum(not case.correct for case in CASES) >= 20
    assert len({(case.kind, case.id) for case in CASES}) == len(CASES), "case ids must be unique per kind"
