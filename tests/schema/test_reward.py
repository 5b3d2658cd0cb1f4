"""The format-aware reward and its severity table."""

from __future__ import annotations

import pytest

from npr.schema import CODES, SEVERITY, Span, Violation, format_reward, penalty

from .samples import CONCLUSION, ONE, TWO, block


def test_every_code_has_a_severity_in_range():
    assert set(SEVERITY) == set(CODES)
    assert all(0.0 < s <= 2.0 for s in SEVERITY.values())


def test_severity_table_is_read_only():
    with pytest.raises(TypeError):
        SEVERITY["no_blocks"] = 0.0  # type: ignore[index]


def test_valid_is_zero():
    assert format_reward(f"{ONE}\n{TWO}\n{CONCLUSION}") == 0.0


def test_single_violations_weigh_their_severity():
    assert format_reward("plain text \\boxed{1}") == -2.0
    assert format_reward(f"{block('1: a', '2: b', steps=['1: x'])}\n{CONCLUSION}") == -SEVERITY["step_count"]
    assert format_reward(f"{ONE}") == -SEVERITY["missing_conclusion"]


def test_distinct_codes_add_and_repeats_do_not():
    swapped = f"{block('1: a', '2: b', steps=['2: y', '1: x'])}\n{CONCLUSION}"  # two step_numbering violations
    assert format_reward(swapped) == -SEVERITY["step_numbering"]
    both = f"hello\n{block('1: a', '2: b', steps=['2: y', '1: x'])}\n{CONCLUSION}"
    assert format_reward(both) == -(SEVERITY["step_numbering"] + SEVERITY["stray_text"])


def test_penalty_is_capped():
    many = [Violation(code, "", Span(0, 0)) for code in CODES]
    assert penalty(many) == -2.0
    assert penalty([]) == 0.0


def test_unknown_code_weighs_the_maximum():
    assert penalty([Violation("made_up", "", Span(0, 0))]) == -2.0


def test_worse_is_lower():
    stray = f"hmm\n{ONE}\n{CONCLUSION}"
    truncated = f"{ONE}\n<guideline>\n<plan>1: a</plan>\n</guideline>\n<step>\n1: cut"
    plain = "just thinking"
    assert 0.0 > format_reward(stray) > format_reward(truncated) > format_reward(plain)
