"""Checking a file of responses against the format: the logic behind ``npr format check FILE [--json]``.

:func:`check_file` reads either

* JSONL: one JSON object per line, the response in its ``response`` (or ``text``) field, with an optional ``id`` (the
  line number otherwise) and an optional ``expect_valid`` that is echoed and compared; a file holding one JSON array
  of such objects is read the same way; or
* plain text: the whole file is one response.

It returns a :class:`CheckReport` with one :class:`RecordCheck` per response and a summary. A line that is not a JSON
object, or has no text field, becomes a record with an ``error``; the other lines are still checked. Only a file
that cannot be read at all raises, as :class:`FormatCheckError`, which the CLI turns into exit status 2.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npr.schema.parse import parse
from npr.schema.reward import penalty
from npr.schema.validate import response_violations

__all__ = ["FORMATS", "CheckReport", "FormatCheckError", "RecordCheck", "check_file", "check_text"]

#: Accepted values of ``fmt``.
FORMATS: tuple[str, ...] = ("auto", "jsonl", "text")
_JSON_SUFFIXES = (".jsonl", ".json")
_TEXT_FIELDS = ("response", "text")


class FormatCheckError(Exception):
    """The input cannot be checked at all: missing, a directory, unreadable, not UTF-8, or an unknown format."""


@dataclass(frozen=True)
class RecordCheck:
    """The verdict on one response (or, with ``error`` set, why a record could not be checked)."""

    id: Any
    valid: bool = False
    codes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    blocks: int = 0
    plans_per_block: tuple[int, ...] = ()
    format_reward: float = 0.0
    expect_valid: bool | None = None
    error: str | None = None

    @property
    def matched(self) -> bool | None:
        """Whether the verdict equals ``expect_valid``; None when there is no expectation or the record is an error."""
        if self.expect_valid is None or self.error is not None:
            return None
        return self.valid == self.expect_valid

    def to_json(self) -> dict[str, Any]:
        if self.error is not None:
            out: dict[str, Any] = {"id": self.id, "error": self.error}
        else:
            out = {
                "id": self.id,
                "valid": self.valid,
                "violations": [{"code": c, "message": m} for c, m in zip(self.codes, self.messages)],
                "blocks": self.blocks,
                "plans_per_block": list(self.plans_per_block),
                "format_reward": self.format_reward,
            }
        if self.expect_valid is not None:
            out["expect_valid"] = self.expect_valid
            out["matched"] = self.matched
        return out


@dataclass(frozen=True)
class CheckReport:
    """All record verdicts for one file, with a summary."""

    path: str
    format: str
    records: tuple[RecordCheck, ...] = field(default=())

    @property
    def summary(self) -> dict[str, Any]:
        checked = [r for r in self.records if r.error is None]
        expected = [r for r in checked if r.expect_valid is not None]
        summary: dict[str, Any] = {
            "n": len(self.records),
            "valid": sum(r.valid for r in checked),
            "invalid": sum(not r.valid for r in checked),
            "errors": len(self.records) - len(checked),
            "violations": dict(sorted(Counter(c for r in checked for c in set(r.codes)).items())),
        }
        if expected:
            summary["expect_valid"] = {
                "n": len(expected),
                "matched": sum(bool(r.matched) for r in expected),
                "mismatched_ids": [r.id for r in expected if not r.matched],
            }
        return summary

    @property
    def all_valid(self) -> bool:
        """True when every record was checked and is valid."""
        return all(r.error is None and r.valid for r in self.records)

    @property
    def expectations_met(self) -> bool:
        """True when every record with an ``expect_valid`` got that verdict (vacuously true without any)."""
        return all(r.matched is not False for r in self.records)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "records": [r.to_json() for r in self.records],
            "summary": self.summary,
        }

    def to_text(self) -> str:
        rows = [("id", "valid", "blocks", "plans", "reward", "violations")]
        for r in self.records:
            if r.error is not None:
                rows.append((str(r.id), "ERROR", "", "", "", r.error))
                continue
            verdict = "yes" if r.valid else "no"
            if r.matched is False:
                verdict += " (expected " + ("yes" if r.expect_valid else "no") + ")"
            plans = ",".join(str(k) for k in r.plans_per_block) or "-"
            codes = ", ".join(dict.fromkeys(r.codes)) or "-"
            rows.append((str(r.id), verdict, str(r.blocks), plans, f"{r.format_reward:.2f}", codes))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows
        ]
        s = self.summary
        lines.append("")
        lines.append(
            f"{s['n']} record(s): {s['valid']} valid, {s['invalid']} invalid, {s['errors']} error(s) [{self.path}]"
        )
        if s["violations"]:
            lines.append("violations: " + ", ".join(f"{code} x{n}" for code, n in s["violations"].items()))
        if "expect_valid" in s:
            e = s["expect_valid"]
            line = f"expect_valid: {e['matched']}/{e['n']} matched"
            if e["mismatched_ids"]:
                line += "; mismatched: " + ", ".join(str(i) for i in e["mismatched_ids"])
            lines.append(line)
        return "\n".join(line.rstrip() for line in lines)


def check_text(text: str, id: Any = None, expect_valid: bool | None = None) -> RecordCheck:
    """The verdict on one response text."""
    response = parse(text)
    violations = response_violations(response)
    return RecordCheck(
        id=id,
        valid=not violations,
        codes=tuple(v.code for v in violations),
        messages=tuple(v.message for v in violations),
        blocks=len(response.blocks),
        plans_per_block=response.plans_per_block,
        format_reward=penalty(violations),
        expect_valid=expect_valid,
    )


def check_file(path: str | Path, fmt: str = "auto") -> CheckReport:
    """Check every response in the file at ``path``; ``fmt`` is ``"auto"``, ``"jsonl"`` or ``"text"``.

    Raises :class:`FormatCheckError` when the file cannot be read as UTF-8 text or ``fmt`` is unknown.
    """
    if fmt not in FORMATS:
        raise FormatCheckError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    path = Path(path)
    content = _read(path)
    if fmt == "auto":
        fmt = "jsonl" if _looks_like_json(path, content) else "text"
    if fmt == "text":
        records: tuple[RecordCheck, ...] = (check_text(content, id=path.name),)
    else:
        records = tuple(_check_json(content))
    return CheckReport(path=str(path), format=fmt, records=records)


def _read(path: Path) -> str:
    if path.is_dir():
        raise FormatCheckError(f"{path} is a directory, not a file of responses")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FormatCheckError(f"{path}: no such file") from None
    except OSError as error:
        raise FormatCheckError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        # utf-8-sig drops a byte-order mark, which some editors put in front of JSONL files.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatCheckError(f"{path}: not UTF-8 text (bad byte at offset {error.start})") from None


def _lines(content: str) -> list[str]:
    # Not str.splitlines(): JSON strings may hold a raw U+2028 or \x1c, which splitlines() would treat as line ends.
    return [line.rstrip("\r") for line in content.split("\n")]


def _looks_like_json(path: Path, content: str) -> bool:
    if path.suffix.lower() in _JSON_SUFFIXES:
        return True
    for line in _lines(content):
        if line.strip():
            try:
                return isinstance(json.loads(line), dict)
            except ValueError:
                return False
    return False


def _check_json(content: str) -> list[RecordCheck]:
    try:
        whole = json.loads(content)
    except (ValueError, RecursionError):
        whole = None
    if isinstance(whole, list):
        return [_check_object(item, index) for index, item in enumerate(whole, start=1)]
    results = []
    for number, line in enumerate(_lines(content), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError) as error:
            results.append(RecordCheck(id=number, error=f"line {number}: not valid JSON ({error})"))
            continue
        results.append(_check_object(item, number))
    return results


def _check_object(item: Any, number: int) -> RecordCheck:
    if not isinstance(item, dict):
        return RecordCheck(id=number, error=f"record {number}: expected a JSON object, got {type(item).__name__}")
    record_id = item.get("id", number)
    text = next((item[name] for name in _TEXT_FIELDS if name in item), None)
    if not isinstance(text, str):
        what = "no 'response' or 'text' field" if text is None else "its text field is not a string"
        return RecordCheck(id=record_id, error=f"record {number}: {what}")
    expect = item.get("expect_valid")
    return check_text(text, id=record_id, expect_valid=expect if isinstance(expect, bool) else None)
