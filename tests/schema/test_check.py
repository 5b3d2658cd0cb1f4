"""``check_file``: the logic behind ``npr format check FILE [--json]``."""

from __future__ import annotations

import json

import pytest

from npr.schema import CheckReport, FormatCheckError, check_file

from .samples import CONCLUSION, ONE, TWO

GOOD = f"{ONE}\n{TWO}\n{CONCLUSION}"
BAD = f"{ONE}\nstray\n{TWO}\n{CONCLUSION}"


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_with_good_bad_and_broken_lines(tmp_path):
    path = write_lines(
        tmp_path / "r.jsonl",
        [
            json.dumps({"id": "good", "response": GOOD, "expect_valid": True}),
            json.dumps({"text": BAD, "expect_valid": True}),  # no id: the line number; a wrong expectation
            "",
            "{not json",
            json.dumps({"id": "no-text", "answer": "1"}),
            json.dumps([1, 2]),
            json.dumps({"id": 7, "response": 42}),
            json.dumps({"id": "plain", "response": "just \\boxed{3}"}),
        ],
    )
    report = check_file(path)
    assert isinstance(report, CheckReport) and report.format == "jsonl"
    by_id = {r.id: r for r in report.records}
    assert [r.id for r in report.records] == ["good", 2, 4, "no-text", 6, 7, "plain"]

    good = by_id["good"]
    assert good.valid and good.codes == () and good.blocks == 2 and good.plans_per_block == (1, 2)
    assert good.format_reward == 0.0 and good.matched is True

    bad = by_id[2]
    assert not bad.valid and bad.codes == ("stray_text",) and bad.format_reward == -0.5 and bad.matched is False

    assert "line 4" in by_id[4].error and "JSON" in by_id[4].error
    assert "no 'response' or 'text' field" in by_id["no-text"].error
    assert "JSON object" in by_id[6].error
    assert "not a string" in by_id[7].error
    assert by_id["plain"].codes == ("no_blocks",) and by_id["plain"].expect_valid is None

    s = report.summary
    assert (s["n"], s["valid"], s["invalid"], s["errors"]) == (7, 1, 2, 4)
    assert s["violations"] == {"no_blocks": 1, "stray_text": 1}
    assert s["expect_valid"] == {"n": 2, "matched": 1, "mismatched_ids": [2]}
    assert not report.all_valid and not report.expectations_met


def test_to_json_is_serialisable(tmp_path):
    path = write_lines(tmp_path / "r.jsonl", [json.dumps({"id": "a", "response": BAD, "expect_valid": False}), "oops"])
    out = check_file(path).to_json()
    assert json.loads(json.dumps(out)) == out
    first, second = out["records"]
    assert first["violations"] == [{"code": "stray_text", "message": first["violations"][0]["message"]}]
    assert first["expect_valid"] is False and first["matched"] is True
    assert set(second) == {"id", "error"}
    assert out["summary"]["errors"] == 1


def test_to_text_has_a_line_per_record_and_a_summary(tmp_path):
    path = write_lines(
        tmp_path / "r.jsonl",
        [json.dumps({"id": "ok-1", "response": GOOD}), json.dumps({"id": "bad-1", "response": BAD}), "[]"],
    )
    text = check_file(path).to_text()
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["id", "valid"]
    assert any(line.startswith("ok-1") and " yes " in line for line in lines)
    assert any(line.startswith("bad-1") and "stray_text" in line and "-0.50" in line for line in lines)
    assert any("ERROR" in line for line in lines)
    assert "3 record(s): 1 valid, 1 invalid, 1 error(s)" in text
    assert "violations: stray_text x1" in text


def test_plain_text_file(tmp_path):
    path = tmp_path / "one.txt"
    path.write_text(GOOD, encoding="utf-8")
    report = check_file(path)
    assert report.format == "text"
    (record,) = report.records
    assert record.valid and record.id == "one.txt" and record.blocks == 2
    assert report.all_valid and report.expectations_met


def test_auto_detects_jsonl_by_content_and_format_can_be_forced(tmp_path):
    path = write_lines(tmp_path / "data.txt", ["", json.dumps({"response": GOOD})])
    assert check_file(path).format == "jsonl"
    forced = check_file(path, fmt="text")
    assert forced.format == "text" and not forced.records[0].valid  # the JSON line itself is not a response
    looks_like_text = tmp_path / "notes.jsonl"
    looks_like_text.write_text(GOOD, encoding="utf-8")
    assert check_file(looks_like_text, fmt="text").records[0].valid


def test_json_array_file(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(json.dumps([{"id": "x", "response": GOOD}, {"response": BAD}], indent=2), encoding="utf-8")
    report = check_file(path)
    assert [(r.id, r.valid) for r in report.records] == [("x", True), (2, False)]


def test_raw_line_separators_inside_json_strings(tmp_path):
    response = GOOD.replace("Merged.", "Merged\u2028here\x1c.")
    path = write_lines(tmp_path / "r.jsonl", [json.dumps({"response": response}, ensure_ascii=False)])
    (record,) = check_file(path).records
    assert record.error is None and record.valid


def test_byte_order_mark_is_ignored(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"response": GOOD}).encode())
    assert check_file(path).records[0].valid


def test_missing_file(tmp_path):
    with pytest.raises(FormatCheckError, match="no such file"):
        check_file(tmp_path / "absent.jsonl")


def test_directory(tmp_path):
    with pytest.raises(FormatCheckError, match="directory"):
        check_file(tmp_path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(FormatCheckError, match="UTF-8"):
        check_file(path)


def test_unknown_format(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(FormatCheckError, match="unknown format"):
        check_file(path, fmt="yaml")


def test_empty_jsonl_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    report = check_file(path)
    assert report.records == () and report.summary["n"] == 0 and "expect_valid" not in report.summary
