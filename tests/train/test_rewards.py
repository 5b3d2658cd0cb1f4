"""Reward terms, the Stage-1 format gate, DAPO's overlong penalty, and the rollout filters."""

from __future__ import annotations

import pytest

from npr.schema import format_reward
from npr.train.filters import Candidate, drop_reasons
from npr.train.rewards import REWARD_TERMS, RewardContext, overlong_penalty, reward

VALID = (
    "<guideline>\n<plan>1: a</plan>\n<plan>2: b</plan>\n</guideline>\n<step>\n1: 2 * 3 = 6\n</step>\n"
    "<step>\n2: 4 * 5 = 20\n</step>\n<takeaway>\n6 + 20 = 26\n</takeaway>\nSo \\boxed{26}."
)
BROKEN = VALID.replace("<takeaway>\n6 + 20 = 26\n</takeaway>\n", "")  # no takeaway


def ctx(text, answer="26", **kw):
    return RewardContext(text=text, answer=answer, **kw)


def test_correctness_term():
    assert REWARD_TERMS.get("correctness")(ctx(VALID)) == 1.0
    assert REWARD_TERMS.get("correctness")(ctx(VALID, answer="27")) == -1.0
    assert REWARD_TERMS.get("correctness")(ctx("", answer="26")) == -1.0
    assert REWARD_TERMS.get("correctness")(ctx("no box at all")) == -1.0


def test_format_gate_replaces_the_reward_of_a_malformed_response():
    """DESIGN §5: a failed format check gives the penalty in [-2, 0) and no correctness term; a pass gives ±1."""
    r, parts = reward(ctx(BROKEN), {"correctness": 1.0}, format_aware=True)
    assert r == format_reward(BROKEN) and -2 <= r < 0
    assert "correctness" not in parts  # the answer is right, yet no correctness term applies
    assert reward(ctx(VALID), {"correctness": 1.0}, format_aware=True)[0] == 1.0
    assert reward(ctx(VALID, answer="1"), {"correctness": 1.0}, format_aware=True)[0] == -1.0
    assert reward(ctx("plain text \\boxed{26}"), {"correctness": 1.0}, format_aware=True)[0] == -2.0
    # Without the gate, only the terms count.
    assert reward(ctx(BROKEN), {"correctness": 1.0})[0] == 1.0


def test_the_overlong_penalty_does_not_stack_on_the_format_gate():
    """A gated response keeps the gate's penalty in [-2, 0); the overlong term prices only well-formed ones."""
    long = dict(critical_path_tokens=16, max_tokens=16)
    r, parts = reward(ctx(BROKEN, **long), {"correctness": 1.0}, format_aware=True, overlong_buffer=4)
    assert r == format_reward(BROKEN) and "overlong" not in parts
    r, parts = reward(ctx(VALID, **long), {"correctness": 1.0}, format_aware=True, overlong_buffer=4)
    assert parts["overlong"] == -1.0 and r == 0.0


def test_weighted_terms_add_up():
    r, parts = reward(ctx(BROKEN), {"correctness": 1.0, "format": 0.5})
    assert r == pytest.approx(1.0 + 0.5 * format_reward(BROKEN))
    assert parts == {"correctness": 1.0, "format": format_reward(BROKEN)}


def test_acceleration_rewards_a_short_critical_path_of_a_right_answer():
    term = REWARD_TERMS.get("acceleration")
    assert term(ctx(VALID, total_tokens=100, critical_path_tokens=60)) == pytest.approx(0.4)
    assert term(ctx(VALID, total_tokens=100, critical_path_tokens=100)) == 0.0  # sequential: no bonus
    assert term(ctx(VALID, answer="1", total_tokens=100, critical_path_tokens=10)) == 0.0  # wrong: no bonus


@pytest.mark.parametrize(
    "length, want", [(10, 0.0), (12, 0.0), (13, -0.25), (16, -1.0), (17, -1.0)]
)
def test_overlong_penalty(length, want):
    assert overlong_penalty(length, max_tokens=16, buffer=4) == pytest.approx(want)
    assert overlong_penalty(length, max_tokens=16, buffer=0) == 0.0


def test_overlong_adds_to_the_reward():
    r, parts = reward(ctx(VALID, critical_path_tokens=15, max_tokens=16), {"correctness": 1.0}, overlong_buffer=4)
    assert parts["overlong"] == pytest.approx(-0.75) and r == pytest.approx(0.25)


def test_filters():
    assert drop_reasons(["invalid", "truncated"], Candidate(VALID, "stop")) == {}
    cut = drop_reasons(["invalid", "truncated"], Candidate(BROKEN, "length"))
    assert set(cut) == {"invalid", "truncated"}  # each filter counts on its own
    assert drop_reasons(["invalid"], Candidate(VALID, "format_error")) == {"invalid": "format_error"}
    assert drop_reasons(["truncated"], Candidate(VALID, "length")) == {"truncated": "truncated:length"}
    with pytest.raises(ValueError, match="unknown rollout filter"):
        drop_reasons(["invalidd"], Candidate(VALID, "stop"))
