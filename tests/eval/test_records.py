"""results.jsonl: append, read back, repair a torn last line, refuse damage elsewhere; format figures of a response."""

from __future__ import annotations

import json

import pytest

from npr.eval.records import ResultsError, ResultsFile, format_fields

VALID = (
    "<guideline>\n<plan>1: a</plan>\n<plan>2: b</plan>\n</guideline>\n<step>\n1: x\n</step>\n<step>\n2: y\n</step>\n"
    "<takeaway>\nboth\n</takeaway>\nSo \\boxed{3}."
)


def rec(item, sample=0):
    return {"benchmark": "b", "item_id": item, "sample": sample, "grade": {"correct": True}, "format": {}, "stats": {}}


def test_append_and_load_round_trip(tmp_path):
    f = ResultsFile(tmp_path / "results.jsonl")
    assert f.load() == []
    f.append([rec("1"), rec("2")])
    f.append([rec("2", 1)])
    assert [r["item_id"] for r in f.load()] == ["1", "2", "2"]


def test_torn_last_line_is_cut_and_appends_continue(tmp_path):
    path = tmp_path / "results.jsonl"
    f = ResultsFile(path)
    f.append([rec("1"), rec("2")])
    whole = path.read_bytes()
    path.write_bytes(whole + json.dumps(rec("3")).encode()[:25])  # a kill in the middle of a write
    assert [r["item_id"] for r in f.load()] == ["1", "2"]
    assert path.read_bytes() == whole
    f.append([rec("3")])
    assert [r["item_id"] for r in f.load()] == ["1", "2", "3"]


def test_complete_last_line_without_newline_is_kept(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(rec("1")) + "\n" + json.dumps(rec("2")))
    f = ResultsFile(path)
    assert [r["item_id"] for r in f.load()] == ["1", "2"]
    f.append([rec("3")])
    assert [r["item_id"] for r in f.load()] == ["1", "2", "3"]


def test_damage_in_the_middle_is_refused_and_nothing_is_lost(tmp_path):
    path = tmp_path / "results.jsonl"
    content = json.dumps(rec("1")) + "\n{oops\n" + json.dumps(rec("2")) + "\n"
    path.write_text(content)
    with pytest.raises(ResultsError, match=r"results.jsonl:2: not a results record"):
        ResultsFile(path).load()
    assert path.read_text() == content


def test_foreign_records_are_refused(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"benchmark": "b", "item_id": "1", "sample": 0}) + "\n")
    with pytest.raises(ResultsError, match="needs the fields format, grade, stats"):
        ResultsFile(path).load()


def test_duplicate_keys_keep_the_first(tmp_path):
    path = tmp_path / "results.jsonl"
    a, b = rec("1"), rec("1")
    b["grade"] = {"correct": False}
    ResultsFile(path).append([a, b])
    [only] = ResultsFile(path).load()
    assert only["grade"]["correct"] is True


def test_format_fields_counts_text_and_forked_blocks():
    f = format_fields(VALID, [2])
    assert f["valid"] and f["reward"] == 0.0 and f["codes"] == []
    assert (f["blocks"], f["plans_per_block"], f["parallel_blocks"], f["forked_parallel_blocks"]) == (1, [2], 1, 1)
    seq = format_fields(VALID)  # the same text from a sequential engine: parallel in form, not in execution
    assert seq["parallel_blocks"] == 1 and seq["forked_parallel_blocks"] == 0
    bad = format_fields("just text, no box")
    assert not bad["valid"] and bad["reward"] < 0 and "no_blocks" in bad["codes"] and bad["blocks"] == 0
