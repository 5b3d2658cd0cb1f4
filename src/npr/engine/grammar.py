"""Which structural tag may come next: the engine's view of the NPR format while it decodes.

The engine keeps every trajectory well formed by one policy, **force-close**: a structural tag that is illegal in
the current state is not emitted; the tag that closes the open element is forced in its place
(``</plan>`` in a plan, ``</guideline>`` in a guideline, ``</step>`` in a step, ``</takeaway>`` in a takeaway).
Outside any element there is nothing to close, so an illegal tag there ends the request with
``finish_reason="format_error"``. Because of this policy every engine trajectory can be laid out by
:mod:`npr.topology`, and the sampled distribution is left untouched (no constrained decoding).
"""

from __future__ import annotations

import enum

from npr.schema import tags as T


class State(enum.Enum):
    TEXT = "text"  # outside elements: before a block, between blocks, the conclusion
    GUIDELINE = "guideline"
    PLAN = "plan"
    OPEN_STEP = "open_step"  # a branch before its <step> tag (its header's leading whitespace)
    STEP = "step"
    TAKEAWAY = "takeaway"


# state -> {legal tag: next state}
_LEGAL: dict[State, dict[str, State]] = {
    State.TEXT: {T.GUIDELINE_OPEN: State.GUIDELINE},
    State.GUIDELINE: {T.PLAN_OPEN: State.PLAN, T.GUIDELINE_CLOSE: State.TEXT},
    State.PLAN: {T.PLAN_CLOSE: State.GUIDELINE},
    State.OPEN_STEP: {T.STEP_OPEN: State.STEP},
    State.STEP: {T.STEP_CLOSE: State.TEXT},
    State.TAKEAWAY: {T.TAKEAWAY_CLOSE: State.TEXT},
}
_CLOSER = {
    State.GUIDELINE: T.GUIDELINE_CLOSE,
    State.PLAN: T.PLAN_CLOSE,
    State.STEP: T.STEP_CLOSE,
    State.TAKEAWAY: T.TAKEAWAY_CLOSE,
}


def advance(state: State, tag: str) -> State | None:
    """The state after ``tag``, or None when ``tag`` is illegal in ``state``."""
    if tag == T.TAKEAWAY_OPEN and state is State.TEXT:
        return State.TAKEAWAY
    return _LEGAL[state].get(tag)


def closer(state: State) -> str | None:
    """The tag that force-closes ``state``'s open element; None outside elements."""
    return _CLOSER.get(state)
