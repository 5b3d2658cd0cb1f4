r"""Equality of plain numbers and of base-``b`` literals, decided here rather than by math-verify.

**Plain numbers** (:func:`numbers_equal`). math-verify compares a decimal with anything by rounding both to six
decimal places, so every number under 5e-7 equals every other (``1.325e-27`` == ``2 \times 10^{-20}``,
``0.0000001`` == ``0.0000002``), and its ``evalf(chop=True)`` does the same to small differences of exact
expressions. When both answers are plain numbers (sympy expressions with no free symbol that evaluate to finite
complex numbers), the verdict is this module's, evaluated at :data:`DIGITS` significant digits:

* **both exact** (no decimal anywhere: integers, fractions, radicals, ``\pi``): rationals must be equal; anything
  else must have a difference that sympy, working at up to :data:`EXACT_MAXN` digits, finds to be under
  :data:`EXACT_REL_TOL` (1e-150) of their size: exact for any answer a benchmark holds (``e^{\pi\sqrt{163}}`` is
  not an integer), while sparing sympy the symbolic proof that two forms of one radical are equal;
* **an integer gold, a decimal answer**: the decimal must be that integer (``27.0`` == 27, ``204.01`` != 204,
  ``2.9999`` != ``\log_2 8``): integer answers (AIME, AMC, GSM8K) are counted, not measured; :data:`FLOAT_REL_TOL`
  (1e-12) only absorbs the binary rounding of a decimal (``1.11111111 \times 10^{10}``);
* **otherwise** (a decimal on either side): a relative tolerance of :data:`REL_TOL` (1e-4), the one of the
  Qwen2.5-Math and Minerva evaluations (``isclose(rel_tol=1e-4)``): ``0.33333`` == 1/3 but ``0.33`` != 1/3, and
  ``2.65e-27`` != ``1.325e-27``. Against a side that is exactly zero a relative test means nothing (only 0 would
  pass), so there the bound is the absolute :data:`ZERO_ABS_TOL` (1e-12);
* a benchmark's own ``tolerance`` (absolute, e.g. OlympiadBench's ``error`` field) also accepts any answer within it.

**Base-b literals** (:func:`base_literals_equal`). math-verify reads ``52_8`` as 52 and drops the base, so ``52_8``
== ``52_9``. A literal ``N_b`` / ``N_{b}`` / ``(N)_b`` (digits and capital letters, at least one digit) is compared
as written: with another literal, digits and base must both agree; with bare digits (``52`` for ``52_8``, the
question having named the base), the digits must agree; with anything else it is wrong.
"""

from __future__ import annotations

import re

from sympy import Abs, Expr, Float, Rational

__all__ = [
    "numbers_equal", "base_literals_equal", "DIGITS", "REL_TOL", "ZERO_ABS_TOL", "FLOAT_REL_TOL", "EXACT_REL_TOL",
    "EXACT_MAXN",
]  # fmt: skip

#: Significant digits at which both sides are evaluated.
DIGITS = 50
#: Relative tolerance when a decimal is involved (and the gold is not an integer).
REL_TOL = 1e-4
#: Absolute tolerance against a side that is exactly zero, in the decimal case.
ZERO_ABS_TOL = 1e-12
#: Relative tolerance between an integer gold and a decimal answer: binary rounding only.
FLOAT_REL_TOL = 1e-12
#: Relative tolerance between two exact numbers that are not both rational: exact for all practical purposes.
EXACT_REL_TOL = 1e-150
#: The working precision (digits) sympy may go up to when it evaluates the difference of two exact numbers.
EXACT_MAXN = 400

_BASE_LITERAL = re.compile(
    r"\(?(?P<digits>(?=[0-9A-Z]*[0-9])[0-9A-Z]+)\)?_(?:\{\s*(?P<braced>\d+)\s*\}|(?P<bare>\d+))"
)
_DIGITS_ONLY = re.compile(r"[0-9A-Z]+")


def _plain_number(expr: object) -> Expr | None:
    """``expr`` when it is an expression with no free symbol; ``None`` otherwise (sets, tuples, relations, ...)."""
    if isinstance(expr, Expr) and expr.is_number is True:
        return expr
    return None


def _value(expr: Expr) -> Expr | None:
    """``expr`` evaluated to :data:`DIGITS` digits, or ``None`` when that gives no finite number."""
    try:
        value = expr.evalf(DIGITS)
        parts = value.as_real_imag()
    except (ArithmeticError, TypeError, ValueError):
        return None
    return value if all(isinstance(part, Float) or part == 0 for part in parts) else None


def numbers_equal(gold: object, predicted: object, tolerance: float | None = None) -> bool | None:
    """Whether two sympy readings are the same number, by the rules of the module docstring.

    ``None`` when either is not a plain number, or does not evaluate to a finite one: math-verify decides then.
    """
    gold_expr, predicted_expr = _plain_number(gold), _plain_number(predicted)
    if gold_expr is None or predicted_expr is None:
        return None
    gold_value, predicted_value = _value(gold_expr), _value(predicted_expr)
    if gold_value is None or predicted_value is None:
        return None
    scale = max(Abs(gold_value), Abs(predicted_value))
    difference = Abs(gold_value - predicted_value)
    if tolerance is not None and difference <= tolerance:
        return True
    gold_exact, predicted_exact = not gold_expr.has(Float), not predicted_expr.has(Float)
    if gold_exact and predicted_exact:
        return _exactly_equal(gold_expr, predicted_expr, scale)
    if gold_exact and _whole(gold_value):
        return bool(difference <= FLOAT_REL_TOL * scale)
    if gold_value == 0 or predicted_value == 0:
        return bool(difference <= ZERO_ABS_TOL)
    return bool(difference <= REL_TOL * scale)


def _exactly_equal(gold: Expr, predicted: Expr, scale: Expr) -> bool:
    gold, predicted = gold.doit(), predicted.doit()
    if isinstance(gold, Rational) and isinstance(predicted, Rational):
        return bool(gold == predicted)
    # Evaluating the difference itself (not the difference of two rounded values) lets sympy raise its working
    # precision until the digits that differ show, or up to EXACT_MAXN digits when none do.
    difference = Abs(gold - predicted).evalf(DIGITS, maxn=EXACT_MAXN)
    return bool(difference <= EXACT_REL_TOL * scale)


def _whole(value: Expr) -> bool:
    """Whether a real value, evaluated to :data:`DIGITS` digits, is an integer (to all but its last ten digits)."""
    if not isinstance(value, Float):
        return value == 0
    return bool(Abs(value - value.round()) <= Float(10) ** (10 - DIGITS) * max(Abs(value), 1))


def _base_literal(text: str) -> tuple[str, int] | None:
    match = _BASE_LITERAL.fullmatch(text.strip())
    if match is None:
        return None
    base = match.group("braced") or match.group("bare")
    return match.group("digits").lstrip("0") or "0", int(base)


def base_literals_equal(gold: str, predicted: str) -> bool | None:
    """Whether two normalised answers are the same base-``b`` literal; ``None`` when neither is one."""
    gold_literal, predicted_literal = _base_literal(gold), _base_literal(predicted)
    if gold_literal is None and predicted_literal is None:
        return None
    if gold_literal is not None and predicted_literal is not None:
        return gold_literal == predicted_literal
    if gold_literal is None:
        # Only the response names a base: "10_2" is two, not the gold's ten, unless that base is ten.
        assert predicted_literal is not None
        digits, base = predicted_literal
        other = gold.strip()
        return base == 10 and _DIGITS_ONLY.fullmatch(other) is not None and (other.lstrip("0") or "0") == digits
    # Only the gold names a base: answers often leave the base off ("52" for 52_8), so the digits decide.
    other = predicted.strip()
    return _DIGITS_ONLY.fullmatch(other) is not None and (other.lstrip("0") or "0") == gold_literal[0]
