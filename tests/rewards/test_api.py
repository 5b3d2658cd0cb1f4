"""The public API: Grade's fields and JSON form, errors for bad kinds and gold answers, the kind registry."""

from __future__ import annotations

import json

import pytest

import npr.rewards.verdict as verdict
from npr.rewards import REASON_CODES, Grade, InvalidGold, Kind, grade, kinds, register_kind


def test_grade_round_trips_through_json() -> None:
    result = grade(r"\boxed{\frac12}", "0.5")
    data = json.loads(json.dumps(result.to_dict()))
    assert data == {"correct": True, "extracted": r"\frac12", "reason": "match", "score": 1.0}
    assert Grade.from_dict(data) == result


def test_reason_codes_are_documented() -> None:
    for code in REASON_CODES:
        assert f"``{code}``" in verdict.__doc__
    assert Grade(False, None, "no_answer: no \\boxed{} in the response", 0.0).code == "no_answer"


def test_none_response_is_the_empty_response() -> None:
    assert grade(None, "1").code == "no_answer"


@pytest.mark.parametrize(
    "answer, kind, options",
    [
        ("1", "nonsense", {}),
        (None, "math", {}),
        ("", "math", {}),
        ([], "math", {}),
        ([1, {"a": 1}], "math", {}),
        (True, "math", {}),
        ("BB", "choice", {}),
        (3, "choice", {}),
        ("E", "choice", {"choices": 4}),
        ("A", "choice", {"choices": 0}),
        ("A", "choice", {"choices": 27}),
        ("not json", "zebra", {}),
        ({"header": ["House"], "rows": [["1"]]}, "zebra", {}),
        ({"header": ["House", "Name"], "rows": [["1"]]}, "zebra", {}),
        ({"rows": []}, "zebra", {}),
        ("1", "math", {"timeout": -1}),
    ],
)
def test_programmer_and_data_errors_raise_value_error(answer, kind: str, options: dict) -> None:
    with pytest.raises(ValueError):
        grade("anything \\boxed{1}", answer, kind, **options)


def test_bad_gold_raises_invalid_gold_with_a_clear_message() -> None:
    with pytest.raises(InvalidGold, match="choice gold answer"):
        grade("Answer: B", "banana", "choice")


def test_non_string_response_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        grade(42, "42")  # type: ignore[arg-type]


def test_registry_lists_and_extends_kinds() -> None:
    assert {"math", "choice", "zebra"} <= set(kinds())
    with pytest.raises(ValueError, match="already registered"):
        register_kind(Kind("math", lambda response, answer, *, choices, timeout: Grade.right(None)))


def test_a_failing_grader_is_reported_not_raised() -> None:
    def broken(response: str, answer, *, choices, timeout) -> Grade:
        raise RuntimeError("bug")

    register_kind(Kind("test_broken", broken), replace=True)
    result = grade("x", "y", "test_broken")
    assert (result.correct, result.code) == (False, "unparsable")
