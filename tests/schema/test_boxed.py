r"""``last_boxed``: the final \boxed{} answer, with nested braces, in linear time."""

from __future__ import annotations

import pytest

from npr.schema import last_boxed


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\\boxed{6}", "6"),
        ("first \\boxed{1} then \\boxed{2}", "2"),
        ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
        ("$\\boxed{ x^{2} + 1 }$.", "x^{2} + 1"),
        ("\\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),  # escaped braces do not count
        ("\\boxed {7}", "7"),
        ("the answer is \\boxed 7.", "7."),
        ("$\\boxed 12$", "12"),
        ("\\fbox{A}", "A"),
        ("\\boxed{1} and \\fbox{B}", "B"),
        ("\\fbox{B} and \\boxed{1}", "1"),
        ("\\boxed{3} but \\fboxsep is a length", "3"),  # \fboxsep is another macro, not a box
        ("\\boxed{}", ""),
        ("∑ = \\boxed{π²/6}", "π²/6"),
    ],
)
def test_extracts(text, expected):
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no box here",
        "\\boxed{unbalanced",
        "\\boxed{1} then a cut-off \\boxed{2",  # the last box is broken: no answer, not the earlier one
        "\\boxed{a\\}",  # the only closing brace is escaped
        "ends with \\boxed",
        "ends with \\boxed ",
        "\\boxedfoo{1}",
    ],
)
def test_none(text):
    assert last_boxed(text) is None


def test_adversarial_is_linear():
    # 2 MB of openers: only the last one is scanned to the end, the rest are skipped by position.
    assert last_boxed("\\boxed{" * 300_000) is None
    assert last_boxed("\\fboxsep" * 250_000) is None
    assert last_boxed("{" * 1_000_000 + "\\boxed{" + "{" * 1_000_000) is None
    assert last_boxed("\\boxed{" + "{" * 1_000_000 + "}" * 1_000_001) == "{" * 1_000_000 + "}" * 1_000_000
