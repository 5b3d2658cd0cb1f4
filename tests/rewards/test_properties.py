"""Properties: grading never raises on any text, and is deterministic."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npr.rewards import Grade, grade

from .cases import CASES

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Every code point, lone surrogates included.
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=200)
LATEX_BITS = [
    "\\boxed{", "\\boxed ", "\\fbox{", "}", "{", "\\frac{", "\\sqrt", "^", "_", "\\left(", "\\right)", "1", "2.5", "x",
    ",", "=", "\\%", "^\\circ", "\\text{ cm}", "$", "\\{", "\\}", "(", ")", "[", "]", "\\infty", "-", "e5", " ", "\\\\",
    "!", "9^{9^{", "\ud800", "Answer: (B)", "| House | Name |", "|---|---|", '{"House 1": {"Name": "A"}}', "```json",
]  # fmt: skip
LATEX_SOUP = st.lists(st.sampled_from(LATEX_BITS), max_size=30).map("".join)
RESPONSES = ANY_TEXT | LATEX_SOUP
ZEBRA_GOLD = {"header": ["House", "Name"], "rows": [["1", "A"], ["2", "B"]]}


def _check(result: Grade) -> None:
    assert isinstance(result, Grade)
    assert 0.0 <= result.score <= 1.0
    assert result.correct == (result.score == 1.0)
    assert result.extracted is None or isinstance(result.extracted, str)
    assert Grade.from_dict(result.to_dict()) == result


@SETTINGS
@given(RESPONSES, st.sampled_from(["1/2", "(1,2)", r"\{1,2\}", "x^2", "1,234", "27.0"]))
def test_math_never_raises(response: str, gold: str) -> None:
    _check(grade(response, gold, timeout=2.0))


@SETTINGS
@given(RESPONSES)
def test_math_multi_answer_never_raises(response: str) -> None:
    _check(grade(response, ["1", "(2,3)"], timeout=2.0))


@SETTINGS
@given(RESPONSES, st.sampled_from("ABCD"))
def test_choice_never_raises(response: str, gold: str) -> None:
    _check(grade(response, gold, "choice"))


@SETTINGS
@given(RESPONSES)
def test_zebra_never_raises(response: str) -> None:
    _check(grade(response, ZEBRA_GOLD, "zebra"))


ADVERSARIAL = {
    "spaces-after-answer": "answer" + " " * 50_000 + ".",
    "many-boxes": "\\boxed{1} " * 20_000,
    "unclosed-boxes": "\\boxed{" * 20_000,
    "braces": "{" * 50_000,
    "nested-json-prefixes": '{"a":[' * 2_000 + "1," * 50_000,
    "many-json-objects": '{"House 1": {"Name": "A"}} ' * 5_000,
    "long-table": "| House | Name |\n|---|---|\n" + "| 1 | A |\n" * 20_000,
    "long-glue": "\\boxed{1}" + " and " * 20_000 + "\\boxed{2}",
}


@pytest.mark.parametrize("response", list(ADVERSARIAL.values()), ids=list(ADVERSARIAL))
def test_adversarial_responses_are_graded_quickly(response: str) -> None:
    started = time.monotonic()
    for kind, gold in (("math", "1"), ("math", ["1", "2"]), ("choice", "B"), ("zebra", ZEBRA_GOLD)):
        _check(grade(response, gold, kind))
    assert time.monotonic() - started < 3.0


def test_huge_response_is_fine() -> None:
    response = "word " * 200_000 + r"\boxed{5}"
    assert grade(response, "5").correct
    assert not grade(response, "B", "choice").correct
    assert not grade(response, ZEBRA_GOLD, "zebra").correct


def test_repeated_grading_is_identical() -> None:
    for case in CASES:
        first = grade(case.response, case.answer, case.kind, **case.options)
        assert all(grade(case.response, case.answer, case.kind, **case.options) == first for _ in range(2))
