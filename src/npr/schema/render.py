"""Writing a :class:`~npr.schema.structure.Response` as canonical NPR text: :func:`render`.

The canonical layout (shown in :mod:`npr.schema`) puts every tag on its own line and each plan on one line.
Blocks are separated by a newline and the conclusion follows the last block after a newline. A plan or step whose
number is ``None`` is written without the ``N:`` prefix. Free text before or between blocks, which a valid response
does not have, is written on its own lines where it stood, so that rendering hides nothing. For every valid response
``x``, ``parse(render(x)) == x``.
"""

from __future__ import annotations

from npr.schema.structure import Block, Response
from npr.schema.tags import (
    GUIDELINE_CLOSE,
    GUIDELINE_OPEN,
    PLAN_CLOSE,
    PLAN_OPEN,
    STEP_CLOSE,
    STEP_OPEN,
    TAKEAWAY_CLOSE,
    TAKEAWAY_OPEN,
)

__all__ = ["render", "render_block"]


def _numbered(number: int | None, text: str) -> str:
    return text if number is None else f"{number}: {text}"


def render_block(block: Block) -> str:
    """One block in canonical form, without a trailing newline."""
    lines = [GUIDELINE_OPEN]
    lines.extend(f"{PLAN_OPEN}{_numbered(plan.number, plan.text)}{PLAN_CLOSE}" for plan in block.plans)
    lines.append(GUIDELINE_CLOSE)
    for step in block.steps:
        lines.extend((STEP_OPEN, _numbered(step.number, step.text), STEP_CLOSE))
    if block.takeaway is not None:
        lines.extend((TAKEAWAY_OPEN, block.takeaway, TAKEAWAY_CLOSE))
    return "\n".join(lines)


def render(response: Response) -> str:
    """The canonical text of ``response``."""
    parts: list[str] = []
    if response.preamble:
        parts.append(response.preamble)
    for index, block in enumerate(response.blocks):
        if index and index - 1 < len(response.between) and response.between[index - 1]:
            parts.append(response.between[index - 1])
        parts.append(render_block(block))
    if response.conclusion:
        parts.append(response.conclusion)
    return "\n".join(parts)
