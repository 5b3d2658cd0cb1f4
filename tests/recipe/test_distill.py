"""npr distill: the first correct and perfectly formatted sample is kept, as the engine's own ids; resuming a killed
run ends where an uninterrupted one does; bad settings are refused before any model loads."""

from __future__ import annotations

import json

import pytest

from npr.cli import main
from npr.eval.runner import sample_seed
from npr.recipe.distill import DistillConfig, run_distill, verdict
from npr.schema import render
from npr.schema.structure import Block, Plan, Response, Step
from tests.recipe.conftest import ScriptedEngine, write_problems


def npr_answer(answer: str, steps: int = 2, *, takeaway: bool = True) -> str:
    block = Block(plans=tuple(Plan(i + 1, f"part {i + 1}") for i in range(steps)),
                  steps=tuple(Step(i + 1, f"{i + 1}*2={2 * (i + 1)}") for i in range(steps)),
                  takeaway="so it is done" if takeaway else None)  # fmt: skip
    return render(Response(blocks=(block,), conclusion=f"\\boxed{{{answer}}}"))


GOOD, GOOD_ONE_STEP = npr_answer("5"), npr_answer("5", steps=1)
#: Built cases (gold answer 5 for every problem). Sample s of each problem writes CASES[problem][s].
CASES = {
    "a": [npr_answer("4"), npr_answer("5", takeaway=False), GOOD, npr_answer("5", steps=3)],  # keep sample 2
    "b": [GOOD],  # keep sample 0
    "c": ["\\boxed{5}", npr_answer("6"), npr_answer("7"), npr_answer("8")],  # nothing kept: no block, then wrong
    "d": [GOOD_ONE_STEP, GOOD],  # sample 0 without require_parallel; sample 1 with it
}


def distill(tmp_path, model_dir, out, *, require_parallel=False, stop_after=None, k=4):
    data = tmp_path / "problems.jsonl"
    write_problems(data, {pid: "5" for pid in CASES})
    config = DistillConfig(model=str(model_dir), data=str(data), k=k, max_tokens=120, batch=3,
                           require_parallel=require_parallel)  # fmt: skip
    engine = ScriptedEngine(model_dir, CASES, stop_after=stop_after)
    return run_distill(config, out, engine=engine, progress=False, log=lambda m: None), engine


def corpus(folder):
    return [json.loads(x) for x in (folder / "corpus.jsonl").read_text().splitlines()]


def test_keeps_exactly_the_first_correct_and_valid_sample(tmp_path, toy_model_dir):
    summary, engine = distill(tmp_path, toy_model_dir, tmp_path / "out")
    kept = {r["problem_id"]: r for r in corpus(tmp_path / "out")}
    assert {p: r["sample"] for p, r in kept.items()} == {"a": 2, "b": 0, "d": 0}
    assert {p: v["samples"] for p, v in summary["per_problem"].items()} == {"a": 3, "b": 1, "c": 4, "d": 1}
    assert summary["kept"] == 3 and summary["samples"] == 9 and summary["complete"] is True
    rej = summary["rejections"]
    assert rej["wrong_answer"] == 4 and rej["missing_takeaway"] == 1 and rej["no_blocks"] == 1
    # The corpus holds the engine's own ids: exactly the kept trajectory's tokens, split at its prompt.
    for pid, rec in kept.items():
        [traj] = [t for t in engine.taken if t.seed == sample_seed(0, "distill", pid, rec["sample"])]
        assert rec["prompt_ids"] + rec["response_ids"] == traj.token_ids
        assert rec["response_ids"][-1] == engine.tokenizer.eos_token_id
        assert rec["grade"]["correct"] is True and rec["stats"]["total_tokens"] == traj.stats["total_tokens"]


def test_require_parallel_skips_single_step_blocks(tmp_path, toy_model_dir):
    summary, _ = distill(tmp_path, toy_model_dir, tmp_path / "out", require_parallel=True)
    kept = {r["problem_id"]: r["sample"] for r in corpus(tmp_path / "out")}
    assert kept == {"a": 2, "b": 0, "d": 1}
    assert summary["rejections"]["not_parallel"] == 1


@pytest.mark.parametrize("stop_after", [1, 4, 7])
def test_a_killed_run_resumes_to_the_same_corpus(tmp_path, toy_model_dir, stop_after):
    whole, _ = distill(tmp_path, toy_model_dir, tmp_path / "whole")
    with pytest.raises(KeyboardInterrupt):
        distill(tmp_path, toy_model_dir, tmp_path / "cut", stop_after=stop_after)
    resumed, engine = distill(tmp_path, toy_model_dir, tmp_path / "cut")
    assert (tmp_path / "cut" / "corpus.jsonl").exists()
    strip = lambda rows: [{k: v for k, v in r.items() if k != "stats"} for r in rows]  # noqa: E731 - wall times differ
    assert strip(corpus(tmp_path / "cut")) == strip(corpus(tmp_path / "whole"))
    for key in ("kept", "samples", "rejections", "per_problem", "complete"):
        assert resumed[key] == whole[key], key
    lines = (tmp_path / "cut" / "samples.jsonl").read_text().splitlines()
    assert len(lines) == whole["samples"], "every sample on disk exactly once"
    assert len(engine.taken) == whole["samples"] - (len(lines) - len(engine.taken)), "only missing samples redrawn"


def test_changed_settings_are_refused_on_resume(tmp_path, toy_model_dir):
    distill(tmp_path, toy_model_dir, tmp_path / "out")
    config = DistillConfig(model=str(toy_model_dir), data=str(tmp_path / "problems.jsonl"), k=5, max_tokens=120)
    with pytest.raises(ValueError, match="other settings.*k: 4 there, 5 now"):
        run_distill(config, tmp_path / "out", progress=False, log=lambda m: None)


def test_verdict_lists_every_reason():
    assert verdict(GOOD, "stop", True, require_parallel=False) == []
    assert verdict(GOOD, "length", False, require_parallel=False) == ["cut_off", "wrong_answer"]
    assert verdict("\\boxed{5}", "stop", True, require_parallel=False) == ["no_blocks"]
    assert verdict(GOOD_ONE_STEP, "stop", True, require_parallel=True) == ["not_parallel"]
    assert "missing_takeaway" in verdict(npr_answer("5", takeaway=False), "stop", True, require_parallel=False)


def test_cli_refuses_bad_input_before_loading_a_model(tmp_path, capsys):
    assert main(["distill", "--model", "x", "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n')
    assert main(["distill", "--model", "x", "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "no field 'answer'" in capsys.readouterr().err
    assert main(["distill", "--model", "x", "--data", str(bad), "--out", str(tmp_path / "o"), "--k", "0"]) == 2
    assert "k=0" in capsys.readouterr().err
