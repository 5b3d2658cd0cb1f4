"""Per-sample result records and the ``results.jsonl`` file that holds them.

One line per (benchmark, problem, sample)::

    {"benchmark": "gsm8k", "item_id": "7", "sample": 0, "seed": 1234, "kind": "math", "answer": "18",
     "response": "...", "finish_reason": "stop", "grade": {"correct": true, "extracted": "18", ...},
     "format": {"reward": 0.0, "valid": true, "codes": [], "blocks": 2, "plans_per_block": [2, 1],
                "parallel_blocks": 1, "forked_parallel_blocks": 1},
     "stats": {"total_tokens": 311, "critical_path_tokens": 190, ...}, "session": 1, "elapsed": 12.5,
     "trajectory": {...}}

The file is append-only and flushed after every line, so a killed run loses at most the samples in flight. Reading
it back (:meth:`ResultsFile.load`) drops a torn last line, the only damage a kill can do, and refuses a damaged line
anywhere else rather than guessing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from npr.schema import format_reward, parse, validate


class ResultsError(ValueError):
    """A results file that cannot be read back as it is."""


def format_fields(text: str, branches_per_block: Sequence[int] | None = None) -> dict[str, Any]:
    """The format figures of one response.

    Args:
        text: the response text, tags included.
        branches_per_block: the branch count of every block the engine actually forked (``stats`` of a
            :class:`~npr.engine.Trajectory`); ``None`` or empty for text produced without forks.

    ``parallel_blocks`` counts the blocks whose guideline asks for k >= 2 plans (parallel in the text);
    ``forked_parallel_blocks`` the blocks that ran as k >= 2 real branches.
    """
    blocks = parse(text).blocks
    violations = validate(text)
    plans = [b.k for b in blocks]
    return {
        "reward": format_reward(text),
        "valid": not violations,
        "codes": sorted({v.code for v in violations}),
        "blocks": len(blocks),
        "plans_per_block": plans,
        "parallel_blocks": sum(k >= 2 for k in plans),
        "forked_parallel_blocks": sum(b >= 2 for b in branches_per_block or ()),
    }


def record_key(record: Mapping[str, Any]) -> tuple[str, str, int]:
    """What makes a record unique in a results file."""
    return (str(record["benchmark"]), str(record["item_id"]), int(record["sample"]))


class ResultsFile:
    """``results.jsonl``: append records, read them back, survive a kill.

    ``key`` says what makes a record unique and ``required`` which fields every record has; the defaults are those
    of ``npr eval``'s records (other logs, such as ``npr distill``'s samples, pass their own).
    """

    def __init__(self, path: str | Path, *, key: Callable[[Mapping[str, Any]], tuple] = record_key,
                 required: Iterable[str] = ("grade", "format", "stats")):  # fmt: skip
        self.path = Path(path)
        self.key = key
        self.required = frozenset(required)

    def load(self, *, repair: bool = True) -> list[dict[str, Any]]:
        """Every record in the file (none if it does not exist), first occurrence of each key kept.

        A last line without its newline that is not valid JSON is what a kill mid-write leaves: with ``repair`` it
        is cut off the file (its sample is simply run again). Any other unreadable line raises
        :class:`ResultsError` naming it, and the file is left as it is.
        """
        if not self.path.exists():
            return []
        raw = self.path.read_bytes()
        lines = raw.split(b"\n")
        torn = lines[-1]  # b"" when the file ends with a newline
        records: list[dict[str, Any]] = []
        seen: set[tuple] = set()
        for number, line in enumerate(lines[:-1], start=1):
            if not line.strip():
                continue
            records_line = self._parse(line, number)
            key = self.key(records_line)
            if key not in seen:
                seen.add(key)
                records.append(records_line)
        if torn.strip():
            try:
                rec = self._parse(torn, len(lines))
            except ResultsError:
                if not repair:
                    raise
                with open(self.path, "r+b") as f:
                    f.truncate(len(raw) - len(torn))
            else:
                if self.key(rec) not in seen:
                    records.append(rec)
                with open(self.path, "ab") as f:  # complete the last line so appends start on a fresh one
                    f.write(b"\n")
        return records

    def _parse(self, line: bytes, number: int) -> dict[str, Any]:
        try:
            rec = json.loads(line)
            self.key(rec)
        except (ValueError, KeyError, TypeError) as exc:
            raise ResultsError(
                f"{self.path}:{number}: not a results record ({exc}); the file was written by something else or "
                "damaged - move it away or pick another --out"
            ) from None
        if not isinstance(rec, dict) or not self.required <= rec.keys():
            raise ResultsError(f"{self.path}:{number}: a record needs the fields {', '.join(sorted(self.required))}")
        return rec

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append records, one JSON line each, and flush them to the OS at once."""
        with open(self.path, "a", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
