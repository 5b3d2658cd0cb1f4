"""Checking NPR text against the rules of the format: :func:`validate`.

``validate(text)`` returns a list of :class:`Violation` s, ordered by where they occur; ``[]`` means the text is a
valid response. It never raises for a ``str`` and is linear in its length: it parses once
(:func:`npr.schema.parse`) and then makes one pass over the parsed blocks.

Violation codes are stable; code that consumes them (the format reward, ``npr format check``, reports) may rely on
them. Each code is one rule of the format (DESIGN.md section 2):

=====================  =================================================================================================
code                   meaning
=====================  =================================================================================================
``no_blocks``          there is no ``<guideline>`` at all, e.g. a plain chain of thought
``stray_text``         non-whitespace text where only whitespace may stand: before the first block, inside a guideline
                       outside its plans, between the guideline and the first step, between steps, between the last
                       step and the takeaway, or between blocks
``nested_tag``         a tag opened inside a plan, step or takeaway, or anything but a plan opened inside a guideline
``unmatched_close``    a close tag with no matching open element
``unclosed_tag``       an element that is never closed: the text ends inside it (cut off), or ``</guideline>``
                       arrives while a plan is still open; also a text that ends halfway through a tag (``</ste``)
``unexpected_tag``     an element where it cannot stand: a plan outside a guideline, a step or takeaway after the
                       block's takeaway or before any guideline, a takeaway before any step
``no_plans``           a guideline with no plan
``plan_numbering``     plan i of a block does not start with ``i:`` (plans are numbered 1..k in order)
``step_count``         a block's number of steps differs from its number of plans
``step_numbering``     step i of a block does not start with ``i:`` (step i executes plan i)
``missing_takeaway``   a block with no ``<takeaway>``
``empty_takeaway``     a takeaway with nothing but whitespace in it
``empty_plan``         a plan with no text after its number
``empty_step``         a step with no text after its number
``missing_conclusion`` nothing but whitespace after the last block
=====================  =================================================================================================

A missing ``\\boxed{}`` is not a violation: not every answer is short.

Structural problems (the five codes the parser finds) are listed one by one up to ``parse.MAX_LISTED`` per code;
beyond that, one more entry of the same code says how many were left out and spans them all. The set of codes, and
so the reward, is exact either way.

When the text is cut off (``unclosed_tag`` at the end), the rules that only a finished block can meet are not
applied to the block that was cut (its step count, its takeaway) nor to the conclusion, and the open element itself
is not checked for numbering or emptiness, so that truncation is reported once instead of as a cascade.
"""

from __future__ import annotations

from npr.schema.parse import parse
from npr.schema.structure import Block, Response, Span, Violation

__all__ = ["CODES", "Violation", "validate", "response_violations"]

#: Every code :func:`validate` can return, in the order of the table above.
CODES: tuple[str, ...] = (
    "no_blocks",
    "stray_text",
    "nested_tag",
    "unmatched_close",
    "unclosed_tag",
    "unexpected_tag",
    "no_plans",
    "plan_numbering",
    "step_count",
    "step_numbering",
    "missing_takeaway",
    "empty_takeaway",
    "empty_plan",
    "empty_step",
    "missing_conclusion",
)


def validate(text: str) -> list[Violation]:
    """All violations of the NPR format in ``text``, in order of position; ``[]`` when it is valid."""
    return response_violations(parse(text))


def response_violations(response: Response) -> list[Violation]:
    """The violations of an already parsed response: its parse problems plus the rules on its blocks."""
    found = list(response.problems)
    for index, block in enumerate(response.blocks, start=1):
        found.extend(_block_violations(index, block))
    end = response.span.end
    if not response.blocks:
        message = "no <guideline> block: the response is not in the NPR format"
        found.append(Violation("no_blocks", message, Span(0, end)))
    elif not response.conclusion and not response.truncated:
        last = response.blocks[-1].span.end
        found.append(Violation("missing_conclusion", "nothing after the last block", Span(last, max(last, end))))
    # sorted() is stable, so violations at the same offset keep the order in which they were found.
    return sorted(found, key=lambda v: v.span.start)



def _numbered(kind: str, items, index: int, skip_last: bool) -> list[Violation]:
    """``{kind}_numbering`` and ``empty_{kind}`` for plans or steps; a cut-off last item is not judged."""
    found: list[Violation] = []
    for i, item in enumerate(items, start=1):
        if skip_last and i == len(items):
            continue
        if item.number != i:
            message = f"block {index}: {kind} {i} is numbered {_shown(item.number)}"
            found.append(Violation(f"{kind}_numbering", message, item.span))
        if not item.text:
            found.append(Violation(f"empty_{kind}", f"block {index}: {kind} {i} is empty", item.span))
    return found

def _block_violations(index: int, block: Block) -> list[Violation]:
    """The rules on one block's counts, numbering and contents."""
    cut = block.open_element
    found: list[Violation] = []
    k = len(block.plans)
    if k == 0 and cut not in ("guideline", "plan"):
        found.append(Violation("no_plans", f"block {index}: the guideline has no plan", block.guideline_span))
    found += _numbered("plan", block.plans, index, skip_last=cut == "plan")
    if k and len(block.steps) != k and cut in (None, "takeaway"):
        found.append(
            Violation("step_count", f"block {index}: {k} plan(s) but {len(block.steps)} step(s)", block.span)
        )
    found += _numbered("step", block.steps, index, skip_last=cut == "step")
    if block.takeaway is None:
        if cut is None:
            at = Span(block.span.end, block.span.end)
            found.append(Violation("missing_takeaway", f"block {index} has no <takeaway>", at))
    elif not block.takeaway and cut != "takeaway":
        span = block.takeaway_span if block.takeaway_span is not None else block.span
        found.append(Violation("empty_takeaway", f"block {index}: the takeaway is empty", span))
    return found


def _shown(number: int | None) -> str:
    return "nothing (no leading 'N:')" if number is None else f"{number}:"
