"""The eight structural tags of the NPR format.

Each tag is one special token. The order below is the order in which the released NPR checkpoints added them to the
tokenizer; keep it, so that those checkpoints load and decode unchanged.
"""

from __future__ import annotations

GUIDELINE_OPEN = "<guideline>"
GUIDELINE_CLOSE = "</guideline>"
PLAN_OPEN = "<plan>"
PLAN_CLOSE = "</plan>"
STEP_OPEN = "<step>"
STEP_CLOSE = "</step>"
TAKEAWAY_OPEN = "<takeaway>"
TAKEAWAY_CLOSE = "</takeaway>"

#: All eight tags, in tokenizer order.
TAGS: tuple[str, ...] = (
    GUIDELINE_OPEN,
    GUIDELINE_CLOSE,
    PLAN_OPEN,
    PLAN_CLOSE,
    STEP_OPEN,
    STEP_CLOSE,
    TAKEAWAY_OPEN,
    TAKEAWAY_CLOSE,
)


def bare_word(tag: str) -> str:
    """The word inside a tag: ``"</step>"`` -> ``"step"``."""
    return tag.strip("<>/")
