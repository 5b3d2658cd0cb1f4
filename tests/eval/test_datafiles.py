"""Reading local benchmark files (npr.eval.datafiles.load_file): formats, field mapping and error messages."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from npr.eval.datafiles import BenchmarkError, load_file, normalize_answer, read_records
from npr.eval.item import Item

ROWS = [
    {"q": "What is 1+1?", "a": 2, "key": "p1", "meta": {"x": "two", "level": 1}},
    {"q": "What is 2+2?", "a": 4.0, "key": "p2", "meta": {"x": "four", "level": 2}},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_with_mapping_and_ids(tmp_path: Path) -> None:
    items = load_file(write_jsonl(tmp_path / "x.jsonl", ROWS), question="q", answer="a", id="key")
    assert items == [
        Item("p1", "What is 1+1?", "2", {"meta": {"x": "two", "level": 1}}),
        Item("p2", "What is 2+2?", "4", {"meta": {"x": "four", "level": 2}}),
    ]


def test_id_defaults_to_row_index(tmp_path: Path) -> None:
    items = load_file(write_jsonl(tmp_path / "x.jsonl", ROWS), question="q", answer="a")
    assert [i.id for i in items] == ["0", "1"]
    assert items[0].meta["key"] == "p1"


def test_dotted_paths(tmp_path: Path) -> None:
    items = load_file(write_jsonl(tmp_path / "x.jsonl", ROWS), question="q", answer="meta.x", id="meta.level")
    assert [(i.id, i.answer) for i in items] == [("1", "two"), ("2", "four")]


def test_json_list_and_data_object(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text(json.dumps(ROWS))
    (tmp_path / "obj.json").write_text(json.dumps({"data": ROWS, "version": 1}))
    a = load_file(tmp_path / "list.json", question="q", answer="a")
    b = load_file(tmp_path / "obj.json", question="q", answer="a")
    assert a == b and len(a) == 2


def test_json_named_file_holding_json_lines(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "lines.json", ROWS)
    assert len(load_file(tmp_path / "lines.json", question="q", answer="a")) == 2


def test_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "x.parquet")
    items = load_file(tmp_path / "x.parquet", question="q", answer="a", id="key")
    assert [(i.id, i.answer, i.meta["meta"]["x"]) for i in items] == [("p1", "2", "two"), ("p2", "4", "four")]


def test_gzip(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in ROWS).encode()))
    assert len(load_file(path, question="q", answer="a")) == 2


def test_missing_field_names_file_row_and_fields(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", ROWS)
    with pytest.raises(ValueError) as err:
        load_file(path, question="q", answer="gold")
    message = str(err.value)
    assert str(path) in message and "row 0" in message and "'gold'" in message
    assert "'q', 'a', 'key', 'meta'" in message


def test_missing_dotted_field(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match=r"row 0 has no field 'meta\.y'"):
        load_file(write_jsonl(tmp_path / "x.jsonl", ROWS), question="q", answer="meta.y")


def test_malformed_line_names_line_number(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n\n{not json}\n")
    with pytest.raises(BenchmarkError, match=r"x\.jsonl: line 3 is not valid JSON"):
        load_file(path, question="q", answer="a")


def test_malformed_json(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[{"q": "a", "a": 1},\n {"q": ]')
    with pytest.raises(BenchmarkError, match=r"not valid JSON \(.* at line 2"):
        load_file(path, question="q", answer="a")


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(content)
    with pytest.raises(BenchmarkError, match="empty"):
        load_file(path)


def test_empty_list(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(BenchmarkError, match="no records"):
        load_file(tmp_path / "x.json")


def test_object_without_data(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"rows": []}')
    with pytest.raises(BenchmarkError, match="under \"data\"; its keys are 'rows'"):
        load_file(tmp_path / "x.json")


def test_rows_must_be_objects(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text('{"question": "q", "answer": "1"}\n[1, 2]\n')
    with pytest.raises(BenchmarkError, match="record 1 is a list"):
        load_file(tmp_path / "x.jsonl")


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="no such file"):
        load_file(tmp_path / "absent.jsonl")
    (tmp_path / "x.csv").write_text("question,answer\n")
    with pytest.raises(BenchmarkError, match="unknown data format"):
        load_file(tmp_path / "x.csv")


def test_duplicate_ids(tmp_path: Path) -> None:
    rows = [{"question": "a", "answer": "1", "k": 7}, {"question": "b", "answer": "2", "k": 7}]
    with pytest.raises(BenchmarkError, match="rows 0 and 1 share the id '7'"):
        load_file(write_jsonl(tmp_path / "x.jsonl", rows), id="k")


def test_empty_question_and_answer(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="question"):
        load_file(write_jsonl(tmp_path / "a.jsonl", [{"question": " ", "answer": "1"}]))
    with pytest.raises(BenchmarkError, match="empty answer"):
        load_file(write_jsonl(tmp_path / "b.jsonl", [{"question": "q", "answer": ""}]))


def test_name_in_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="^mine: row 0"):
        load_file(write_jsonl(tmp_path / "x.jsonl", ROWS), name="mine")


def test_answer_normalisation() -> None:
    assert normalize_answer(27.0, "math", where="f", index=0) == "27"
    assert normalize_answer(0.5, "math", where="f", index=0) == "0.5"
    assert normalize_answer([1, " x "], "math", where="f", index=0) == ["1", "x"]
    assert normalize_answer(" b ", "choice", where="f", index=0) == "B"
    grid = {"header": ["House", "Name"], "rows": [[1, "A"], [2, "B"]]}
    assert normalize_answer(grid, "zebra", where="f", index=0) == {
        "header": ["House", "Name"],
        "rows": [["1", "A"], ["2", "B"]],
    }
    with pytest.raises(BenchmarkError, match="grader kind"):
        normalize_answer("1", "essay", where="f", index=0)
    with pytest.raises(BenchmarkError, match="zebra answer"):
        normalize_answer("1", "zebra", where="f", index=0)


def test_read_records_keeps_order(tmp_path: Path) -> None:
    rows = [{"i": i} for i in range(50)]
    assert read_records(write_jsonl(tmp_path / "x.jsonl", rows)) == rows


def test_malformed_gold_fails_at_load_naming_the_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mcq.jsonl", [{"question": "Q?", "answer": "B"}, {"question": "Q2?", "answer": "B. Paris"}])
    with pytest.raises(BenchmarkError, match=r"mcq.jsonl: row 1: .*letter"):
        load_file(path, kind="choice")
    grid = write_jsonl(tmp_path / "grid.jsonl", [{"question": "Q?", "answer": {"rows": [["1", "a"]]}}])
    with pytest.raises(BenchmarkError, match=r"grid.jsonl: row 0: .*header"):
        load_file(grid, kind="zebra")
