r"""Extraction of the final boxed answer from free text: :func:`last_boxed`.

Short answers are given as ``\boxed{...}`` in the conclusion. Graders and :class:`npr.schema.Response` both use this
one function, so that "the answer" means the same thing everywhere.

Forms understood, for both ``\boxed`` and ``\fbox``:

* ``\boxed{...}`` with nested braces; ``\{`` and ``\}`` are escaped braces and do not count;
* ``\boxed {...}`` (spaces before the brace);
* ``\boxed 5`` (the one-token form): the token runs to the next whitespace or ``$``.

The scan is linear in the length of the text: the occurrences are visited from the last one backwards, rejecting a
non-match (``\boxedfoo``) in constant time, and only the last real occurrence is scanned for its closing brace.
"""

from __future__ import annotations

import re

_MACROS: tuple[str, ...] = ("\\boxed", "\\fbox")
# A backslash escapes the next character (so "\{" is not a group); otherwise only braces matter.
_BRACE_EVENT = re.compile(r"\\.|[{}]", re.DOTALL)
_SPACES_THEN_TOKEN = re.compile(r"\s+([^\s$]*)")


def last_boxed(text: str) -> str | None:
    r"""The stripped content of the last ``\boxed`` (or ``\fbox``) in ``text``.

    Returns ``None`` when there is none, or when the last one is malformed: unbalanced braces (a cut-off answer),
    or nothing after it. An earlier well-formed box does not stand in for a broken last one, because the last box is
    the model's final word.
    """
    # The latest known occurrence of each macro at or before the search bound, so that no stretch of the text is
    # searched twice for the same macro.
    found = [text.rfind(macro) for macro in _MACROS]
    while True:
        which = max(range(len(_MACROS)), key=lambda m: found[m])
        start = found[which]
        if start < 0:
            return None
        after = start + len(_MACROS[which])
        nxt = text[after : after + 1]
        if nxt.isalpha():
            # A longer macro name such as \fboxsep: not a box; look further back.
            for m, macro in enumerate(_MACROS):
                if found[m] >= start:
                    found[m] = text.rfind(macro, 0, start)
            continue
        box = _box_content(text, after)
        return box[0] if box is not None else None


def box_at(text: str, start: int) -> tuple[str, int] | None:
    r"""The box whose ``\boxed`` or ``\fbox`` starts at ``start``: its stripped content and the index one past its
    end (the closing brace, or the end of the one-token form); ``None`` when there is no box there or it is
    malformed."""
    for macro in _MACROS:
        if text.startswith(macro, start) and not text[start + len(macro) : start + len(macro) + 1].isalpha():
            return _box_content(text, start + len(macro))
    return None


def _box_content(text: str, after: int) -> tuple[str, int] | None:
    """The content of a box whose macro name ends at ``after`` and where the box ends, or ``None`` if malformed."""
    if text[after : after + 1] == "{":
        return _braced(text, after + 1)
    token = _SPACES_THEN_TOKEN.match(text, after)
    if token is None:
        return None
    if text[token.start(1) : token.start(1) + 1] == "{":
        return _braced(text, token.start(1) + 1)
    content = token.group(1)
    return (content, token.end(1)) if content else None


def _braced(text: str, body_start: int) -> tuple[str, int] | None:
    """The stripped text from ``body_start`` up to the brace that closes an already opened group, and the index
    after that brace; ``None`` when the group never closes."""
    depth = 1
    for event in _BRACE_EVENT.finditer(text, body_start):
        char = event.group()
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[body_start : event.start()].strip(), event.end()
    return None
