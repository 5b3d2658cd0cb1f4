"""Training prompts: every source kind, the seeded mix, and the refusal of evaluation problems."""

from __future__ import annotations

import json

import pytest

from npr.eval.datafiles import BenchmarkError
from npr.eval.toy import heldout_items
from npr.recipe.prompts import PromptSource, build_prompts, load_source, normalize_question


def rows(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_toy_sources_draw_the_training_split(tmp_path):
    info = build_prompts([PromptSource("toy:pick", n=30), PromptSource("toy:largest", n=20)], tmp_path / "p.jsonl",
                         benchmarks=["toy-pick", "toy-largest", "toy-pick-4"])  # fmt: skip
    got = rows(tmp_path / "p.jsonl")
    assert info == {"prompts": 50, "sources": [{"spec": "toy:pick", "prompts": 30}, {"spec": "toy:largest", "prompts": 20}],
                    "overlaps": 0}  # fmt: skip
    assert len({r["id"] for r in got}) == 50 and {r["id"].split(":")[0] for r in got} == {"0", "1"}
    assert [r["id"].split(":")[0] for r in got] != sorted(r["id"].split(":")[0] for r in got), "sources are mixed"
    again = tmp_path / "again.jsonl"
    build_prompts([PromptSource("toy:pick", n=30), PromptSource("toy:largest", n=20)], again)
    assert again.read_text() == (tmp_path / "p.jsonl").read_text(), "the same seed gives the same prompts"


def test_files_with_a_field_mapping_json_jsonl_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = [{"problem": f"what is {i}+1", "solution": str(i + 1), "uid": f"u{i}"} for i in range(4)]
    (tmp_path / "a.json").write_text(json.dumps(data))
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
    pq.write_table(pa.Table.from_pylist(data), tmp_path / "a.parquet")
    for name in ("a.json", "a.jsonl", "a.parquet"):
        src = PromptSource(str(tmp_path / name), n=3, question_field="problem", answer_field="solution", id_field="uid")
        _, items = load_source(src)
        assert [(i.id, i.question, i.answer) for i in items] == [(f"u{i}", f"what is {i}+1", str(i + 1)) for i in range(3)]


def test_orz_conversations_from_a_local_copy(tmp_path):
    orz = [[{"from": "human", "value": "Find 2+2."}, {"from": "assistant", "ground_truth": {"value": "4"}}],
           [{"from": "human", "value": "Find 3*3."}, {"from": "assistant", "ground_truth": {"value": "9"}}]]  # fmt: skip
    (tmp_path / "orz.json").write_text(json.dumps(orz))
    _, items = load_source(PromptSource(f"orz:{tmp_path / 'orz.json'}"))
    assert [(i.id, i.question, i.answer) for i in items] == [("orz-0", "Find 2+2.", "4"), ("orz-1", "Find 3*3.", "9")]


def test_orz_from_the_hub_says_how_to_go_without_it(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BenchmarkError, match="orz:PATH"):
        load_source(PromptSource("orz"))


def test_evaluation_problems_are_refused_unless_allowed(tmp_path):
    leaked = heldout_items("largest", 2)
    path = tmp_path / "mine.jsonl"
    path.write_text("".join(json.dumps({"question": "  " + i.question.upper() + " ", "answer": i.answer}) + "\n"
                            for i in leaked) + json.dumps({"question": "something else", "answer": "1"}) + "\n")  # fmt: skip
    with pytest.raises(BenchmarkError, match=r"2 training prompts are evaluation problems \(0 = toy-largest"):
        build_prompts([PromptSource(str(path))], tmp_path / "p.jsonl", benchmarks=["toy-largest"])
    assert not (tmp_path / "p.jsonl").exists()
    info = build_prompts([PromptSource(str(path))], tmp_path / "p.jsonl", benchmarks=["toy-largest"], allow_overlap=True)
    assert info["overlaps"] == 2 and info["prompts"] == 3


def test_normalisation_ignores_case_width_and_whitespace():
    assert normalize_question("What  is\n２+2?") == normalize_question("what is 2 + 2?".replace(" ", ""))
    assert normalize_question("a b") != normalize_question("a c")


@pytest.mark.parametrize(("source", "message"), [
    (dict(spec="toy:pick"), "say how many with n"),
    (dict(spec="toy:pick", n=0), "n=0"),
    (dict(spec=" "), "empty spec"),
])  # fmt: skip
def test_bad_sources(source, message):
    with pytest.raises(ValueError, match=message):
        PromptSource(**source)
