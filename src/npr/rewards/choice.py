r"""Grading a multiple-choice answer: :func:`grade_choice`, the ``"choice"`` kind.

The gold answer is one letter (``"B"``, ``"(B)"``, any case). The valid letters are ``A`` up to the ``choices``-th
letter; without ``choices``, ``A``-``D``, or up to the gold letter when that is later.

The response's letter is taken from the first of these that yields one:

1. the last ``\boxed{}``, when its content is a letter: ``B``, ``(B)``, ``\text{B}``, ``\textbf{(B)}``, or a letter
   followed by its option text (``(B) 42``, ``B. 42``, ``B: 42``);
2. the last explicit phrase: "answer is (B)", "Answer: B", "final answer: **B**", "the correct option is C" (the
   phrase in any case);
3. the whole response, when it is nothing but a letter (``B``, ``(B).``).

A letter is never taken from an ordinary word: a bare letter (outside parentheses) must be upper case and followed by
neither a letter, a digit, nor a space and a lower-case word, so the "A" of "the answer is A triangle" is no answer.
A letter outside the valid range is ``no_answer`` as well, with the letter in the reason.
"""

from __future__ import annotations

import re
import string
from typing import Any

from npr.rewards.verdict import MISMATCH, NO_ANSWER, Grade, InvalidGold
from npr.schema import last_boxed

__all__ = ["grade_choice", "check_choice_gold", "extract_letter", "valid_letters"]

_WRAPPERS = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_DECORATION = re.compile(r"[$*]")
_ONLY_LETTER = re.compile(r"\(?\s*([A-Za-z])\s*\)?\.?")
_LETTER_THEN_TEXT = re.compile(r"\(\s*([A-Za-z])\s*\)\s*\S.*|([A-Z])[.:)]\s+\S.*", re.DOTALL)
# The gap between the keyword and the letter is matched possessively (``*+``): with several optional runs of
# whitespace in a row, plain backtracking takes polynomial time on a long run of spaces after "answer".
_PHRASE = re.compile(
    r"(?i:\banswer|\bcorrect\s+(?:option|choice))"
    r"(?:[\s:=*$]|\\(?:text|textbf|mathrm)\s*\{|(?i:is|option|choice)\b)*+"
    r"(?:\(\s*(?P<paren>[A-Za-z])\s*\)|(?P<bare>[A-Z])(?![A-Za-z0-9])(?!\s+[a-z]))"
)


def valid_letters(gold: str, choices: int | None) -> str:
    """The valid option letters, ``"ABCD"`` by default (see the module docstring)."""
    if choices is None:
        return string.ascii_uppercase[: max(4, string.ascii_uppercase.index(gold) + 1)]
    if isinstance(choices, bool) or not isinstance(choices, int) or not 1 <= choices <= 26:
        raise InvalidGold(f"choice: choices must be an int from 1 to 26, got {choices!r}")
    return string.ascii_uppercase[:choices]


def _gold_letter(answer: Any) -> str:
    if not isinstance(answer, str):
        raise InvalidGold(f"choice gold answer: expected a letter, got {type(answer).__name__}")
    match = _ONLY_LETTER.fullmatch(answer.strip())
    if match is None:
        raise InvalidGold(f"choice gold answer: expected a letter such as 'B' or '(B)', got {answer!r}")
    return match.group(1).upper()


def _letter_in_box(content: str) -> str | None:
    text = _DECORATION.sub("", _WRAPPERS.sub(r"\1", content)).strip()
    only = _ONLY_LETTER.fullmatch(text)
    if only is not None:
        return only.group(1).upper()
    with_text = _LETTER_THEN_TEXT.fullmatch(text)
    if with_text is not None:
        return (with_text.group(1) or with_text.group(2)).upper()
    return None


def extract_letter(response: str) -> str | None:
    """The letter the response gives, by the rules of the module docstring, in upper case; ``None`` if none."""
    boxed = last_boxed(response)
    if boxed is not None:
        letter = _letter_in_box(boxed)
        if letter is not None:
            return letter
    last_phrase = None
    for phrase in _PHRASE.finditer(response):
        last_phrase = phrase
    if last_phrase is not None:
        return (last_phrase.group("paren") or last_phrase.group("bare")).upper()
    whole = _ONLY_LETTER.fullmatch(_DECORATION.sub("", _WRAPPERS.sub(r"\1", response)).strip())
    return whole.group(1).upper() if whole is not None else None


def _gold_and_letters(answer: Any, choices: int | None) -> tuple[str, str]:
    gold = _gold_letter(answer)
    letters = valid_letters(gold, choices)
    if gold not in letters:
        raise InvalidGold(f"choice gold answer {gold!r} is not among the {len(letters)} options {letters}")
    return gold, letters


def check_choice_gold(answer: Any, *, choices: int | None = None) -> None:
    """Raise :class:`InvalidGold` unless ``answer`` is one letter among the valid ones (``choices`` checked too)."""
    _gold_and_letters(answer, choices)


def grade_choice(response: str, answer: Any, *, timeout: float | None = None, choices: int | None = None) -> Grade:
    """Grade a multiple-choice ``response`` against the gold letter ``answer`` (``timeout`` unused: linear time)."""
    gold, letters = _gold_and_letters(answer, choices)
    letter = extract_letter(response)
    if letter is None:
        return Grade.wrong(None, f"{NO_ANSWER}: no option letter in the response")
    if letter not in letters:
        return Grade.wrong(None, f"{NO_ANSWER}: letter {letter} is not among the options {letters[0]}-{letters[-1]}")
    return Grade.right(letter) if letter == gold else Grade.wrong(letter, MISMATCH)
