"""Large adversarial inputs complete (the parser is one regex scan plus a state machine); no timing asserts."""

from __future__ import annotations

import pytest

from npr.schema import TAGS, format_reward, parse, validate

from .samples import ONE

MB2 = 2_000_000


@pytest.mark.parametrize(
    "text",
    [
        "<step>" * (MB2 // 6),  # one misplaced step with every later tag nested inside it
        "<guideline>" * (MB2 // 22) + "\\boxed{" * (MB2 // 14),  # openers, then boxes that never close
        "".join(TAGS) * (MB2 // 70),
        "</plan>" * (MB2 // 7),
        "<guideline><plan>1: a</plan></guideline><step>" + "<plan>" * (MB2 // 12) + "</plan>" * (MB2 // 14),
        " " * MB2 + "x",
        "<" * MB2,
    ],
    ids=["steps", "openers-and-boxes", "all-tags", "closes", "nest-and-pop", "whitespace", "angles"],
)
def test_adversarial_2mb(text):
    response = parse(text)
    assert response.span.end == len(text)


def test_long_valid_response():
    text = "\n".join([ONE] * 3_000) + "\nend \\boxed{1}"
    response = parse(text)
    assert len(response.blocks) == 3_000 and response.boxed == "1"
    assert validate(text) == [] and format_reward(text) == 0.0


def test_repeated_problems_are_listed_up_to_a_cap_then_summed_up():
    from npr.schema.parse import MAX_LISTED

    n = MAX_LISTED + 50
    text = f"{ONE}\nend\n" + "</step>" * n
    found = validate(text)
    assert [v.code for v in found] == ["unmatched_close"] * (MAX_LISTED + 1)
    summary = found[-1]
    assert summary.message == "50 more unmatched_close problem(s) not listed"
    assert summary.span.of(text) == "</step>" * 50
    assert format_reward(text) == -1.5
