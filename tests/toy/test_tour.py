"""The tour on a tiny random Qwen3 with the real Qwen3 tokenizer (the SmolLM2 run is `npr tour`)."""

from __future__ import annotations

import json

from npr.toy.tour import run_tour


def test_tour_runs_and_branches_match_isolated_runs(tmp_path, fresh_qwen3_tokenizer, tiny_qwen3):
    folder = tmp_path / "tiny"
    model = tiny_qwen3(tokenizer=fresh_qwen3_tokenizer, attn_implementation="sdpa")
    model.save_pretrained(folder)
    fresh_qwen3_tokenizer.save_pretrained(folder)

    summary = run_tour(model=str(folder), out=str(tmp_path / "out"), quiet=True)

    assert summary["format"]["valid"] is True and summary["format"]["format_reward"] == 0.0
    assert summary["format"]["broken_violations"] == ["step_count"]
    assert -2.0 <= summary["format"]["broken_format_reward"] < 0.0
    assert len(summary["branch_vs_isolated_max_abs_logprob_diff"]) == 2
    assert max(summary["branch_vs_isolated_max_abs_logprob_diff"]) < 1e-4
    tokens = summary["tokens"]
    assert tokens["critical_path"] < tokens["response"], "two parallel steps shorten the critical path"
    kinds = [s["kind"] for s in summary["segments"]]
    assert kinds.count("step") == 3 and kinds.count("guideline") == 2
    saved = json.loads((tmp_path / "out" / "tour.json").read_text())
    assert saved["tokens"] == tokens
