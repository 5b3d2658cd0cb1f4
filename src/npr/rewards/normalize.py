r"""Normalisation of a math answer before math-verify reads it: :func:`normalize_answer`.

Both sides go through the same function, the gold answer and the extracted one, so every rule is symmetric. The
rules cover what the benchmarks' gold answers and models' boxes put around the mathematics:

* a ``\boxed{}`` around a gold answer, math delimiters (``$``, ``\(``, ``\[``) and ``\$`` (a dollar sign, as a
  currency it is dropped: ``\$12`` == 12);
* thin spaces and sizing: ``\,`` ``\;`` ``\!`` ``{,}`` (so ``1\,234`` == 1234), ``\displaystyle``, ``\left``/``\right``
  and ``\big``-style sizes;
* ``\dfrac``/``\tfrac``/``\cfrac`` become ``\frac``; some Unicode symbols (``−`` ``×`` ``π`` ``∞``) become LaTeX;
* degrees (``^\circ``, ``°``, "degrees") are dropped: ``30^\circ`` == 30;
* percent signs are dropped: ``50\%`` == 50. A model that answers 0.5 to a question that asks for a percentage
  is marked wrong, since the gold is 50;
* trailing units in ``\text{}``/``\mathrm{}``/``\mbox{}`` after a number (``1.4 \text{ days}``,
  ``7.5 \times 10^{-7} \mathrm{~m}``, ``5\text{ cm}^2``) are dropped; an answer that is only text is kept;
* scientific E-notation (``4.5e33``, as in the Minerva gold answers) becomes ``4.5\times10^{33}``;
* thousands separators: the whole answer ``1,234`` or ``-12,345.5`` is a number when every group after the first
  has exactly three digits; commas anywhere else (``1,2``, ``(1,234, 5)``) are left to math-verify, which reads
  them as lists;
* a single-variable assignment ``x = 5`` becomes ``5`` (not ``f(x) = x``, nor anything with a second relation);
* a trailing full stop is dropped, and runs of whitespace become one space.

The rest (fractions, radicals, intervals, sets, tuples, pi, matrices) is math-verify's job.
"""

from __future__ import annotations

import re

from npr.schema import last_boxed

__all__ = ["normalize_answer"]

_UNICODE = str.maketrans({
    "\u2212": "-",  # minus sign
    "\u2013": "-",  # en dash, often a minus in copied text
    "\u00d7": r" \times ",
    "\u22c5": r" \cdot ",
    "\u00b7": r" \cdot ",
    "\u03c0": r" \pi ",
    "\u221e": r" \infty ",
    "\u2264": r" \le ",
    "\u2265": r" \ge ",
    "\u221a": r"\sqrt",
    "\u00b0": "",  # degree sign
})

_DELIMITERS = re.compile(r"\\\$|\$|\\[()\[\]]")
_THIN_SPACES = re.compile(r"\\[,;:!]|\\displaystyle|\\textstyle")
_WIDE_SPACES = re.compile(r"\\q?quad(?![A-Za-z])|\\ |~")
_BRACED_COMMA = re.compile(r"\{\s*,\s*\}")
_FRAC = re.compile(r"\\[dtc]frac(?![A-Za-z])")
# \left. and \right. are invisible delimiters; the others only size the bracket that follows.
_SIZING = re.compile(r"\\(?:left|right)\.|\\(?:left|right|[bB]igg?[lr]?)(?![A-Za-z])")
_DEGREES = re.compile(
    r"\^\s*\{?\s*\\circ\s*\}?|\\circ\s*$|\\degree(?![A-Za-z])|\\text\s*\{\s*degrees?\s*\}|\s*\bdegrees?\b"
)
_PERCENT = re.compile(r"\\%|%|\\text\s*\{\s*percent\s*\}|\s*\bpercent\b")
_TEXT_UNIT = re.compile(
    r"^(?P<body>.*?\S)\s*\\(?:text|mathrm|mbox|textrm|textnormal|operatorname)\s*\{[^{}]*\}"
    r"(?:\s*\^\s*(?:\{[^{}]*\}|-?\w))?\s*$",
    re.DOTALL,
)
_E_NOTATION = re.compile(r"(?<![\w\\.])(\d+(?:\.\d*)?|\.\d+)[eE]([+-]?\d+)(?![\w.])")
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_ASSIGNMENT = re.compile(r"^[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)?\s*=\s*(?P<rhs>[^=<>]+)$")
_RELATIONS = re.compile(r"\\(?:le|ge|leq|geq|neq|ne|approx|lt|gt|in)(?![A-Za-z])")
_WHITESPACE = re.compile(r"\s+")

#: How many trailing units are stripped at most (``\mathrm{ergs}\,\mathrm{s}^{-1}`` has two).
_MAX_UNITS = 4


def normalize_answer(answer: str) -> str:
    """``answer`` rewritten as described in this module's docstring; never raises for a ``str``."""
    text = answer.strip()
    if "\\boxed" in text or "\\fbox" in text:
        boxed = last_boxed(text)
        if boxed is not None:
            text = boxed
    text = text.translate(_UNICODE)
    text = _DELIMITERS.sub("", text)
    text = _THIN_SPACES.sub("", text)
    text = _WIDE_SPACES.sub(" ", text)
    text = _BRACED_COMMA.sub(",", text)
    text = _FRAC.sub(r"\\frac", text)
    text = _SIZING.sub("", text)
    text = _DEGREES.sub("", text)
    text = _PERCENT.sub("", text)
    text = _strip_units(text)
    text = _WHITESPACE.sub(" ", text).strip()
    text = text.rstrip(" .") if not text.endswith("..") else text
    text = _E_NOTATION.sub(r"\1\\times10^{\2}", text)
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    assignment = _ASSIGNMENT.match(text)
    if assignment is not None and not _RELATIONS.search(assignment.group("rhs")):
        text = assignment.group("rhs").strip()
    return text


def _strip_units(text: str) -> str:
    r"""``text`` without trailing ``\text{...}``-style units, when what is left contains a digit."""
    for _ in range(_MAX_UNITS):
        unit = _TEXT_UNIT.match(text)
        if unit is None or not any(char.isdigit() for char in unit.group("body")):
            break
        text = unit.group("body")
    return text
