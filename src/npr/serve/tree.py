"""The reasoning tree as JSON: the ``npr`` extension of every API choice, and what the viewer draws.

Two sources give the same shape:

* :func:`tree_of_trajectory` - an engine :class:`~npr.engine.Trajectory`: the pieces are the topology's segments
  (:mod:`npr.topology`, the one definition of which token belongs to which branch), with exact token counts;
* :func:`tree_of_text` - a response text alone (an ``npr eval`` record without its trajectory): the pieces come
  from the format parser (:func:`npr.schema.parse`), and token counts are absent.

::

    {"source": "trajectory" | "text", "mode": "parallel", "finish_reason": "stop",
     "blocks": [{"index": 0,
                 "guideline": {"text": "...", "tokens": 31},
                 "plans": [{"number": 1, "text": "..."}, ...],
                 "branches": [{"index": 0, "text": "...", "tokens": 40, "closed": true}, ...],
                 "takeaway": {"text": "...", "tokens": 12} | null}],
     "conclusion": {"text": "...", "tokens": 9}, "answer": "22",
     "stats": {"total_tokens": 120, "critical_path_tokens": 80, "forks": 1, "branches_per_block": [3],
               "ideal_speedup": 1.5}}
"""

from __future__ import annotations

from typing import Any

from npr.engine import Trajectory
from npr.schema import TAGS, last_boxed, parse
from npr.schema.structure import split_number
from npr.topology import SegmentKind

def _strip_tags(text: str) -> str:
    for tag in TAGS:
        text = text.replace(tag, "")
    return text.strip()


def _plans(guideline_text: str) -> list[dict[str, Any]]:
    plans = []
    for piece in guideline_text.split("<plan>")[1:]:
        number, body = split_number(piece.split("</plan>")[0])
        plans.append({"number": number, "text": body})
    return plans


def _stats(total: int | None, critical: int | None, branches_per_block: list[int]) -> dict[str, Any]:
    return {
        "total_tokens": total,
        "critical_path_tokens": critical,
        "forks": len(branches_per_block),
        "branches_per_block": branches_per_block,
        "ideal_speedup": round(total / critical, 4) if total and critical else None,
    }


def tree_of_trajectory(traj: Trajectory, tokenizer, *, stop_ids: frozenset[int] = frozenset()) -> dict[str, Any]:
    """The tree of an engine trajectory. Stop tokens (EOS) are left out of the texts, not of the counts."""

    def text(start: int, end: int) -> str:
        ids = [t for t in traj.token_ids[start:end] if t not in stop_ids]
        return tokenizer.decode(ids, skip_special_tokens=False)

    blocks: dict[int, dict[str, Any]] = {}
    tail: list[tuple[int, int]] = []  # text segments after the last block (the conclusion)
    for s in traj.segments:
        if s.kind is SegmentKind.PROMPT:
            continue
        if s.kind is SegmentKind.TEXT:
            tail.append((s.start, s.end))
            continue
        tail = []
        b = blocks.setdefault(s.block, {"index": s.block, "guideline": None, "plans": [], "branches": [], "takeaway": None})
        raw = text(s.start, s.end)
        if s.kind is SegmentKind.GUIDELINE:
            b["guideline"] = {"text": _strip_tags(raw), "tokens": len(s), "closed": s.closed}
            b["plans"] = _plans(raw)
        elif s.kind is SegmentKind.STEP:
            b["branches"].append({"index": s.branch, "text": _strip_tags(raw), "tokens": len(s), "closed": s.closed})
        else:
            b["takeaway"] = {"text": _strip_tags(raw), "tokens": len(s), "closed": s.closed}
    conclusion = "".join(text(a, b) for a, b in tail)
    st = traj.stats
    critical = st.get("critical_path_tokens")
    tree = {
        "source": "trajectory",
        "mode": traj.mode,
        "finish_reason": traj.finish_reason,
        "blocks": [blocks[i] for i in sorted(blocks)],
        "conclusion": {"text": conclusion.strip(), "tokens": sum(b - a for a, b in tail)},
        "answer": last_boxed(conclusion) if blocks else last_boxed(traj.text),
        "stats": _stats(st.get("total_tokens"), critical, list(st.get("branches_per_block", []))),
    }
    if "layout_error" in st:
        tree["layout_error"] = st["layout_error"]
    return tree


def tree_of_text(text: str, *, mode: str | None = None, finish_reason: str | None = None,
                 stats: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """The tree of a response text, by the format parser; ``stats`` (an engine's, when saved) fills the counts."""
    resp = parse(text)
    blocks = []
    for i, b in enumerate(resp.blocks):
        blocks.append({
            "index": i,
            "guideline": {"text": "\n".join(f"{p.number}: {p.text}" if p.number is not None else p.text
                                             for p in b.plans), "tokens": None, "closed": True},
            "plans": [{"number": p.number, "text": p.text} for p in b.plans],
            "branches": [{"index": j, "text": (f"{s.number}: " if s.number is not None else "") + s.text,
                          "tokens": None, "closed": True} for j, s in enumerate(b.steps)],
            "takeaway": None if b.takeaway is None else {"text": b.takeaway, "tokens": None, "closed": True},
        })  # fmt: skip
    st = stats or {}
    return {
        "source": "text",
        "mode": mode,
        "finish_reason": finish_reason,
        "blocks": blocks,
        "conclusion": {"text": resp.conclusion.strip() if blocks else text.strip(), "tokens": None},
        "answer": resp.boxed if blocks else last_boxed(text),
        "stats": _stats(st.get("total_tokens"), st.get("critical_path_tokens"), list(st.get("branches_per_block", []))),
    }
