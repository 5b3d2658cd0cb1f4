r"""Normalisation rules checked on the text itself, where a grading case cannot show them (the row break ``\\``)."""

from __future__ import annotations

import pytest

from npr.rewards.normalize import normalize_answer


@pytest.mark.parametrize(
    "answer, expected",
    [
        # A row break followed by what would otherwise be a spacing or delimiter command keeps both backslashes.
        (r"\begin{pmatrix} -2 \\ -14 \\ -7 \end{pmatrix}", r"\begin{pmatrix} -2 \\ -14 \\ -7 \end{pmatrix}"),
        (r"a \\, b", r"a \\, b"),
        (r"a \\! b", r"a \\! b"),
        (r"a \\[2pt] b", r"a \\[2pt] b"),
        (r"a \\(b)", r"a \\(b)"),
        (r"a \\$ b", r"a \\ b"),
        (r"a \\\, b", r"a \\ b"),
        (r"a \\\ b", r"a \\ b"),
        (r"\[ x \]", "x"),
        # Thin-spaced and braced commas in numbers are thousands separators.
        (r"11,\! 111,\! 111,\! 100", "11111111100"),
        (r"11{,}111{,}111{,}100", "11111111100"),
        (r"10,\!080", "10080"),
        # An upright single letter is the letter; a spaced one is a unit.
        (r"3 + 4\mathrm{i}", "3 + 4i"),
        (r"2\mathrm{e}", "2e"),
        (r"6-5\operatorname{i}", "6-5i"),
        (r"3 \mathrm{~m}", "3"),
        (r"5\text{ s}", "5"),
        (r"\lambda_{\text {red}}", r"\lambda_{red}"),
        (r"m_{\max }=n^{2}-n-1", "n^{2}-n-1"),
    ],
)
def test_normalize(answer: str, expected: str) -> None:
    assert normalize_answer(answer) == expected
