"""The evaluation runner with real forks: a tiny model steered through fixed NPR shapes by the engine's ShapeSteer.

A random model never writes the format, so the parallel metrics would all be zero on it. Steering makes each sample
fork real branches in the engine; the summary's parallel figures must then agree with what the engine did.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from npr.engine import Engine, EngineConfig
from npr.eval import EvalConfig, run_eval
from npr.tokens import add_tags

SHAPE = [[3, 5], [2], [4, 1, 2]]  # blocks of 2, 1 and 3 branches: two parallel blocks per sample


class SteeredEngine(Engine):
    """An engine whose every request walks ``SHAPE`` (the tokens are chosen for it; forks and joins are real)."""

    def submit(self, prompt, params=None, mode="parallel", request_id=None, **kwargs):
        return super().submit(prompt, params, mode, request_id, steer=self.shape_steer(SHAPE))


@pytest.fixture(scope="module")
def steered(qwen3_tokenizer, tiny_qwen3):
    tok = copy.deepcopy(qwen3_tokenizer)
    add_tags(None, tok)
    return SteeredEngine(tiny_qwen3(len(tok), attn_implementation="sdpa"), tok, EngineConfig(kv_budget=8192))


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "mini.jsonl"
    rows = [{"q": f"What is {i} + {i}?", "a": str(2 * i), "key": f"p{i}"} for i in range(3)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_parallel_metrics_follow_the_engine_forks(steered, questions, tmp_path):
    config = EvalConfig(
        model="tiny-steered", benchmarks=(questions,), k=2, max_tokens=256, batch=3, kv_budget=8192,
        question_field="q", answer_field="a", id_field="key",
    )  # fmt: skip
    summary = run_eval(config, tmp_path / "out", engine=steered, progress=False, log=lambda m: None)
    [(name, m)] = summary["benchmarks"].items()
    assert name == "mini" and m["n"] == 6 and m["problems"] == 3
    records = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    for r in records:
        assert r["stats"]["branches_per_block"] == [len(b) for b in SHAPE]
        assert r["format"]["plans_per_block"] == [len(b) for b in SHAPE]
        assert r["format"]["parallel_blocks"] == r["format"]["forked_parallel_blocks"] == 2
        assert r["stats"]["critical_path_tokens"] < r["stats"]["total_tokens"]
    assert m["parallel_rate"] == 1.0 and m["genuine_parallel_share"] == 1.0
    assert m["parallel_blocks"] == 12
    total = sum(r["stats"]["total_tokens"] for r in records)
    crit = sum(r["stats"]["critical_path_tokens"] for r in records)
    assert m["mean_total_tokens"] == pytest.approx(total / 6)
    assert m["ideal_speedup"] == pytest.approx(total / crit) and m["ideal_speedup"] > 1
    assert m["avg_at_k"] == 0.0  # the steered conclusion boxes nothing
    assert m["grade_reasons"] == {"no_answer": 6}


def test_sequential_decoding_of_the_same_format_is_not_genuinely_parallel(steered, questions, tmp_path):
    """The same text decoded causally: parallel in form, never forked."""
    config = EvalConfig(
        model="tiny-steered", benchmarks=(questions,), k=1, max_tokens=256, batch=3, kv_budget=8192,
        question_field="q", answer_field="a", id_field="key", mode="sequential",
    )  # fmt: skip
    summary = run_eval(config, tmp_path / "seq", engine=steered, progress=False, log=lambda m: None)
    m = summary["benchmarks"]["mini"]
    assert m["parallel_blocks"] > 0 and m["forked_parallel_blocks"] == 0
    assert m["parallel_rate"] == 0.0 and m["genuine_parallel_share"] == 0.0
    assert m["ideal_speedup"] == pytest.approx(1.0)  # causal decoding: the critical path is every token


def test_resume_refuses_samples_of_a_changed_problem(steered, questions, tmp_path):
    config = EvalConfig(
        model="tiny-steered", benchmarks=(questions,), k=1, max_tokens=256, batch=3, kv_budget=8192,
        question_field="q", answer_field="a", id_field="key",
    )  # fmt: skip
    run_eval(config, tmp_path / "out", engine=steered, progress=False, log=lambda m: None)
    path = Path(questions)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[1]["a"] = "999"  # the data changed under the run
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match="problem 'p1' has changed since its samples"):
        run_eval(config, tmp_path / "out", engine=steered, progress=False, log=lambda m: None)
    other = EvalConfig(**{**config.to_dict(), "answer_field": "q"})
    with pytest.raises(ValueError, match="answer_field: 'a' there, 'q' now"):
        run_eval(other, tmp_path / "out", engine=steered, progress=False, log=lambda m: None)
