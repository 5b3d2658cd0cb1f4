"""`npr eval` end to end on a tiny random model: outputs, summary fields, resume after a kill, --compare, --score."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from npr.eval.benchmarks import load_benchmark

#: The metric keys the summary must carry for every benchmark and overall, named exactly as documented.
METRIC_KEYS = (
    "avg_at_k", "pass_at_k", "best_at_k", "format_score", "invalid_share", "parallel_rate", "genuine_parallel_share",
    "mean_total_tokens", "mean_critical_path_tokens", "ideal_speedup", "tokens_per_second", "seconds_per_problem",
    "n", "k",
)  # fmt: skip
PLOTS = ("accuracy.png", "tokens_vs_critical_path.png", "branches_per_block.png", "test_time_scaling.png")
RUN = ("--benchmark", "gsm8k,amc23", "--limit", "3", "--k", "2", "--max-tokens", "6", "--seed", "5")


def _cmd() -> list[str]:
    exe = shutil.which("npr", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "npr.cli"]


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def npr(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*_cmd(), *args], capture_output=True, text=True, timeout=timeout, env=_env())


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, qwen3_tokenizer, tiny_qwen3) -> str:
    import copy

    folder = tmp_path_factory.mktemp("tiny-model")
    tok = copy.deepcopy(qwen3_tokenizer)
    tiny_qwen3(tokenizer=tok, attn_implementation="sdpa").save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def full_run(tiny_model, tmp_path_factory) -> Path:
    """One uninterrupted run, shared by the tests that read it."""
    out = tmp_path_factory.mktemp("eval") / "full"
    res = npr("eval", "--model", tiny_model, *RUN, "--batch", "4", "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == json.loads((out / "summary.json").read_text())
    return out


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_run_writes_every_output_with_the_documented_fields(full_run):
    summary = json.loads((full_run / "summary.json").read_text())
    assert set(summary) == {"benchmarks", "overall", "config"}
    assert list(summary["benchmarks"]) == ["gsm8k", "amc23"]
    for scope in [*summary["benchmarks"].values(), summary["overall"]]:
        assert set(METRIC_KEYS) <= set(scope)
        assert scope["k"] == 2
        assert scope["tokens_per_second"] > 0 and scope["seconds_per_problem"] > 0
        # A random model writes no Map-Process-Reduce block, so nothing ran in parallel.
        assert scope["parallel_rate"] == 0.0 and scope["genuine_parallel_share"] is None
        assert scope["invalid_share"] == 1.0 and scope["format_score"] < 0
    assert summary["benchmarks"]["gsm8k"]["n"] == 6 and summary["overall"]["n"] == 12
    assert summary["config"]["mode"] == "parallel" and summary["config"]["k"] == 2
    records = _lines(full_run / "results.jsonl")
    assert len(records) == 12
    assert {(r["benchmark"], r["item_id"], r["sample"]) for r in records} == {
        (b, i.id, s) for b in ("gsm8k", "amc23") for i in load_benchmark(b, limit=3) for s in range(2)
    }
    for r in records:
        traj = r["trajectory"]
        assert traj["text"] == r["response"] and len(traj["token_ids"]) == len(traj["logprobs"])
        assert r["stats"]["critical_path_tokens"] <= 6 and r["grade"]["correct"] is False
    for plot in PLOTS:
        data = (full_run / plot).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    report = (full_run / "report.md").read_text()
    assert "| gsm8k |" in report and "| amc23 |" in report and all(f"]({p})" in report for p in PLOTS)
    assert json.loads((full_run / "config.json").read_text())["benchmarks"]["gsm8k"] == {"kind": "math", "problems": 3}


def test_resume_after_a_kill_gives_the_samples_of_an_uninterrupted_run(tiny_model, full_run, tmp_path):
    out = tmp_path / "killed"
    results = out / "results.jsonl"
    # One request at a time and longer samples, so that the kill lands mid-run.
    args = [*_cmd(), "eval", "--model", tiny_model, *RUN, "--batch", "1", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and len(results.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = len(_lines(results))
    assert 3 <= saved < 12
    with open(results, "a") as f:  # what a kill in the middle of a write leaves behind
        f.write('{"benchmark": "gsm8k", "item_id": "0", "sam')
    res = npr("eval", "--model", tiny_model, *RUN, "--batch", "3", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert f"resuming {out}: {saved} samples on disk, {12 - saved} to go" in res.stderr
    key = lambda r: (r["benchmark"], r["item_id"], r["sample"])  # noqa: E731
    resumed = sorted(_lines(results), key=key)
    whole = sorted(_lines(full_run / "results.jsonl"), key=key)
    assert len(resumed) == 12
    # Seeds derive from what a sample is, so the kill, the torn line and other batch sizes change nothing.
    assert [(key(r), r["seed"], r["response"], r["trajectory"]["token_ids"]) for r in resumed] == [
        (key(r), r["seed"], r["response"], r["trajectory"]["token_ids"]) for r in whole
    ]
    assert len({r["session"] for r in resumed}) == 2
    again = npr("eval", "--model", tiny_model, *RUN, "--out", str(out))
    assert again.returncode == 0 and len(_lines(results)) == 12  # nothing left to do: nothing redone


def test_a_run_folder_refuses_other_settings(tiny_model, full_run):
    res = npr("eval", "--model", tiny_model, *RUN[:-2], "--seed", "6", "--out", str(full_run))
    assert res.returncode == 2
    assert "seed: 5 there, 6 now" in res.stderr and "Traceback" not in res.stderr


def test_compare_reports_deltas_and_speedups(full_run, tiny_model, tmp_path):
    seq = tmp_path / "seq"
    res = npr("eval", "--model", tiny_model, *RUN, "--mode", "sequential", "--batch", "4", "--out", str(seq))
    assert res.returncode == 0, res.stderr
    res = npr("eval", "--compare", str(seq), str(full_run))
    assert res.returncode == 0, res.stderr
    assert "throughput" in res.stdout and "gsm8k" in res.stdout and "overall" in res.stdout
    res = npr("eval", "--compare", str(seq), str(full_run), "--json")
    cmp = json.loads(res.stdout)
    row = cmp["benchmarks"]["gsm8k"]
    a = json.loads((seq / "summary.json").read_text())["benchmarks"]["gsm8k"]
    b = json.loads((full_run / "summary.json").read_text())["benchmarks"]["gsm8k"]
    assert row["throughput_ratio"] == pytest.approx(b["tokens_per_second"] / a["tokens_per_second"])
    assert row["latency_speedup"] == pytest.approx(a["mean_latency_seconds"] / b["mean_latency_seconds"])
    assert row["problem_time_speedup"] == pytest.approx(a["seconds_per_problem"] / b["seconds_per_problem"])
    assert row["critical_path_speedup"] == pytest.approx(
        a["mean_critical_path_tokens"] / b["mean_critical_path_tokens"]
    )
    assert row["token_ratio"] == pytest.approx(b["mean_total_tokens"] / a["mean_total_tokens"])
    assert row["avg_at_k_delta"] == pytest.approx(b["avg_at_k"] - a["avg_at_k"])
    assert cmp["warnings"] == []  # same k, batch, problems and machine
    other_k = tmp_path / "k1"
    res = npr("eval", "--model", tiny_model, *RUN[:4], "--k", "1", *RUN[6:], "--out", str(other_k))
    assert res.returncode == 0, res.stderr
    res = npr("eval", "--compare", str(other_k), str(full_run))
    assert "warning: k differs (1 vs 2)" in res.stdout


def test_score_grades_outside_responses(tmp_path, tiny_model):
    items = load_benchmark("gsm8k", limit=4)
    parallel = (
        "<guideline>\n<plan>1: a</plan>\n<plan>2: b</plan>\n</guideline>\n<step>\n1: x\n</step>\n<step>\n2: y\n"
        "</step>\n<takeaway>\nok\n</takeaway>\nSo \\boxed{%s}."
    )
    lines = [
        {"id": items[0].id, "responses": [parallel % items[0].answer, "no box here"]},
        {"id": items[1].id, "response": f"The answer is \\boxed{{{items[1].answer}}}."},
        {"id": items[2].id, "response": "\\boxed{-123456}"},
        {"id": items[3].id, "response": parallel % items[3].answer, "forked": True},
    ]
    src = tmp_path / "outside.jsonl"
    src.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "scored"
    res = npr("eval", "--score", str(src), "--benchmark", "gsm8k", "--out", str(out), "--json")
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout)["benchmarks"]["gsm8k"]
    assert m["n"] == 5 and m["problems"] == 4 and m["k"] == 2
    assert m["avg_at_k"] == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    assert m["best_at_k"] == pytest.approx(3 / 4)
    # Two responses are parallel in form; only the one whose producer forked counts as genuinely parallel.
    assert m["parallel_blocks"] == 2 and m["forked_parallel_blocks"] == 1
    assert m["genuine_parallel_share"] == pytest.approx(0.5) and m["parallel_rate"] == pytest.approx(1 / 5)
    assert m["tokens_per_second"] is None  # outside text carries no timing
    assert all((out / p).exists() for p in ("results.jsonl", "summary.json", "report.md", *PLOTS))
    # With a tokenizer, tokens are counted, and the topology puts the shorter branch off the critical path.
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(lines[3]) + "\n")
    res = npr("eval", "--score", str(one), "--benchmark", "gsm8k", "--tokenizer", tiny_model, "--json")
    assert res.returncode == 0, res.stderr
    m = json.loads(res.stdout)["benchmarks"]["gsm8k"]
    assert 0 < m["mean_critical_path_tokens"] < m["mean_total_tokens"] and m["ideal_speedup"] > 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "no-such-problem", "response": "x"}) + "\n")
    res = npr("eval", "--score", str(bad), "--benchmark", "gsm8k")
    assert res.returncode == 2 and "not problems of gsm8k" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (("--benchmark", "gsm8kk", "--out", "X"), "Did you mean 'gsm8k'"),
        (("--benchmark", "gsm8k"), "--out DIR is required"),
        (("--out", "X"), "--benchmark is required"),
        (("--benchmark", "gsm8k", "--out", "X", "--k", "0"), "k=0"),
        (("--benchmark", "aime25", "--out", "X", "--data-dir", "EMPTY"), "not bundled"),
        (("--benchmark", "gsm8k", "--out", "X", "--data-dir", "/nonexistent"), "is not a folder"),
    ],
)
def test_bad_input_is_a_clear_error(tiny_model, tmp_path, args, message):
    args = tuple({"X": str(tmp_path / "out"), "EMPTY": str(tmp_path)}.get(a, a) for a in args)
    res = npr("eval", "--model", tiny_model, *args)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr


def test_a_failed_start_does_not_lock_the_folder(tiny_model, tmp_path):
    out = tmp_path / "out"
    res = npr("eval", "--model", str(tmp_path / "no-such-model"), *RUN, "--out", str(out))
    assert res.returncode == 2 and "cannot load the model" in res.stderr and "Traceback" not in res.stderr
    res = npr("eval", "--model", tiny_model, *RUN[:-2], "--seed", "9", "--limit", "1", "--out", str(out))
    assert res.returncode == 0, res.stderr


def test_score_refuses_to_overwrite_a_run(full_run, tmp_path):
    src = tmp_path / "outside.jsonl"
    src.write_text(json.dumps({"id": load_benchmark("gsm8k", limit=1)[0].id, "response": "\\boxed{1}"}) + "\n")
    before = (full_run / "results.jsonl").read_bytes()
    res = npr("eval", "--score", str(src), "--benchmark", "gsm8k", "--out", str(full_run))
    assert res.returncode == 2 and "--score did not write" in res.stderr
    assert (full_run / "results.jsonl").read_bytes() == before


def test_a_toy_benchmark_runs_end_to_end(tiny_model, tmp_path):
    out = tmp_path / "toy"
    res = npr("eval", "--model", tiny_model, "--benchmark", "toy-pick", "--limit", "2", "--k", "1", "--max-tokens", "4",
              "--mode", "sequential", "--out", str(out), "--json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = _lines(out / "results.jsonl")
    assert len(rows) == 2 and all(r["benchmark"] == "toy-pick" for r in rows)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    t = rows[0]["trajectory"]
    prompt = tok.decode(t["token_ids"][: t["prompt_len"]])
    assert " ends in 0, x in " in prompt and "\n\nanswer in parallel blocks<|im_end|>" in prompt  # --prompt npr: toy words


def test_toy_benchmarks_ask_with_the_toy_instructions():
    from npr.eval.benchmarks import instructions_for
    from npr.eval.toy import INSTRUCTIONS

    assert instructions_for("toy-pick") == instructions_for("TOY-products") == INSTRUCTIONS
    assert instructions_for("gsm8k") is None and instructions_for("some/file.jsonl") is None
