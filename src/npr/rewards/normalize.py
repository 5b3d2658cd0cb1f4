r"""Normalisation of a math answer before math-verify reads it: :func:`normalize_answer`.

Both sides go through the same function, the gold answer and the extracted one, so every rule is symmetric. The
rules cover what the benchmarks' gold answers and models' boxes put around the mathematics:

* a ``\boxed{}`` around a gold answer, math delimiters (``$``, ``\(``, ``\[``) and ``\$`` (a dollar sign, as a
  currency it is dropped: ``\$12`` == 12);
* thin spaces and sizing: ``\,`` ``\;`` ``\!`` ``{,}`` (so ``1\,234`` == 1234), ``\displaystyle``, ``\left``/``\right``
  and ``\big``-style sizes. A LaTeX row break ``\\`` is never taken apart by these rules (``\\ `` is a row break
  and a space, not a backslash and an escaped space), so matrices keep their rows;
* ``\dfrac``/``\tfrac``/``\cfrac`` become ``\frac``; some Unicode symbols (``−`` ``×`` ``π`` ``∞``) become LaTeX;
* degrees (``^\circ``, ``°``, "degrees") are dropped: ``30^\circ`` == 30;
* percent signs are dropped: ``50\%`` == 50. A model that answers 0.5 to a question that asks for a percentage
  is marked wrong, since the gold is 50;
* trailing units in ``\text{}``/``\mathrm{}``/``\mbox{}`` after a number (``1.4 \text{ days}``,
  ``7.5 \times 10^{-7} \mathrm{~m}``, ``5\text{ cm}^2``) are dropped; an answer that is only text is kept. A single
  letter set upright with no space before it (``\mathrm{i}``, ``\mathrm{e}``, ``\operatorname{i}``) is a constant,
  not a unit: it is never dropped, and it becomes the bare letter (``4\mathrm{i}`` == ``4i``). A single letter with a
  space before it (``\mathrm{~m}``, ``\text{ s}``) is still a unit;
* a ``\text{}``/``\mathrm{}`` label in a subscript is unwrapped: ``\lambda_{\text{red}}`` == ``\lambda_{red}``;
* scientific E-notation (``4.5e33``, as in the Minerva gold answers) becomes ``4.5\times10^{33}``;
* thousands separators: the whole answer ``1,234`` or ``-12,345.5`` is a number when every group after the first
  has exactly three digits; commas anywhere else (``1,2``, ``(1,234, 5)``) are left to math-verify, which reads
  them as lists. A comma followed by a thin space (``11,\! 111,\! 100``, as MATH writes large numbers) or a braced
  comma (``11{,}111``) is a separator whatever spaces follow it;
* a single-variable assignment ``x = 5`` becomes ``5``, also with a subscript (``m_{\max} = 5``); not
  ``f(x) = x``, nor anything with a second relation;
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

# A row break ``\\`` is matched first wherever a rule could start inside one, and kept (see :func:`_sub`): without
# that, ``\\ `` (row break, space) reads as ``\`` + ``\ `` and a 3x1 matrix collapses into a 1x1 one.
_DELIMITERS = re.compile(r"(?P<row_break>\\\\)|\\\$|\$|\\[()\[\]]")
_THIN_SPACES = re.compile(r"(?P<row_break>\\\\)|\\[,;:!]|\\displaystyle|\\textstyle")
_WIDE_SPACES = re.compile(r"(?P<row_break>\\\\)|\\q?quad(?![A-Za-z])|\\ |~")
# A comma followed by a thin space only ever separates thousands (MATH: ``11,\! 111,\! 100``).
_THIN_SPACED_COMMA = re.compile(r",\s*\\[,;:!]\s*")
_BRACED_COMMA = re.compile(r"\{\s*,\s*\}\s*")
_FRAC = re.compile(r"\\[dtc]frac(?![A-Za-z])")
# \left. and \right. are invisible delimiters; the others only size the bracket that follows.
_SIZING = re.compile(r"\\(?:left|right)\.|\\(?:left|right|[bB]igg?[lr]?)(?![A-Za-z])")
_DEGREES = re.compile(
    r"\^\s*\{?\s*\\circ\s*\}?|\\circ\s*$|\\degree(?![A-Za-z])|\\text\s*\{\s*degrees?\s*\}|\s*\bdegrees?\b"
)
_PERCENT = re.compile(r"\\%|%|\\text\s*\{\s*percent\s*\}|\s*\bpercent\b")
_UPRIGHT = r"\\(?:text|mathrm|mbox|textrm|textnormal|operatorname)\s*"
# No space inside the braces: ``\mathrm{i}`` is the imaginary unit, ``\mathrm{~m}`` (a space, then m) a unit.
_UPRIGHT_LETTER = re.compile(_UPRIGHT + r"\{([A-Za-z])\}")
# Inside an expression only the imaginary unit and Euler's number are letters set upright; any other single upright
# letter there is a unit (K, V, J, N, L, ...), left for the unit stripping.
_UPRIGHT_CONSTANT = re.compile(_UPRIGHT + r"\{([ie])\}")
# A leading "approximately" says nothing about the value.
_APPROX = re.compile(r"^(?:\\approx|\\simeq|\\sim|≈)(?![A-Za-z])\s*")
_SUBSCRIPT_LABEL = re.compile(r"_\s*\{\s*" + _UPRIGHT + r"\{\s*([^{}]*?)\s*\}\s*\}")
_TEXT_UNIT = re.compile(
    r"^(?P<body>.*?\S)\s*" + _UPRIGHT + r"\{[^{}]*\}(?:\s*\^\s*(?:\{[^{}]*\}|-?\w))?\s*$",
    re.DOTALL,
)
_E_NOTATION = re.compile(r"(?<![\w\\.])(\d+(?:\.\d*)?|\.\d+)[eE]([+-]?\d+)(?![\w.])")
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_ASSIGNMENT = re.compile(r"^[A-Za-z](?:_(?:\{[^{}=]*\}|[A-Za-z0-9]+))?\s*=\s*(?P<rhs>[^=<>]+)$")
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
    text = _sub(_DELIMITERS, "", text)
    text = _THIN_SPACED_COMMA.sub(",", text)
    text = _sub(_THIN_SPACES, "", text)
    text = _sub(_WIDE_SPACES, " ", text)
    text = _BRACED_COMMA.sub(",", text)
    text = _FRAC.sub(r"\\frac", text)
    text = _SIZING.sub("", text)
    text = _DEGREES.sub("", text)
    text = _PERCENT.sub("", text)
    text = _APPROX.sub("", text.strip())
    lone = _UPRIGHT_LETTER.fullmatch(text.strip())
    text = lone.group(1) if lone is not None else _UPRIGHT_CONSTANT.sub(r"\1", text)
    text = _SUBSCRIPT_LABEL.sub(r"_{\1}", text)
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


def _sub(pattern: re.Pattern[str], replacement: str, text: str) -> str:
    """``pattern.sub(replacement, text)``, except that a match of the ``row_break`` group is left as it is."""
    return pattern.sub(lambda match: match.group("row_break") or replacement, text)


def _strip_units(text: str) -> str:
    r"""``text`` without trailing ``\text{...}``-style units, when what is left contains a digit."""
    for _ in range(_MAX_UNITS):
        unit = _TEXT_UNIT.match(text)
        if unit is None or not any(char.isdigit() for char in unit.group("body")):
            break
        text = unit.group("body")
    return text
