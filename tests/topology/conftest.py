"""A tiny symbolic vocabulary for topology tests: tags are ids 100..107, words are small ids."""

from __future__ import annotations

import pytest

from npr.schema.tags import TAGS
from npr.tokens import TagIds

TAG_BASE = 100
TOY_TAGS = TagIds(*range(TAG_BASE, TAG_BASE + len(TAGS)))
SYMBOL = dict(zip(TAGS, range(TAG_BASE, TAG_BASE + len(TAGS))))


def toks(*parts: str | int) -> list[int]:
    """``toks("<step>", 5, 6, "</step>")`` -> ids; tags by name, words as ints below 100."""
    return [SYMBOL[p] if isinstance(p, str) else p for p in parts]


@pytest.fixture
def tags() -> TagIds:
    return TOY_TAGS
