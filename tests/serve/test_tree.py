"""The tree of a trajectory (topology segments) and the tree of its text (format parser) agree; saved records of
npr eval and npr distill become viewer items, and lines that are not records are reported, not fatal."""

from __future__ import annotations

import json

import pytest

from npr.engine import EngineConfig, SamplingParams
from npr.serve.records import trees_of_jsonl
from npr.serve.tree import tree_of_text, tree_of_trajectory
from tests.serve.conftest import STEPS, SteeredEngine


@pytest.fixture(scope="module")
def traj_and_engine(npr_tokenizer, tiny_qwen3):
    engine = SteeredEngine(tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa"), npr_tokenizer,
                           EngineConfig(kv_budget=4096))  # fmt: skip
    [traj] = engine.generate(["What is 27 + 15?"], SamplingParams(seed=0, max_tokens=200))
    return traj, engine


def test_the_trajectory_tree_and_the_text_tree_agree(traj_and_engine):
    traj, engine = traj_and_engine
    exact = tree_of_trajectory(traj, engine.tokenizer, stop_ids=engine.stop_ids)
    text = engine.tokenizer.decode([t for t in traj.response_ids if t not in engine.stop_ids])
    parsed = tree_of_text(text, stats=traj.stats)
    for a, b in zip(exact["blocks"], parsed["blocks"], strict=True):
        assert a["plans"] == b["plans"]
        assert [x["text"] for x in a["branches"]] == [x["text"] for x in b["branches"]]
        assert a["takeaway"]["text"] == b["takeaway"]["text"]
    assert exact["conclusion"]["text"] == parsed["conclusion"]["text"] == "So 27 + 15 = \\boxed{42}."
    assert exact["answer"] == parsed["answer"] == "42"
    # exact counts add up: every response token is in exactly one piece
    b = exact["blocks"][0]
    pieces = b["guideline"]["tokens"] + sum(x["tokens"] for x in b["branches"]) + b["takeaway"]["tokens"]
    assert pieces + exact["conclusion"]["tokens"] == traj.stats["total_tokens"]


def test_a_text_without_blocks_is_all_conclusion():
    tree = tree_of_text("The answer is \\boxed{7}.")
    assert tree["blocks"] == [] and tree["answer"] == "7" and tree["conclusion"]["text"] == "The answer is \\boxed{7}."


def test_saved_records_become_items_and_bad_lines_are_reported(traj_and_engine):
    traj, engine = traj_and_engine
    text = engine.tokenizer.decode(traj.response_ids, skip_special_tokens=False)
    eval_rec = {"benchmark": "toy", "item_id": "7", "sample": 1, "answer": "42", "response": text,
                "grade": {"correct": True}, "stats": traj.stats, "trajectory": traj.to_dict()}  # fmt: skip
    corpus_rec = {"problem_id": "p3", "prompt_ids": traj.prompt_ids, "response_ids": traj.response_ids, "response": text}
    lines = [json.dumps(eval_rec), "{torn", json.dumps([1, 2]), json.dumps({"no": "response"}), "", json.dumps(corpus_rec)]
    items, problems = trees_of_jsonl("\n".join(lines))
    assert [i["title"] for i in items] == ["toy · 7 · sample 1", "problem p3"]
    assert items[0]["correct"] is True and items[0]["gold"] == "42"
    assert all(i["tree"]["answer"] == "42" for i in items)
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3", "line 4"]
    # with the tokenizer, the saved trajectory gives the exact tree
    exact, _ = trees_of_jsonl(lines[0], engine.tokenizer, engine.stop_ids)
    assert exact[0]["tree"]["source"] == "trajectory"
    assert [b["text"] for b in exact[0]["tree"]["blocks"][0]["branches"]] == [
        f"{i + 1}: {s.strip()}" for i, s in enumerate(STEPS)
    ]
