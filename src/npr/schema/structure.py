"""The parsed shape of an NPR response: spans, plans, steps, blocks and the response itself.

These are plain value objects. :func:`npr.schema.parse` builds them from text, :func:`npr.schema.render` turns them
back into canonical text, and :func:`npr.schema.validate` checks them against the rules of the format.

Equality compares *structure only*: numbers, texts, takeaways, the free text around blocks. Everything that
describes where a piece came from in some source text (spans, the problems the parser met, whether an element was
cut off) is stored with ``compare=False``, so that ``parse(render(x)) == x`` holds for every valid ``x`` however it was
built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from npr.schema.boxed import last_boxed

# Only ASCII digits count: a Unicode digit in front of a colon is content, not a plan number. Nine digits at most
# keeps int() far from Python's limit on converting huge digit strings, so parsing can never raise.
_NUMBER = re.compile(r"([0-9]{1,9}):", re.ASCII)


@dataclass(frozen=True, slots=True)
class Span:
    """Character offsets ``[start, end)`` into the source text."""

    start: int
    end: int

    def __len__(self) -> int:
        return max(0, self.end - self.start)

    def of(self, text: str) -> str:
        """The slice of ``text`` this span covers."""
        return text[self.start : self.end]


def split_number(body: str) -> tuple[int | None, str]:
    """Split a plan or step body into its leading ``N:`` number and the stripped text after it.

    ``"\\n1: Count them.\\n"`` -> ``(1, "Count them.")``; a body without a leading ``N:`` gives
    ``(None, body.strip())``.
    """
    stripped = body.strip()
    match = _NUMBER.match(stripped)
    if match is None:
        return None, stripped
    return int(match.group(1)), stripped[match.end() :].strip()


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: a stable ``code`` (see :mod:`npr.schema.validate`), a readable message, and where it is."""

    code: str
    message: str
    span: Span


@dataclass(frozen=True, slots=True)
class Plan:
    """One ``<plan>``: its number (``None`` when the body has no leading ``N:``) and its text."""

    number: int | None
    text: str
    span: Span = field(default=Span(0, 0), compare=False)


@dataclass(frozen=True, slots=True)
class Step:
    """One ``<step>``: its number (``None`` when the body has no leading ``N:``) and its text."""

    number: int | None
    text: str
    span: Span = field(default=Span(0, 0), compare=False)


@dataclass(frozen=True, slots=True)
class Block:
    """A Map-Process-Reduce block: a guideline of plans, the steps that execute them, and the takeaway.

    ``takeaway`` is ``None`` when the block has no ``<takeaway>``. ``open_element`` says where the source text was cut
    off when that happened in this block: the element it ended inside (``"guideline"``, ``"plan"``, ``"step"`` or
    ``"takeaway"``), or ``"block"`` when it ended between the block's steps and its takeaway, inside a tag or inside
    a misplaced element. It is ``None`` for a block that was not cut off.
    """

    plans: tuple[Plan, ...]
    steps: tuple[Step, ...]
    takeaway: str | None
    span: Span = field(default=Span(0, 0), compare=False)
    guideline_span: Span = field(default=Span(0, 0), compare=False)
    takeaway_span: Span | None = field(default=None, compare=False)
    open_element: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # Accept lists from callers but store tuples, so that equality does not depend on the container type.
        object.__setattr__(self, "plans", tuple(self.plans))
        object.__setattr__(self, "steps", tuple(self.steps))

    @property
    def k(self) -> int:
        """The number of plans, i.e. the number of parallel branches this block asks for."""
        return len(self.plans)

    @property
    def is_parallel(self) -> bool:
        """True when the block asks for two or more branches."""
        return len(self.plans) >= 2


@dataclass(frozen=True, slots=True)
class Response:
    """A whole response: its blocks, the free text around them, and the conclusion.

    ``preamble`` is the text before the first block and ``between[i]`` the text between block ``i`` and block ``i+1``;
    both are empty in a valid response. ``conclusion`` is the text after the last block; when there are no blocks at
    all, the whole text is the conclusion (so that a plain chain of thought still yields its boxed answer). All three
    are stripped of surrounding whitespace. ``boxed`` is derived from the conclusion, see :func:`last_boxed`.

    ``problems`` are the structural problems the parser met in the source (nesting, stray text, ...); ``truncated``
    says the source ended inside an open element. Neither takes part in equality.
    """

    blocks: tuple[Block, ...]
    preamble: str = ""
    between: tuple[str, ...] = ()
    conclusion: str = ""
    problems: tuple[Violation, ...] = field(default=(), compare=False)
    truncated: bool = field(default=False, compare=False)
    span: Span = field(default=Span(0, 0), compare=False)
    boxed: str | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        blocks = tuple(self.blocks)
        between = tuple(self.between)
        if not between and len(blocks) > 1:
            # Builders of valid responses need not spell out the empty gaps between blocks.
            between = ("",) * (len(blocks) - 1)
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "between", between)
        object.__setattr__(self, "problems", tuple(self.problems))
        object.__setattr__(self, "boxed", last_boxed(self.conclusion))

    @property
    def plans_per_block(self) -> tuple[int, ...]:
        """The plan count k of every block, in order."""
        return tuple(block.k for block in self.blocks)

    @property
    def is_parallel(self) -> bool:
        """True when at least one block asks for two or more branches."""
        return any(block.is_parallel for block in self.blocks)
