"""`npr solve` on a tiny model folder: the tree by default, the full trajectory with --json."""

from __future__ import annotations

import json

from .test_format_check import npr


def test_solve_prints_tree_and_json(tmp_path, fresh_qwen3_tokenizer, tiny_qwen3):
    folder = tmp_path / "tiny"
    tiny_qwen3(tokenizer=fresh_qwen3_tokenizer, attn_implementation="sdpa").save_pretrained(folder)
    fresh_qwen3_tokenizer.save_pretrained(folder)
    out = npr("solve", "--model", str(folder), "What is 17*23?", "--max-tokens", "12", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert "finish: length" in out.stdout and "critical path 12" in out.stdout
    out = npr("solve", "--model", str(folder), "What is 17*23?", "--max-tokens", "12", "--seed", "3", "--json")
    assert out.returncode == 0, out.stderr
    traj = json.loads(out.stdout)
    assert traj["finish_reason"] == "length" and traj["stats"]["critical_path_tokens"] == 12
    assert len(traj["token_ids"]) == len(traj["logprobs"]) == len(traj["sampled"]) == len(traj["position_ids"])
    assert traj["prompt_len"] + 12 == len(traj["token_ids"])


def test_solve_bad_model_is_a_clear_error(tmp_path):
    out = npr("solve", "--model", str(tmp_path / "nope"), "hi")
    assert out.returncode == 2
    assert out.stderr.startswith("npr solve:") and "Traceback" not in out.stderr
