"""Saved results as trees for the viewer: ``npr eval`` results files and ``npr distill`` samples and corpora.

A record with a saved trajectory and a tokenizer at hand is drawn from the trajectory (the topology's segments,
exact token counts); any other record from its response text, through the format parser. A line that is not a
record is reported with its number and skipped: the others are still shown.
"""

from __future__ import annotations

import json
from typing import Any

from npr.engine import Trajectory
from npr.serve.tree import tree_of_text, tree_of_trajectory

#: Records shown at most per file: a page with more columns than this stops being readable or fast.
MAX_RECORDS = 5000


def _title(rec: dict[str, Any], n: int) -> str:
    if "benchmark" in rec:
        return f"{rec['benchmark']} · {rec.get('item_id', '?')} · sample {rec.get('sample', 0)}"
    if "problem_id" in rec:
        return f"problem {rec['problem_id']}" + (f" · sample {rec['sample']}" if "sample" in rec else "")
    return f"record {n}"


def tree_of_record(rec: dict[str, Any], tokenizer=None, stop_ids: frozenset[int] = frozenset()) -> dict[str, Any]:
    """One viewer item: ``{"title", "question", "answer", "correct", "tree"}``."""
    traj = rec.get("trajectory")
    if isinstance(traj, dict) and tokenizer is not None:
        tree = tree_of_trajectory(Trajectory.from_dict(traj), tokenizer, stop_ids=stop_ids)
    else:
        text = rec.get("response")
        if not isinstance(text, str):
            raise ValueError("it has no 'response' text (and no trajectory to draw)")
        stats = rec.get("stats") if isinstance(rec.get("stats"), dict) else None
        tree = tree_of_text(text, mode=(traj or {}).get("mode") if isinstance(traj, dict) else None,
                            finish_reason=rec.get("finish_reason"), stats=stats)  # fmt: skip
    grade = rec.get("grade") if isinstance(rec.get("grade"), dict) else {}
    return {
        "title": None,
        "question": rec.get("question"),
        "gold": rec.get("answer"),
        "correct": grade.get("correct"),
        "tree": tree,
    }


def trees_of_jsonl(text: str, tokenizer=None, stop_ids: frozenset[int] = frozenset()):
    """``(items, problems)``: the viewer items of every readable record, and one message per line that is not."""
    items, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if len(items) >= MAX_RECORDS:
            problems.append(f"only the first {MAX_RECORDS} records are shown")
            break
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError(f"it is a JSON {type(rec).__name__}, not an object")
            item = tree_of_record(rec, tokenizer, stop_ids)
        except Exception as exc:  # noqa: BLE001 - any record that cannot be drawn is reported, never fatal
            problems.append(f"line {n}: {type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else f"line {n}: {exc}")
            continue
        item["title"] = _title(rec, n)
        items.append(item)
    return items, problems
