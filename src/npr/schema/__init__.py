r"""The NPR response format at the text level: parse, validate, render, score and check it.

A response is a sequence of Map-Process-Reduce blocks followed by a free-text conclusion::

    <guideline>
    <plan>1: ...</plan>
    <plan>2: ...</plan>
    </guideline>
    <step>
    1: ...
    </step>
    <step>
    2: ...
    </step>
    <takeaway>
    ...
    </takeaway>
    ... more blocks ...
    final conclusion with \boxed{answer}

A valid response has at least one block; each block has k >= 1 plans numbered 1..k, exactly k steps numbered 1..k
(step i executes plan i) and a non-empty takeaway; tags never nest; between tags there is only whitespace; and a
non-empty conclusion follows the last block. A block with k >= 2 is parallel.

* :func:`parse` turns any text into a :class:`Response` (never raises, linear time);
* :func:`validate` lists the :class:`Violation` s (stable codes, table in :mod:`npr.schema.validate`);
* :func:`render` writes a :class:`Response` in canonical form, with ``parse(render(x)) == x`` for valid ``x``;
* :func:`format_reward` is the Stage-1 format reward (0.0 or a penalty in [-2, 0), weights in :data:`SEVERITY`);
* :func:`last_boxed` extracts the final ``\boxed{}`` answer;
* :func:`check_file` checks a JSONL or text file of responses (``npr format check``).
"""

from npr.schema.boxed import last_boxed
from npr.schema.check import CheckReport, FormatCheckError, RecordCheck, check_file, check_text
from npr.schema.parse import parse
from npr.schema.render import render
from npr.schema.reward import SEVERITY, format_reward, penalty
from npr.schema.structure import Block, Plan, Response, Span, Step, Violation
from npr.schema.tags import (
    GUIDELINE_CLOSE,
    GUIDELINE_OPEN,
    PLAN_CLOSE,
    PLAN_OPEN,
    STEP_CLOSE,
    STEP_OPEN,
    TAGS,
    TAKEAWAY_CLOSE,
    TAKEAWAY_OPEN,
    bare_word,
)
from npr.schema.validate import CODES, response_violations, validate

__all__ = [
    "TAGS",
    "GUIDELINE_OPEN",
    "GUIDELINE_CLOSE",
    "PLAN_OPEN",
    "PLAN_CLOSE",
    "STEP_OPEN",
    "STEP_CLOSE",
    "TAKEAWAY_OPEN",
    "TAKEAWAY_CLOSE",
    "bare_word",
    "parse",
    "validate",
    "response_violations",
    "render",
    "format_reward",
    "penalty",
    "SEVERITY",
    "CODES",
    "Violation",
    "Response",
    "Block",
    "Plan",
    "Step",
    "Span",
    "last_boxed",
    "check_file",
    "check_text",
    "CheckReport",
    "RecordCheck",
    "FormatCheckError",
]
