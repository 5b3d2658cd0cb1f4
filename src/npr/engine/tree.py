"""A readable reasoning tree of a :class:`~npr.engine.trajectory.Trajectory`, for ``npr solve`` and logs.

::

    block 1  guideline: 1: ... | 2: ...
      ├─ branch 1 (31 tokens): 1: ...
      ├─ branch 2 (28 tokens): 2: ...
      └─ takeaway: ...
    conclusion: ... \\boxed{22}
"""

from __future__ import annotations

import textwrap

from npr.engine.trajectory import Trajectory
from npr.schema import last_boxed, parse
from npr.topology import SegmentKind


def _text(tokenizer, traj: Trajectory, start: int, end: int, strip_tags: bool = True) -> str:
    text = tokenizer.decode(traj.token_ids[start:end], skip_special_tokens=False)
    if strip_tags:
        for tag in ("<guideline>", "</guideline>", "<step>", "</step>", "<takeaway>", "</takeaway>"):
            text = text.replace(tag, "")
    return " ".join(text.split())


def render_tree(traj: Trajectory, tokenizer, width: int = 100) -> str:
    """The trajectory as an indented tree: guideline, branches, takeaway per block, then the conclusion."""
    lines: list[str] = []

    def put(prefix: str, label: str, text: str) -> None:
        body = textwrap.shorten(text, width=max(20, width - len(prefix) - len(label)), placeholder=" …") or "(empty)"
        lines.append(f"{prefix}{label}{body}")

    segs = [s for s in traj.segments if s.kind is not SegmentKind.PROMPT]
    for i, s in enumerate(segs):
        nxt = segs[i + 1] if i + 1 < len(segs) else None
        if s.kind is SegmentKind.GUIDELINE:
            plans = _text(tokenizer, traj, s.start, s.end, strip_tags=False)
            plans = " | ".join(p.split("</plan>")[0].strip() for p in plans.split("<plan>")[1:]) or plans
            put("", f"block {s.block + 1}  guideline: ", plans)
        elif s.kind is SegmentKind.STEP:
            last = nxt is None or nxt.kind is not SegmentKind.STEP
            branch = f"branch {s.branch + 1} ({len(s)} tokens{'' if s.closed else ', cut off'}): "
            put("  └─ " if last and (nxt is None or nxt.kind is not SegmentKind.TAKEAWAY) else "  ├─ ", branch,
                _text(tokenizer, traj, s.start, s.end))  # fmt: skip
        elif s.kind is SegmentKind.TAKEAWAY:
            put("  └─ ", "takeaway: ", _text(tokenizer, traj, s.start, s.end))
        else:
            text = _text(tokenizer, traj, s.start, s.end)
            if text:
                put("", "conclusion: " if nxt is None else "text: ", text)
    answer = last_boxed(parse(traj.text).conclusion) if traj.mode == "parallel" else last_boxed(traj.text)
    st = traj.stats
    lines.append("")
    lines.append("answer: " + (answer if answer is not None else "(no \\boxed{} answer)"))
    lines.append(
        f"finish: {traj.finish_reason} · {st['total_tokens']} tokens, critical path {st['critical_path_tokens']} · "
        f"forks {st['forks']} {st['branches_per_block']} · {st['wall_time']:.2f}s"
    )
    return "\n".join(lines)
