"""Segmentation: which segment each token of a trajectory belongs to, and at which position it sits.

This is the token-level half of DESIGN §3. A trajectory is laid out flat in canonical order (prompt, guideline,
step 1 .. step k, takeaway, next block, ..., conclusion); a single left-to-right pass over the token ids assigns
every token to exactly one :class:`Segment` and gives it a RoPE position:

* the prompt, guidelines and text are sequential;
* every step of a block starts at ``g + 1``, where ``g`` is the position of the block's ``</guideline>``;
* the first token after a block's steps gets ``1 + max(last position of each step)``.

Segment boundaries fall on the tags. The tokens between ``</guideline>`` (or a ``</step>``) and the next ``<step>``
lead that step, so every branch owns its own header whitespace; tokens after the last ``</step>`` that are not
claimed by a ``<step>`` belong to the takeaway side. Structure that cannot be laid out (a step inside a step, a
``</step>`` with no open step, a ``<step>`` outside a block, ...) raises :class:`TopologyError` naming the token.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from npr.schema.tags import TAGS
from npr.tokens import TagIds


class TopologyError(ValueError):
    """A token sequence whose structure cannot be laid out. ``index`` is the offending token's index."""

    def __init__(self, index: int, message: str):
        super().__init__(f"token {index}: {message}")
        self.index = index


class SegmentKind(str, enum.Enum):
    PROMPT = "prompt"
    GUIDELINE = "guideline"
    STEP = "step"
    TAKEAWAY = "takeaway"
    TEXT = "text"


@dataclass(frozen=True)
class Segment:
    """A run of tokens ``[start, end)`` of one kind.

    ``block`` is the 0-based block index for guideline, step and takeaway segments (``None`` otherwise);
    ``branch`` is the 0-based branch index of a step (``None`` otherwise). ``doc`` tells apart the trajectories of
    a packed row. ``closed`` is False only for a step, guideline or takeaway cut off by the end of the sequence.
    """

    kind: SegmentKind
    start: int
    end: int
    block: int | None = None
    branch: int | None = None
    doc: int = 0
    closed: bool = True

    def __len__(self) -> int:
        return self.end - self.start


class _State(enum.Enum):
    TEXT = "text"  # outside any block, or on a block's takeaway side
    GUIDELINE = "guideline"
    AFTER = "after"  # after </guideline> or </step>: waiting for the next <step> to claim the tokens
    STEP = "step"
    TAKEAWAY = "takeaway"  # inside <takeaway> ... </takeaway>


@dataclass(frozen=True)
class Segmentation:
    """The result of one pass: segments plus per-token arrays, all as plain Python lists of length L."""

    segments: list[Segment]
    positions: list[int]
    step_block: list[int]  # block index of a step token; -1 for every token outside a step
    step_branch: list[int]  # branch index of a step token; -1 for every token outside a step
    guideline_end: dict[int, int]  # block -> token index of its </guideline>


def segment(token_ids: list[int], tags: TagIds, prompt_len: int) -> Segmentation:
    """Split ``token_ids`` (prompt followed by response) into segments and assign positions.

    The prompt's tokens are never parsed for tags: a system prompt may legitimately quote them.
    """
    n = len(token_ids)
    if not 0 <= prompt_len <= n:
        raise ValueError(f"prompt_len={prompt_len} is outside [0, {n}] for a sequence of {n} tokens")

    out = _Builder(n)
    if prompt_len:
        out.emit(SegmentKind.PROMPT, 0, prompt_len)

    names = dict(zip(tags.all, TAGS))
    state = _State.TEXT
    start = prompt_len  # start of the region currently open
    block = -1
    for i in range(prompt_len, n):
        t = token_ids[i]
        tag = names.get(t)
        if tag is None:
            continue
        if state is _State.TEXT:
            if t == tags.guideline_open:
                out.emit(SegmentKind.TEXT, start, i)
                block += 1
                out.begin_block()
                state, start = _State.GUIDELINE, i
            elif t not in (tags.takeaway_open, tags.takeaway_close):
                raise TopologyError(i, f"{tag} outside a block")
        elif state is _State.GUIDELINE:
            if t == tags.guideline_close:
                out.emit(SegmentKind.GUIDELINE, start, i + 1, block)
                out.close_guideline(block, i)
                state, start = _State.AFTER, i + 1
            elif t not in (tags.plan_open, tags.plan_close):
                raise TopologyError(i, f"{tag} inside a guideline")
        elif state is _State.AFTER:
            if t == tags.step_open:
                state = _State.STEP  # the tokens since `start` lead this step
            elif t == tags.takeaway_open:
                out.end_steps()
                state = _State.TAKEAWAY
            elif t == tags.guideline_open:
                out.end_steps()
                out.emit(SegmentKind.TEXT, start, i)
                block += 1
                out.begin_block()
                state, start = _State.GUIDELINE, i
            elif t == tags.takeaway_close:
                out.end_steps()
                state = _State.TEXT
            else:
                raise TopologyError(i, f"{tag} after the end of a guideline or step; expected <step> or <takeaway>")
        elif state is _State.STEP:
            if t == tags.step_close:
                out.emit_step(start, i + 1, block)
                state, start = _State.AFTER, i + 1
            else:
                raise TopologyError(i, f"{tag} inside a step (steps cannot nest or hold structure)")
        else:  # _State.TAKEAWAY
            if t == tags.takeaway_close:
                out.emit(SegmentKind.TAKEAWAY, start, i + 1, block)
                state, start = _State.TEXT, i + 1
            else:
                raise TopologyError(i, f"{tag} inside a takeaway")

    # End of the sequence: close whatever is open; an open step is still a branch.
    if state is _State.STEP:
        out.emit_step(start, n, block, closed=False)
    elif state is _State.GUIDELINE:
        out.emit(SegmentKind.GUIDELINE, start, n, block, closed=False)
    elif state is _State.AFTER:
        out.end_steps()
        out.emit(SegmentKind.TEXT, start, n)
    elif state is _State.TAKEAWAY:
        out.emit(SegmentKind.TAKEAWAY, start, n, block, closed=False)
    else:
        out.emit(SegmentKind.TEXT, start, n)
    return out.result()


class _Builder:
    """Accumulates segments and per-token arrays; owns the position counter."""

    def __init__(self, n: int):
        self.segments: list[Segment] = []
        self.positions = [0] * n
        self.step_block = [-1] * n
        self.step_branch = [-1] * n
        self.guideline_end: dict[int, int] = {}
        self.next_pos = 0
        self.step_base = 0  # g + 1 for the current block
        self.max_step_end = -1  # largest last position among the current block's steps; -1 while it has none
        self.branch = 0

    def emit(self, kind: SegmentKind, start: int, end: int, block: int | None = None, closed: bool = True) -> None:
        if end <= start:
            return
        self.segments.append(Segment(kind, start, end, block, None, 0, closed))
        for j, i in enumerate(range(start, end)):
            self.positions[i] = self.next_pos + j
        self.next_pos += end - start

    def begin_block(self) -> None:
        self.branch = 0
        self.max_step_end = -1

    def close_guideline(self, block: int, index: int) -> None:
        self.guideline_end[block] = index
        self.step_base = self.next_pos

    def emit_step(self, start: int, end: int, block: int, closed: bool = True) -> None:
        self.segments.append(Segment(SegmentKind.STEP, start, end, block, self.branch, 0, closed))
        for j, i in enumerate(range(start, end)):
            self.positions[i] = self.step_base + j
            self.step_block[i] = block
            self.step_branch[i] = self.branch
        self.max_step_end = max(self.max_step_end, self.step_base + (end - start) - 1)
        self.branch += 1

    def end_steps(self) -> None:
        """The takeaway side begins: continue after the longest branch (or right after g with no steps)."""
        self.next_pos = self.max_step_end + 1 if self.branch else self.step_base

    def result(self) -> Segmentation:
        return Segmentation(self.segments, self.positions, self.step_block, self.step_branch, self.guideline_end)
