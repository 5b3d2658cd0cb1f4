r"""Finding several answers in one response: :func:`trailing_boxes` and :func:`split_answers`.

A question with several answers (OlympiadBench ``is_multiple_answer``) may be answered in one box,
``\boxed{2, 5}``, or in a run of boxes that closes the response, ``\boxed{2} and \boxed{5}``. The run is the last box
and every box before it that is separated from the next one only by glue: whitespace, ``$``, punctuation (``,`` ``;``
``.``), ``&``, ``\\``, spacing commands, and the words "and"/"or" (bare or in ``\text{}``). Any other text ends the
run, so an intermediate result boxed earlier in the reasoning never joins the final answer.

Within one answer text, answers are separated by commas or semicolons at the top level (outside all brackets), so
``(1,2), (3,4)`` holds two answers; ``\text{and}`` and a bare "and"/"or" separate too.

A set written out, ``\{(1,2), (3,4)\}`` (or with ``\left\{ ... \right\}``, or after ``x \in`` or
``(a, b) \in``), holds the answers that are its members: :func:`set_members`.

All three functions are linear in the length of the text.
"""

from __future__ import annotations

import re

from npr.schema import last_boxed
from npr.schema.boxed import box_at

__all__ = ["trailing_boxes", "split_answers", "set_members"]

_MACRO = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_GLUE = re.compile(
    r"(?:\s|[$,;.&]|\\\\|\\[,;:! ]|\\q?quad(?![A-Za-z])|\\text\s*\{\s*(?:and|or|,)?\s*\}|\b(?:and|or)\b)*+",
    re.IGNORECASE,
)
# Spacing commands, which may be all that is left of "1,\ \text{and } 5" between two separators.
_SPACING = re.compile(r"\\[ ,;:!]|~|\\q?quad(?![A-Za-z])")
_WORD_SEPARATOR = re.compile(r"\\text\s*\{\s*(?:and|or)\s*\}|\s+(?:and|or)\s+")
# What may name the members before \in: a letter, or a tuple of letters.
_MEMBER_NAME = re.compile(r"\s*(?:[A-Za-z]|\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])*\s*\))\s*\\in(?![A-Za-z])\s*")
_SET = re.compile(r"(?:\\left\s*)?\\\{(?P<members>.*)(?:\\right\s*)?\\\}\s*", re.DOTALL)
_SET_BRACE = re.compile(r"\\[{}]")
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")


def trailing_boxes(text: str, limit: int) -> list[str]:
    r"""The contents of the run of boxes that ends ``text``, first to last; ``[]`` if the last box is malformed.

    At most ``limit + 1`` boxes are collected (so a caller can tell "more than ``limit``" from "exactly").
    """
    starts = [match.start() for match in _MACRO.finditer(text)]
    boxes: list[str] = []
    bound = len(text)
    for start in reversed(starts):
        segment = text[start:bound]
        content = last_boxed(segment)
        if content is None:
            break
        if boxes:
            end = _box_end(segment)
            if end is None or _GLUE.fullmatch(segment, end) is None:
                break
        boxes.append(content)
        if len(boxes) > limit:
            break
        bound = start
    boxes.reverse()
    return boxes


def _box_end(segment: str) -> int | None:
    """Where the box that opens ``segment`` ends (one past its closing brace or token)."""
    box = box_at(segment, 0)
    return box[1] if box is not None else None


def split_answers(text: str) -> list[str]:
    """The answers in ``text``, split at top-level commas and semicolons (and "and"/"or"); empty pieces dropped."""
    text = _WORD_SEPARATOR.sub(",", text)
    pieces: list[str] = []
    depth = 0
    current: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            # \{ and \} are set braces: they nest like brackets; any other escape is copied whole.
            pair = text[index : index + 2]
            if pair == "\\{":
                depth += 1
            elif pair == "\\}":
                depth = max(depth - 1, 0)
            current.append(pair)
            index += 2
            continue
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth = max(depth - 1, 0)
        if char in ",;" and depth == 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    pieces.append("".join(current))
    pieces = [_SPACING.sub(" ", piece).strip() for piece in pieces]
    return [piece for piece in pieces if piece]


def set_members(text: str) -> list[str] | None:
    r"""The members of the set that ``text`` is (``\{1, 2\}``, ``x \in \{1, 2\}``), split as by :func:`split_answers`;
    ``None`` when ``text`` is not one set (``\{1\} \cup \{2\}`` is not)."""
    name = _MEMBER_NAME.match(text)
    found = _SET.fullmatch(text.strip() if name is None else text[name.end() :].strip())
    if found is None:
        return None
    members = found.group("members")
    if members.rstrip().endswith("\\right"):
        members = members.rstrip()[: -len("\\right")]
    depth = 0
    for brace in _SET_BRACE.finditer(members):
        depth += 1 if brace.group() == "\\{" else -1
        if depth < 0:
            return None
    pieces = split_answers(members)
    return pieces or None
