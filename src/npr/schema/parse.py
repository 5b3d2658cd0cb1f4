"""Parsing NPR text into a :class:`~npr.schema.structure.Response`: :func:`parse`.

The parser never raises on a ``str`` and runs in linear time. One regular expression finds the eight tags (a plain
alternation of literals, so it cannot backtrack), and one pass of a state machine consumes them. Every piece of text
between two tags is sliced and inspected once.

It is forgiving: whatever the input, it returns the best structure it can, and records the *structural* problems it
met in ``Response.problems`` (codes ``stray_text``, ``nested_tag``, ``unmatched_close``, ``unclosed_tag`` and
``unexpected_tag``; see :mod:`npr.schema.validate` for the table). Rules about counts, numbering and emptiness are
left to :func:`npr.schema.validate`, which works on the parsed structure. Past :data:`MAX_LISTED` problems of one
code, the rest are summed up in a single entry of that code whose span covers them all.

Recovery policy, chosen so that one mistake yields one code rather than a cascade:

* An opening tag inside a plan, step or takeaway (or a non-plan tag inside a guideline) is ``nested_tag``. It stays
  part of the content, and its own close tag is absorbed quietly. The element's own close tag always closes it.
* ``</guideline>`` inside an open plan closes the plan (``unclosed_tag`` for the plan) and then the guideline.
* A ``<plan>``, ``<step>`` or ``<takeaway>`` where it cannot stand (outside a guideline, after a finished block) is
  ``unexpected_tag``; the element, up to its close tag, is kept out of every block. A takeaway before any step is
  ``unexpected_tag`` too, but still serves as the block's takeaway.
* A ``<guideline>`` after a block's steps ends that block without a takeaway and starts the next one.
* Text after the last step of a block that never got a takeaway is the conclusion when the input ends there.
* A text that ends halfway through a tag (``...</takeaway>\\n</ste``) was cut off: ``unclosed_tag``, not text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from npr.schema.boxed import last_boxed
from npr.schema.structure import Block, Plan, Response, Span, Step, Violation, split_number
from npr.schema.tags import TAGS, bare_word

__all__ = ["parse", "last_boxed"]

_TAG = re.compile("|".join(re.escape(tag) for tag in TAGS))
#: tag text -> (is it a close tag, bare name); looked up once per tag instead of re-deriving it.
_TAG_INFO: dict[str, tuple[bool, str]] = {tag: (tag.startswith("</"), bare_word(tag)) for tag in TAGS}
_LONGEST_TAG = max(len(tag) for tag in TAGS)

#: At most this many problems of one code are listed one by one; the rest are summed up in one more entry. A garbage
#: text with a million stray tags thus yields a bounded list, and the set of codes (all the reward needs) is exact.
MAX_LISTED = 100

# Parser modes. Plain strings rather than an Enum: the mode is consulted once per tag, and string hashing is cheaper.
_TEXT = "text"  # outside any block: preamble, between blocks, conclusion
_GUIDELINE = "guideline"  # inside <guideline>, outside plans
_PLAN = "plan"
_AFTER = "after"  # in a block after </guideline> or </step>: the step area
_STEP = "step"
_TAKEAWAY = "takeaway"
_ORPHAN = "orphan"  # inside an element that stands where it cannot (unexpected_tag)
_INSIDE_ELEMENT = (_GUIDELINE, _PLAN, _STEP, _TAKEAWAY, _ORPHAN)


@dataclass
class _Nested:
    """Tags opened inside an element where nothing may be opened; matched close tags are absorbed."""

    names: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def push(self, name: str) -> None:
        self.names.append(name)
        self.counts[name] = self.counts.get(name, 0) + 1

    def pop_to(self, name: str) -> bool:
        """Pop up to and including the innermost open ``name``; False when none is open."""
        if not self.counts.get(name):
            return False
        while self.names:
            top = self.names.pop()
            self.counts[top] -= 1
            if top == name:
                break
        return True

    def clear(self) -> None:
        if self.names:
            self.names.clear()
            self.counts.clear()


@dataclass
class _BlockBuilder:
    start: int
    guideline_end: int = -1
    plans: list[Plan] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    takeaway: str | None = None
    takeaway_span: Span | None = None


class _Parser:
    """The state of one pass over the tags of one text. Handlers take ``(is_close, name, start, end)`` of a tag."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.mode = _TEXT
        self.problems: list[Violation] = []
        self.reported: dict[str, int] = {}  # code -> how many problems with it were met
        self.unlisted: dict[str, tuple[int, int]] = {}  # code -> (first start, last end) of those past the cap
        self.blocks: list[Block] = []
        self.preamble = ""
        self.between: list[str] = []
        self.block: _BlockBuilder | None = None
        # Free text outside elements (TEXT and AFTER modes): where the current stretch began, and the extent of its
        # non-whitespace parts, so that stray text is reported once per stretch.
        self.region_start = 0
        self.ink_start = -1
        self.ink_end = -1
        # The open element: where its open tag starts and where its body starts.
        self.elem_start = 0
        self.body_start = 0
        self.nested = _Nested()
        self.orphan_name = ""
        self.orphan_start = 0
        self.orphan_return = _TEXT
        self.handlers = {
            _TEXT: self.in_text,
            _GUIDELINE: self.in_guideline,
            _PLAN: self.in_plan,
            _AFTER: self.in_after,
            _STEP: self.in_step,
            _TAKEAWAY: self.in_takeaway,
            _ORPHAN: self.in_orphan,
        }

    # -- helpers -------------------------------------------------------------------------------------------------

    def report(self, code: str, message: str, start: int, end: int) -> None:
        seen = self.reported.get(code, 0)
        self.reported[code] = seen + 1
        if seen < MAX_LISTED:
            self.problems.append(Violation(code, message, Span(start, end)))
            return
        # Past the cap only the extent of the unlisted ones is kept; finish() adds one entry that sums them up.
        first, _ = self.unlisted.get(code, (start, end))
        self.unlisted[code] = (first, end)

    def problems_with_summaries(self) -> tuple[Violation, ...]:
        extra = [
            Violation(code, f"{self.reported[code] - MAX_LISTED} more {code} problem(s) not listed", Span(a, b))
            for code, (a, b) in self.unlisted.items()
        ]
        return tuple(self.problems + extra)

    def open_region(self, start: int) -> None:
        self.region_start = start
        self.ink_start = -1

    def flush_region_stray(self, where: str) -> None:
        if self.ink_start >= 0:
            self.report("stray_text", f"text {where}; only whitespace may stand there", self.ink_start, self.ink_end)

    def open_element(self, mode: str, start: int, end: int) -> None:
        self.mode = mode
        self.elem_start = start
        self.body_start = end
        self.nested.clear()

    def start_block(self, start: int, end: int) -> None:
        self.block = _BlockBuilder(start=start)
        self.open_element(_GUIDELINE, start, end)

    def finish_block(self, end: int, open_element: str | None = None) -> None:
        b = self.block
        assert b is not None
        self.blocks.append(
            Block(
                plans=tuple(b.plans),
                steps=tuple(b.steps),
                takeaway=b.takeaway,
                span=Span(b.start, end),
                guideline_span=Span(b.start, b.guideline_end if b.guideline_end >= 0 else end),
                takeaway_span=b.takeaway_span,
                open_element=open_element,
            )
        )
        self.block = None

    def add_plan(self, body_end: int, end: int) -> None:
        assert self.block is not None
        number, text = split_number(self.text[self.body_start : body_end])
        self.block.plans.append(Plan(number, text, Span(self.elem_start, end)))

    def add_step(self, body_end: int, end: int) -> None:
        assert self.block is not None
        number, text = split_number(self.text[self.body_start : body_end])
        self.block.steps.append(Step(number, text, Span(self.elem_start, end)))

    def set_takeaway(self, body_end: int, end: int) -> None:
        assert self.block is not None
        self.block.takeaway = self.text[self.body_start : body_end].strip()
        self.block.takeaway_span = Span(self.elem_start, end)

    def close_guideline(self, end: int) -> None:
        assert self.block is not None
        self.block.guideline_end = end
        self.mode = _AFTER
        self.nested.clear()
        self.open_region(end)

    def inside(self, is_close: bool, name: str, start: int, end: int, where: str) -> bool:
        """Handle a tag inside an element that allows no children; False when it is the element's own close."""
        if is_close:
            if name == where:
                return False
            if not self.nested.pop_to(name):
                self.report("unmatched_close", f"</{name}> closes nothing that is open", start, end)
            return True
        self.nested.push(name)
        self.report("nested_tag", f"<{name}> inside <{where}>: tags do not nest", start, end)
        return True

    def unexpected(self, name: str, start: int, end: int, why: str) -> None:
        self.report("unexpected_tag", f"<{name}> {why}", start, end)
        self.orphan_return = self.mode
        self.orphan_name = name
        self.orphan_start = start
        self.open_element(_ORPHAN, start, end)

    # -- the state machine ---------------------------------------------------------------------------------------

    def text_piece(self, start: int, end: int) -> None:
        """Inspect the non-empty text between two tags (or before the first / after the last) by the mode."""
        mode = self.mode
        if mode is _TEXT or mode is _AFTER or (mode is _GUIDELINE and not self.nested.names):
            piece = self.text[start:end]
            left = len(piece) - len(piece.lstrip())
            if left == len(piece):
                return
            ink_start, ink_end = start + left, start + len(piece.rstrip())
            if mode is _GUIDELINE:
                self.report("stray_text", "text inside <guideline> outside any plan", ink_start, ink_end)
                return
            if self.ink_start < 0:
                self.ink_start = ink_start
            self.ink_end = ink_end

    def in_text(self, is_close: bool, name: str, start: int, end: int) -> None:
        if is_close:
            self.report("unmatched_close", f"</{name}> closes nothing that is open", start, end)
        elif name == "guideline":
            gap = self.text[self.region_start : start].strip()
            if self.blocks:
                self.between.append(gap)
                self.flush_region_stray("between blocks")
            else:
                self.preamble = gap
                self.flush_region_stray("before the first block")
            self.start_block(start, end)
        elif self.blocks:
            self.unexpected(name, start, end, "after the last block's takeaway: a new block starts with <guideline>")
        else:
            self.unexpected(name, start, end, "before any block: a block starts with <guideline>")

    def in_guideline(self, is_close: bool, name: str, start: int, end: int) -> None:
        if name == "plan" and not is_close and not self.nested.names:
            self.open_element(_PLAN, start, end)
        elif not self.inside(is_close, name, start, end, "guideline"):
            self.close_guideline(end)

    def in_plan(self, is_close: bool, name: str, start: int, end: int) -> None:
        if is_close and name == "guideline" and not self.nested.counts.get("guideline"):
            self.report("unclosed_tag", "<plan> not closed before </guideline>", self.elem_start, start)
            self.add_plan(start, start)
            self.close_guideline(end)
        elif not self.inside(is_close, name, start, end, "plan"):
            self.add_plan(start, end)
            self.mode = _GUIDELINE
            self.nested.clear()

    def in_after(self, is_close: bool, name: str, start: int, end: int) -> None:
        block = self.block
        assert block is not None
        if is_close:
            self.report("unmatched_close", f"</{name}> closes nothing that is open", start, end)
        elif name == "step":
            self.flush_region_stray("between steps" if block.steps else "between </guideline> and the first <step>")
            self.open_element(_STEP, start, end)
        elif name == "takeaway":
            self.flush_region_stray("between the last </step> and <takeaway>")
            if not block.steps:
                self.report("unexpected_tag", "<takeaway> before any <step>", start, end)
            self.open_element(_TAKEAWAY, start, end)
        elif name == "guideline":
            # The block ends without a takeaway; what stood after its steps is the gap before the next block.
            self.between.append(self.text[self.region_start : start].strip())
            self.flush_region_stray("between blocks")
            self.finish_block(self.region_start)
            self.start_block(start, end)
        else:
            self.unexpected(name, start, end, "after </guideline>: plans belong inside the guideline")

    def in_step(self, is_close: bool, name: str, start: int, end: int) -> None:
        if not self.inside(is_close, name, start, end, "step"):
            self.add_step(start, end)
            self.mode = _AFTER
            self.open_region(end)

    def in_takeaway(self, is_close: bool, name: str, start: int, end: int) -> None:
        if not self.inside(is_close, name, start, end, "takeaway"):
            self.set_takeaway(start, end)
            self.finish_block(end)
            self.mode = _TEXT
            self.open_region(end)

    def in_orphan(self, is_close: bool, name: str, start: int, end: int) -> None:
        if not self.inside(is_close, name, start, end, self.orphan_name):
            # Back to the free text the orphan interrupted; its stretch (and any stray text seen so far) goes on.
            self.mode = self.orphan_return
            self.nested.clear()

    # -- the end of the input ------------------------------------------------------------------------------------

    def finish(self, fragment: Span | None) -> Response:
        """Close the parse at the end of the text; ``fragment`` is a cut-off tag the text ends with, if any."""
        n = len(self.text)
        conclusion = ""
        truncated = self.mode in _INSIDE_ELEMENT
        if self.mode is _ORPHAN:
            self.report("unclosed_tag", f"<{self.orphan_name}> never closed", self.orphan_start, n)
            self.mode = self.orphan_return
        mode = self.mode
        if fragment is not None and mode in (_TEXT, _AFTER) and (self.blocks or self.block is not None):
            # Tags are single tokens, so only a cut-off text ends halfway through one.
            piece = fragment.of(self.text)
            self.report("unclosed_tag", f"the text ends inside a tag ({piece!r})", fragment.start, fragment.end)
            truncated = True
        if mode is _TEXT:
            conclusion = self.text[self.region_start :].strip()
        elif mode is _AFTER:
            # A block that never got its takeaway: what follows its last step is read as the conclusion.
            conclusion = self.text[self.region_start :].strip()
            self.finish_block(self.region_start, open_element="block" if truncated else None)
        elif mode is _PLAN:
            self.report("unclosed_tag", "<plan> never closed", self.elem_start, n)
            self.add_plan(n, n)
            assert self.block is not None
            self.report("unclosed_tag", "<guideline> never closed", self.block.start, n)
            self.finish_block(n, open_element=_PLAN)
        else:
            assert self.block is not None
            opened = self.block.start if mode is _GUIDELINE else self.elem_start
            self.report("unclosed_tag", f"<{mode}> never closed", opened, n)
            if mode is _STEP:
                self.add_step(n, n)
            elif mode is _TAKEAWAY:
                self.set_takeaway(n, n)
            self.finish_block(n, open_element=mode)
        return Response(
            blocks=tuple(self.blocks),
            preamble=self.preamble,
            between=tuple(self.between),
            conclusion=conclusion,
            problems=self.problems_with_summaries(),
            truncated=truncated,
            span=Span(0, n),
        )


def _tag_fragment_at_end(text: str, after: int) -> Span | None:
    """The span of a strict prefix of a tag (such as ``"</ste"``) that the text ends with, at or after ``after``."""
    start = text.rfind("<", max(after, len(text) - _LONGEST_TAG + 1))
    if start < 0:
        return None
    fragment = text[start:]
    if any(tag.startswith(fragment) and tag != fragment for tag in TAGS):
        return Span(start, len(text))
    return None


def parse(text: str) -> Response:
    """Parse ``text`` into a :class:`Response`, recording structural problems instead of raising.

    Linear in ``len(text)``; never raises for any ``str``.
    """
    parser = _Parser(text)
    handlers = parser.handlers
    position = 0
    for match in _TAG.finditer(text):
        start, end = match.span()
        if start > position:
            parser.text_piece(position, start)
        is_close, name = _TAG_INFO[match.group()]
        handlers[parser.mode](is_close, name, start, end)
        position = end
    fragment = _tag_fragment_at_end(text, position)
    # A cut-off tag at the very end is reported as truncation, not also as stray text.
    stop = len(text) if fragment is None else fragment.start
    if stop > position:
        parser.text_piece(position, stop)
    return parser.finish(fragment)
