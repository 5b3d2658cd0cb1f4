"""The public API: Grade's fields and JSON form, errors for bad kinds and gold answers, the kind registry."""

from __future__ import annotations

import json

import pytest

import npr.rewards.verdict as verdict
from npr.rewards import REASON_CODES, Grade, InvalidGold, Kind, check_gold, grade, kinds, register_kind


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
        ("1", "math", {"choices": 4}),
        ("1", "math", {"tolerance": -0.1}),
        ("1", "math", {"tolerance": float("nan")}),
        ("1", "math", {"tolerance": True}),
        ("1", "math", {"tolerance": "0.1"}),
        ("B", "choice", {"tolerance": 0.1}),
        ("BB", "choice", {"choices": 4}),
        (["A"], "choice", {}),
        ({"header": ["House", "Name"], "rows": [["1", "A"]]}, "zebra", {"choices": 2}),
        ({"header": ["House", "Name"]}, "zebra", {}),
        ([["1", "A"]], "zebra", {}),
    ],
)
def test_programmer_and_data_errors_raise_value_error(answer, kind: str, options: dict) -> None:
    with pytest.raises(ValueError):
        grade("anything \\boxed{1}", answer, kind, **options)
    with pytest.raises(ValueError):
        check_gold(answer, kind, **options)


@pytest.mark.parametrize(
    "answer, kind, options",
    [
        ("1", "math", {}),
        (27.0, "math", {"tolerance": 0.1}),
        (["69", "84"], "math", {"timeout": 2.0}),
        ("(b)", "choice", {}),
        ("E", "choice", {"choices": 5}),
        ({"header": ["House", "Name"], "rows": [["1", "A"]]}, "zebra", {}),
        ('{"header": ["House", "Name"], "rows": [["1", "A"]]}', "zebra", {}),
    ],
)
def test_check_gold_accepts_what_grade_accepts(answer, kind: str, options: dict) -> None:
    assert check_gold(answer, kind, **options) is None
    grade("anything", answer, kind, **options)


@pytest.mark.parametrize(
    "answer, kind, message",
    [
        ("", "math", "math gold answer: an empty string"),
        ([], "math", "math gold answer: an empty list"),
        ({"a": 1}, "math", "expected str, int, float or a list of them, got dict"),
        ("banana", "choice", "expected a letter such as 'B'"),
        (2, "choice", "expected a letter, got int"),
        ({"rows": [["1", "A"]]}, "zebra", "expected {\"header\""),
        ({"header": ["House"], "rows": [["1"]]}, "zebra", "needs a house column, at least one attribute"),
    ],
)
def test_check_gold_says_what_is_wrong(answer, kind: str, message: str) -> None:
    with pytest.raises(InvalidGold) as error:
        check_gold(answer, kind)
    assert message in str(error.value)


def test_unknown_option_is_a_value_error_naming_the_options() -> None:
    with pytest.raises(ValueError, match=r"grading kind 'math' takes no option 'choices'; its options are: timeout, "
                       r"tolerance"):
        grade(r"\boxed{1}", "1", choices=4)
    with pytest.raises(ValueError, match=r"'choice' takes no option 'tolerance', 'unit'; its options are: timeout, "
                       r"choices"):
        check_gold("B", "choice", tolerance=0.1, unit="%")
    with pytest.raises(ValueError, match=r"'zebra' takes no option 'choices'; its options are: timeout$"):
        grade("", {"header": ["House", "Name"], "rows": [["1", "A"]]}, "zebra", choices=4)


def test_bad_gold_raises_invalid_gold_with_a_clear_message() -> None:
    with pytest.raises(InvalidGold, match="choice gold answer"):
        grade("Answer: B", "banana", "choice")


def test_non_string_response_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        grade(42, "42")  # type: ignore[arg-type]


def test_registry_lists_and_extends_kinds() -> None:
    assert {"math", "choice", "zebra"} <= set(kinds())
    with pytest.raises(ValueError, match="already registered"):
        register_kind(Kind("math", lambda response, answer, *, timeout: Grade.right(None)))


def test_a_failing_grader_is_reported_not_raised() -> None:
    def broken(response: str, answer, *, timeout) -> Grade:
        raise RuntimeError("bug")

    register_kind(Kind("test_broken", broken), replace=True)
    result = grade("x", "y", "test_broken")
    assert (result.correct, result.code) == (False, "unparsable")
