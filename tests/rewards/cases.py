r"""Hand-written grading cases: (id, response, gold, kind, expected verdict), one per line, grouped by topic.

``Case.extracted``/``Case.code``/``Case.score`` are checked only where given (``ANY`` means "not checked").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

ANY: Any = object()


@dataclass(frozen=True)
class Case:
    id: str
    response: str
    answer: Any
    correct: bool
    kind: str = "math"
    options: dict[str, Any] = field(default_factory=dict)
    extracted: Any = ANY
    code: Any = ANY
    score: Any = ANY


def boxed(content: str) -> str:
    return f"Putting it together, the answer is $\\boxed{{{content}}}$."


MATH: list[Case] = [
    # fractions and decimals
    Case("frac-vs-decimal", boxed("0.5"), r"\frac{1}{2}", True, extracted="0.5", code="match"),
    Case("dfrac-vs-decimal", boxed(r"\dfrac{1}{2}"), "0.5", True),
    Case("tfrac-vs-frac", boxed(r"\tfrac{3}{4}"), r"\frac34", True),
    Case("slash-frac", boxed("3/4"), r"\frac{3}{4}", True),
    Case("frac-wrong", boxed(r"\frac{1}{3}"), r"\frac{1}{2}", False, code="mismatch"),
    Case("decimal-too-coarse", boxed("0.33"), r"\frac{1}{3}", False),
    Case("negative-frac", boxed(r"-\frac{1}{2}"), "-0.5", True),
    # radicals, pi, expressions
    Case("radical-equal", boxed(r"\sqrt{12}"), r"2\sqrt{3}", True),
    Case("radical-rationalised", boxed(r"\frac{\sqrt{2}}{2}"), r"\frac{1}{\sqrt{2}}", True),
    Case("radical-wrong", boxed(r"3\sqrt{2}"), r"2\sqrt{3}", False),
    Case("pi-multiple", boxed(r"2\pi"), r"2 \pi", True),
    Case("pi-approx-wrong", boxed("3.14"), r"\pi", False),
    Case("polynomial-reordered", boxed("x^2+2x+1"), "(x+1)^2", True),
    # intervals, sets, tuples
    Case("interval-equal", boxed(r"(-\infty, 2]"), r"(-\infty,2]", True),
    Case("interval-open-vs-closed", boxed(r"(-\infty, 2)"), r"(-\infty,2]", False),
    Case("interval-left-right", boxed(r"\left[ 1, 3 \right)"), "[1,3)", True),
    Case("set-order-free", boxed(r"\{3, 1, 2\}"), r"\{1,2,3\}", True),
    Case("set-missing-element", boxed(r"\{1, 2\}"), r"\{1,2,3\}", False),
    Case("tuple-equal", boxed(r"\left( 3, \frac{\pi}{2} \right)"), r"\left( 3, \frac{\pi}{2} \right)", True),
    Case("tuple-order-matters", boxed("(2, 1, 3)"), "(1,2,3)", False),
    # units, degrees, percent, money
    Case("minerva-unit-mathrm", boxed(r"7.5 \times 10^{-7}"), r"7.5 \times 10^{-7} \mathrm{~m}", True),
    Case("minerva-unit-text", boxed("1.4"), r"1.4 \text{ days}", True),
    Case("unit-in-response", boxed(r"5\text{ cm}^2"), "5", True),
    Case("e-notation-gold", boxed(r"4.5 \times 10^{33}"), "4.5e33", True),
    Case("e-notation-response", boxed("7.5e-7"), r"7.5 \times 10^{-7}", True),
    Case("e-notation-wrong", boxed("4.6e33"), "4.5e33", False),
    Case("degrees-response", boxed(r"30^\circ"), "30", True),
    Case("degrees-gold", boxed("30"), r"30^{\circ}", True),
    Case("degrees-wrong", boxed(r"60^\circ"), "30", False),
    Case("percent-response", boxed(r"50\%"), "50", True),
    Case("percent-gold", boxed("50"), r"50\%", True),
    Case("percent-as-fraction-wrong", boxed("0.5"), r"50\%", False),
    Case("dollars", boxed(r"\$12"), "12", True),
    # thousands separators, AMC floats, integers, signs
    Case("thousands-response", boxed("1,234"), "1234", True),
    Case("thousands-gold", boxed("1234567"), "1,234,567", True),
    Case("thousands-thin-space", boxed(r"1\,234"), "1234", True),
    Case("comma-list-not-thousands", boxed("12"), "1,2", False),
    Case("amc-float-gold", boxed("27"), 27.0, True),
    Case("amc-float-response", boxed("27.0"), "27", True),
    Case("amc-float-wrong", boxed("27.5"), 27.0, False),
    Case("aime-int-gold", boxed("070"), 70, True),
    Case("negative", boxed("-3"), "-3", True),
    Case("sign-wrong", boxed("3"), "-3", False),
    Case("assignment", boxed("x = 5"), "5", True, extracted="x = 5"),
    Case("assignment-gold", boxed("5"), "k=5", True),
    Case("trailing-period", boxed("5."), "5", True),
    Case("text-answer", boxed(r"\text{Evelyn}"), r"\text{Evelyn}", True),
    Case("text-answer-wrong", boxed(r"\text{Bob}"), r"\text{Evelyn}", False),
    # extraction: boxes, forms, failures
    Case("last-box-wins", r"First \boxed{1}, then on reflection \boxed{2}.", "2", True, extracted="2"),
    Case("last-box-wins-wrong", r"First \boxed{2}, then on reflection \boxed{1}.", "2", False, extracted="1"),
    Case("boxed-one-token", r"so \boxed 5", "5", True, extracted="5"),
    Case("fbox", r"\fbox{42}", "42", True, extracted="42"),
    Case("nested-braces", boxed(r"\frac{\sqrt{3}}{2}"), r"\frac{\sqrt3}{2}", True, extracted=r"\frac{\sqrt{3}}{2}"),
    Case("no-box", "The answer is 5.", "5", False, extracted=None, code="no_answer"),
    Case("empty-response", "", "5", False, extracted=None, code="no_answer"),
    Case("empty-box", r"\boxed{}", "5", False, code="no_answer"),
    Case("unclosed-box", r"the answer is \boxed{\frac{1}{2", "1/2", False, extracted=None, code="no_answer"),
    Case("malformed-frac", r"\boxed{\frac{1}{}}", "1/2", False, code="unparsable"),
    Case("malformed-brackets", r"\boxed{)(}", "1", False, code="unparsable"),
    Case("power-tower-refused", boxed("9^{9^{9}}"), "1", False, code="too_long"),
    Case("huge-factorial-refused", boxed("(10^{100})!"), "2", False, code="too_long"),
    Case("small-tower-fine", boxed("2^{2^{3}}"), "256", True),
    Case("too-long", boxed("1+" * 600 + "1"), "1201", False, code="too_long"),
    Case("deep-nesting-refused", boxed("{" * 30 + "1" + "}" * 30), "1", False, code="too_long"),
    # several answers (OlympiadBench is_multiple_answer)
    Case("multi-one-box", boxed("84, 69"), ["69", "84"], True, extracted="84, 69"),
    Case("multi-several-boxes", r"So $\boxed{84}$ and $\boxed{69}$.", ["69", "84"], True, extracted="84, 69"),
    Case("multi-tuples", boxed("(3,2), (1,1)"), ["(1,1)", "(3,2)"], True),
    Case("multi-missing-one", boxed("84"), ["69", "84"], False, code="missing"),
    Case("multi-one-wrong", boxed("84, 70"), ["69", "84"], False, code="mismatch"),
    Case("multi-extra", boxed("84, 69, 1"), ["69", "84"], False, code="extra"),
    Case("multi-duplicates-count", boxed("84, 84"), ["69", "84"], False),
    Case("multi-earlier-box-ignored", r"We found \boxed{69} earlier. Finally \boxed{84}.", ["69", "84"], False),
    Case("multi-degrees", boxed(r"90^\circ, 60^\circ"), [r"$90^{\circ}$", r"$60^{\circ}$"], True),
    Case("single-list-is-string", boxed("5"), ["5"], True),
    Case("gold-string-list", boxed("5, 3, 1"), "1,3,5", True),
    Case("gold-string-list-boxes", r"$\boxed{1}$, $\boxed{3}$ and $\boxed{5}$", "$1$,$3$,$5$", True),
]

_VECTOR = r"\begin{pmatrix} -2 \\ -14 \\ -7 \end{pmatrix}"  # MATH500 test/precalculus/263
_MINUS_IDENTITY = r"\begin{pmatrix} -1 & 0 \\ 0 & -1 \end{pmatrix}"  # MATH500 test/precalculus/920
_BIG = r"11,\! 111,\! 111,\! 100"  # MATH500 test/number_theory/417
_TRIPLES = ["(1,8,19)", "(2,7,13)", "(4,5,7)"]  # an OlympiadBench multi-answer gold

#: Regression cases from reviewing the graders against the benchmarks' gold answers, one group per finding.
REVIEW: list[Case] = [
    # 1. a row break followed by a space is not a backslash and an escaped space
    Case("matrix-compact-vs-spaced", boxed(r"\begin{pmatrix}-2\\-14\\-7\end{pmatrix}"), _VECTOR, True),
    Case("matrix-spaced-vs-compact", boxed(_VECTOR), r"\begin{pmatrix}-2\\-14\\-7\end{pmatrix}", True),
    Case("matrix-one-sign-wrong", boxed(r"\begin{pmatrix} -2 \\ -14 \\ 7 \end{pmatrix}"), _VECTOR, False),
    Case("matrix-row-count-wrong", boxed(r"\begin{pmatrix} -2 \\ -21 \end{pmatrix}"), _VECTOR, False),
    Case("matrix-2x2-entry-wrong", boxed(r"\begin{pmatrix} -1 & 5 \\ 0 & -1 \end{pmatrix}"), _MINUS_IDENTITY, False),
    Case("matrix-2x2-compact", boxed(r"\begin{pmatrix}-1&0\\0&-1\end{pmatrix}"), _MINUS_IDENTITY, True),
    Case("matrix-fractions", boxed(r"\begin{pmatrix} -\frac13 \\ \frac23 \end{pmatrix}"),
         r"\begin{pmatrix} -1/3 \\ 2/3 \end{pmatrix}", True),
    Case("row-break-then-thin-space", boxed(r"\begin{pmatrix} 1 \\\,2 \end{pmatrix}"),
         r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", True),
    Case("row-break-then-quad", boxed(r"\begin{pmatrix} 1 \\\quad 3 \end{pmatrix}"),
         r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", False),
    # 2. thousands written with thin spaces or braced commas
    Case("thousands-commas", boxed("11,111,111,100"), _BIG, True),
    Case("thousands-bare", boxed("11111111100"), _BIG, True),
    Case("thousands-thin-compact", boxed(r"11,\!111,\!111,\!100"), _BIG, True),
    Case("thousands-braced", boxed(r"11{,}111{,}111{,}100"), _BIG, True),
    Case("thousands-thin-wrong", boxed("11,111,111,000"), _BIG, False),
    Case("thousands-dollars", boxed("32348"), r"\$32,\!348", True),
    # 3. a multi-answer gold answered as one set
    Case("set-of-answers", boxed(r"\{(1,8,19), (2,7,13), (4,5,7)\}"), _TRIPLES, True),
    Case("set-of-answers-left-right", boxed(r"\left\{(1,8,19), (2,7,13), (4,5,7)\right\}"), _TRIPLES, True),
    Case("set-of-answers-named", boxed(r"(a,b,c) \in \{(1,8,19), (2,7,13), (4,5,7)\}"), _TRIPLES, True),
    Case("set-of-answers-x-in", boxed(r"x \in \{3, -1\}"), ["-1", "3"], True),
    Case("set-of-answers-reordered", boxed(r"\{(4,5,7), (1,8,19), (2,7,13)\}"), _TRIPLES, True),
    Case("set-of-answers-missing", boxed(r"\{(1,8,19), (2,7,13)\}"), _TRIPLES, False, code="missing"),
    Case("set-of-answers-wrong", boxed(r"\{(1,8,19), (2,7,13), (4,5,8)\}"), _TRIPLES, False, code="mismatch"),
    Case("set-of-answers-extra", boxed(r"\{(1,8,19), (2,7,13), (4,5,7), (0,0,0)\}"), _TRIPLES, False, code="extra"),
    Case("union-is-not-one-set", boxed(r"\{1\} \cup \{2, 3\}"), ["1", "2", "3"], False),
    # 4. an upright single letter is a constant, never a unit
    Case("mathrm-i-not-a-unit", boxed(r"3 + 4\mathrm{i}"), "7", False),
    Case("mathrm-i-is-i", boxed(r"6 - 5\mathrm{i}"), "6 - 5i", True),
    Case("operatorname-i-is-i", boxed(r"6-5\operatorname{i}"), "6 - 5i", True),
    Case("mathrm-e-not-a-unit", boxed(r"2\mathrm{e}"), "2", False),
    Case("spaced-unit-letter-still-a-unit", boxed(r"3 \mathrm{~m}"), "3", True),
    Case("complex-spacing", boxed("1+2i"), "1 + 2 i", True),
    Case("complex-spacing-wrong", boxed("1+3i"), "1 + 2 i", False),
    Case("subscript-text-label", boxed(r"\lambda_{\text{red}}/\sqrt{2}"), r"\lambda_{\text {red}} / \sqrt{2}", True),
    Case("assignment-subscript", boxed("n^2-n-1"), r"$m_{\max }=n^{2}-n-1$", True),
    # 5. numbers: relative tolerance, exact when exact, integers counted; base subscripts
    Case("tiny-vs-small-power", boxed("1.325e-27"), r"2 \times 10^{-20}", False),
    Case("tiny-factor-two", boxed("1.325e-27"), "2.65e-27", False),
    Case("tiny-decimals", boxed("0.0000001"), "0.0000002", False),
    Case("tiny-same", boxed(r"2.65 \times 10^{-27}"), "2.65e-27", True),
    Case("within-rel-tol", boxed("2.6501e-27"), r"2.65 \times 10^{-27}", True),
    Case("outside-rel-tol", boxed("2.66e-27"), r"2.65 \times 10^{-27}", False),
    Case("decimal-for-fraction", boxed("0.33333"), r"\frac{1}{3}", True),
    Case("integer-gold-not-near", boxed("204.01"), "204", False),
    Case("integer-gold-big-decimal", boxed(r"1.11111111 \times 10^{10}"), "11111111100", True),
    Case("exact-tiny-radicals", boxed(r"\sqrt{3} \times 10^{-20}"), r"\sqrt{2} \times 10^{-20}", False),
    Case("exact-nested-radical", boxed(r"\sqrt{3+2\sqrt{2}}"), r"1+\sqrt{2}", True),
    Case("exact-tiny-rationals", boxed(r"10^{-20}"), r"2 \times 10^{-20}", False),
    Case("exact-huge-off-by-one", boxed(r"10^{1000}+1"), r"10^{1000}", False),
    Case("exact-radical-near-power", boxed(r"\sqrt{10^{100}+1}"), r"10^{50}", False),
    Case("exact-near-integer", boxed(r"e^{\pi\sqrt{163}}"), r"640320^3+744", False),
    Case("exact-log-is-integer", boxed(r"\log_2 8"), "3", True),
    Case("integer-valued-gold-not-near", boxed("2.9999"), r"\log_2 8", False),
    Case("zero-decimal-gold", boxed("0"), "0.0", True),
    Case("zero-integer-gold", boxed("1e-13"), "0", False),
    Case("base-wrong-base", boxed("52_9"), "52_8", False),
    Case("base-braced", boxed("52_{8}"), "52_8", True),
    Case("base-digits-only", boxed("52"), "52_8", True),
    Case("base-decimal-value", boxed("42"), "52_8", False),
    Case("base-leading-zero", boxed("0204_5"), "204_5", True),
    Case("stray-number-not-a-reading", boxed("-1"), "-1./3", False),
    # 7. a tolerance given by the benchmark (OlympiadBench's error field), absolute
    Case("tolerance-inside", boxed("4.25"), "4.2", True, options={"tolerance": 0.1}),
    Case("tolerance-outside", boxed("4.35"), "4.2", False, options={"tolerance": 0.1}),
    Case("tolerance-default-is-relative", boxed("4.25"), "4.2", False),
    Case("tolerance-in-a-list", boxed("1.05, 2"), ["1", "2"], True, options={"tolerance": 0.1}),
    # second review: single upright letters are units except i and e; "approximately"; bases; spacing; \pm
    Case("upright-kelvin-unit", boxed(r"5.47 \times 10^{5}\,\mathrm{K}"), "5.47e5", True),
    Case("upright-volt-unit", boxed(r"1.2\,\mathrm{V}"), "1.2", True),
    Case("degrees-celsius", boxed(r"41.8^{\circ}\text{C}"), "41.8", True),
    Case("upright-i-not-a-unit", boxed(r"3 + 4\mathrm{i}"), "7", False),
    Case("lone-upright-letter", boxed(r"\text{C}"), "C", True),
    Case("approximately-with-unit", boxed(r"\approx 1.6 \text{ cm}"), "1.6", True),
    Case("approximately-wrong-value", boxed(r"\approx 2"), "3", False),
    Case("response-base-two-vs-decimal-gold", boxed("10_2"), "10", False),
    Case("spacing-before-and", boxed(r"1, 3,\ \text{and } 5"), ["1", "3", "5"], True),
    Case("plus-minus-expands", boxed(r"\pm 1, \pm 7"), ["1", "-1", "7", "-7"], True),
    Case("plus-minus-in-fraction", boxed(r"\frac{-1 \pm \sqrt{17}}{2}"),
         [r"\frac{-1+\sqrt{17}}{2}", r"\frac{-1-\sqrt{17}}{2}"], True),
    Case("plus-minus-half-missing", boxed(r"\pm 1"), ["1", "-1", "7", "-7"], False),
]

CHOICE: list[Case] = [
    Case("box-letter", r"\boxed{B}", "B", True, "choice", extracted="B"),
    Case("box-paren", r"\boxed{(B)}", "B", True, "choice"),
    Case("box-text", r"$\boxed{\text{B}}$", "B", True, "choice"),
    Case("box-with-option-text", r"\boxed{(C) 42}", "C", True, "choice", extracted="C"),
    Case("phrase-answer-is", "Checking each option, the answer is (B).", "B", True, "choice"),
    Case("phrase-colon", "Answer: D", "D", True, "choice"),
    Case("phrase-bold", "**Final Answer:** C", "C", True, "choice"),
    Case("phrase-last-wins", "The answer is (A)... no, the answer is (C).", "C", True, "choice", extracted="C"),
    Case("gold-parenthesised", "Answer: B", "(b)", True, "choice"),
    Case("wrong-letter", r"\boxed{A}", "B", False, "choice", extracted="A", code="mismatch"),
    Case("article-not-a-letter", "The answer is A triangle with equal sides.", "A", False, "choice", extracted=None),
    Case("plain-word-A", "A triangle has three sides.", "A", False, "choice", code="no_answer"),
    Case("out-of-range", r"\boxed{E}", "B", False, "choice", extracted=None, code="no_answer"),
    Case("in-range-with-choices", r"\boxed{E}", "E", True, "choice", {"choices": 5}),
    Case("out-of-range-with-choices", r"\boxed{F}", "E", False, "choice", {"choices": 5}, code="no_answer"),
    Case("no-letter", "I am not sure.", "C", False, "choice", code="no_answer"),
]

_GOLD_GRID = {
    "header": ["House", "Name", "Color", "Pet"],
    "rows": [["1", "Alice", "Red", "Cat"], ["2", "Bob", "Blue", "Dog"], ["3", "Carol", "Green", "Fish"]],
}
_SOLUTION = {
    "House 1": {"Name": "Alice", "Color": "Red", "Pet": "Cat"},
    "House 2": {"Name": "Bob", "Color": "Blue", "Pet": "Dog"},
    "House 3": {"Name": "Carol", "Color": "Green", "Pet": "Fish"},
}
_PARTIAL = {**_SOLUTION, "House 3": {"Name": "Carol", "Color": "Blue", "Pet": "Dog"}}
_SHOUTED = {
    house: {attr.upper(): f"  {value.upper()} " for attr, value in cells.items()} for house, cells in _SOLUTION.items()
}
_TABLE = """| House | Name | Color | Pet |
|-------|------|-------|-----|
| 1 | Alice | Red | Cat |
| 2 | **Bob** | blue | Dog |
| 3 | Carol | Green | Fish |
"""
_CANONICAL = json.dumps(_SOLUTION, sort_keys=True)

ZEBRA: list[Case] = [
    Case("json-fenced", "Reasoning...\n```json\n" + json.dumps({"reasoning": "by {cases}", "solution": _SOLUTION})
         + "\n```", _GOLD_GRID, True, "zebra", extracted=_CANONICAL, score=1.0),
    Case("bare-mapping", "Final grid: " + json.dumps(_SOLUTION), _GOLD_GRID, True, "zebra"),
    Case("gold-as-json-string", json.dumps({"solution": _SOLUTION}), json.dumps(_GOLD_GRID), True, "zebra"),
    Case("markdown-table", "Here is the solution:\n\n" + _TABLE, _GOLD_GRID, True, "zebra", score=1.0),
    Case("case-and-space", json.dumps({"solution": _SHOUTED}), _GOLD_GRID, True, "zebra"),
    Case("partial", json.dumps({"solution": _PARTIAL}), _GOLD_GRID, False, "zebra", code="partial", score=7 / 9),
    Case("missing-house", json.dumps({"House 1": _SOLUTION["House 1"]}), _GOLD_GRID, False, "zebra", score=3 / 9),
    Case("extra-house-ignored", json.dumps({**_SOLUTION, "House 4": {"Name": "Dan"}}), _GOLD_GRID, True, "zebra"),
    Case("last-object-wins", json.dumps(_PARTIAL) + " no wait: " + json.dumps(_SOLUTION), _GOLD_GRID, True, "zebra"),
    Case("garbage", "{not json at all ][", _GOLD_GRID, False, "zebra", extracted=None, code="no_answer", score=0.0),
    Case("empty", "", _GOLD_GRID, False, "zebra", code="no_answer", score=0.0),
]

CASES: list[Case] = MATH + REVIEW + CHOICE + ZEBRA
