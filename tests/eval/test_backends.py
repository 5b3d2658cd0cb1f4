"""--engine vllm|sglang behind npr's engine interface.

vLLM and SGLang need GPUs and cannot be installed here, so these tests put **fakes** of the two libraries in
``sys.modules``: modules with the same offline API (vLLM's ``LLM.generate`` over token-id prompts with
``SamplingParams``; SGLang's ``Engine.generate(input_ids=..., sampling_params=..., return_logprob=True)``) that
decode with npr's own engine in sequential mode. The fakes stand in for the libraries only; what is tested is npr's
side: the translation of sampling settings, the trajectories built from their outputs, and `npr eval` and
`npr distill` running on them. Given the same seeds, a correct translation must reproduce npr's own results exactly.
"""

from __future__ import annotations

import json
import sys
import types
from types import SimpleNamespace

import pytest

from npr.cli import main
from npr.engine import Engine, SamplingParams


def _decode(engine, prompt, temperature, top_p, top_k, seed, max_tokens, stop_ids):
    sp = SamplingParams(temperature=temperature, top_p=top_p, top_k=max(top_k, 0), seed=seed, max_tokens=max_tokens,
                        stop_token_ids=tuple(stop_ids))  # fmt: skip
    [traj] = engine.generate([prompt], sp, mode="sequential")
    return traj.response_ids, traj.logprobs[traj.prompt_len :], traj.finish_reason


def fake_vllm() -> types.ModuleType:
    mod = types.ModuleType("vllm")

    class FakeSamplingParams:
        def __init__(self, **kw):
            self.kw = kw

    class LLM:
        def __init__(self, model, dtype, seed, **kw):
            self.engine = Engine.from_pretrained(model)

        def get_tokenizer(self):
            return self.engine.tokenizer

        def generate(self, requests, params, use_tqdm=True):
            outs = []
            for req, sp in zip(requests, params):
                k = sp.kw
                ids, lps, reason = _decode(self.engine, req["prompt_token_ids"], k["temperature"], k["top_p"], k["top_k"],
                                           k["seed"], k["max_tokens"], k["stop_token_ids"])  # fmt: skip
                out = SimpleNamespace(token_ids=ids, finish_reason="length" if reason == "length" else "stop",
                                      logprobs=[{t: SimpleNamespace(logprob=lp)} for t, lp in zip(ids, lps)])  # fmt: skip
                outs.append(SimpleNamespace(outputs=[out]))
            return outs

    mod.LLM, mod.SamplingParams = LLM, FakeSamplingParams
    return mod


def fake_sglang() -> types.ModuleType:
    mod = types.ModuleType("sglang")

    class FakeEngine:
        def __init__(self, model_path, dtype, random_seed, **kw):
            self.engine = Engine.from_pretrained(model_path)

        def generate(self, input_ids, sampling_params, return_logprob):
            outs = []
            for prompt, k in zip(input_ids, sampling_params):
                ids, lps, reason = _decode(self.engine, prompt, k["temperature"], k["top_p"], k["top_k"],
                                           k.get("sampling_seed"), k["max_new_tokens"], k["stop_token_ids"])  # fmt: skip
                outs.append({"output_ids": ids, "meta_info": {
                    "finish_reason": {"type": "length" if reason == "length" else "stop"},
                    "output_token_logprobs": [(lp, t, None) for t, lp in zip(ids, lps)]}})  # fmt: skip
            return outs

        def shutdown(self):
            pass

    mod.Engine = FakeEngine
    return mod


def records(folder, name="results.jsonl"):
    out = {}
    for line in (folder / name).read_text().splitlines():
        r = json.loads(line)
        for k in ("elapsed", "session"):
            r.pop(k, None)
        r["stats"] = {k: v for k, v in r["stats"].items() if k not in ("wall_time", "preemptions", "engine")}
        r.pop("trajectory", None)
        out[(r.get("benchmark"), r.get("item_id", r.get("problem_id")), r["sample"])] = r
    return out


@pytest.mark.parametrize("name, fake", [("vllm", fake_vllm), ("sglang", fake_sglang)])
def test_eval_on_a_backend_equals_npr_in_sequential_mode(toy_model_dir, tmp_path, monkeypatch, name, fake):
    monkeypatch.setitem(sys.modules, name, fake())
    common = ["eval", "--model", str(toy_model_dir), "--benchmark", "toy-products-4", "--limit", "3", "--k", "2",
              "--max-tokens", "20", "--mode", "sequential", "--top-k", "5", "--json"]  # fmt: skip
    assert main([*common, "--out", str(tmp_path / "npr")]) == 0
    assert main([*common, "--out", str(tmp_path / name), "--engine", name]) == 0
    a, b = records(tmp_path / "npr"), records(tmp_path / name)
    assert len(a) == 6 and a == b
    traj = json.loads((tmp_path / name / "results.jsonl").read_text().splitlines()[0])["trajectory"]
    assert traj["stats"]["engine"] == name and traj["mode"] == "sequential"
    assert all(s for s in traj["sampled"][traj["prompt_len"] :])


def test_distill_on_a_backend_equals_npr(toy_model_dir, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", fake_vllm())
    data = tmp_path / "p.jsonl"
    data.write_text("".join(json.dumps({"id": f"p{i}", "question": f"{i}*2", "answer": str(2 * i)}) + "\n"
                            for i in range(3)))  # fmt: skip
    common = ["distill", "--model", str(toy_model_dir), "--data", str(data), "--k", "2", "--max-tokens", "12", "--json"]
    assert main([*common, "--out", str(tmp_path / "npr")]) == 0
    assert main([*common, "--out", str(tmp_path / "vllm"), "--engine", "vllm"]) == 0
    assert records(tmp_path / "npr", "samples.jsonl") == records(tmp_path / "vllm", "samples.jsonl")


def test_parallel_mode_and_missing_libraries_are_refused_with_the_reason(toy_model_dir, tmp_path, capsys, monkeypatch):
    base = ["eval", "--model", str(toy_model_dir), "--benchmark", "toy-products-4", "--out", str(tmp_path / "x")]
    assert main([*base, "--engine", "vllm"]) == 2
    assert "sequential mode only" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "sglang", None)  # importing it now fails, as on a machine without it
    assert main([*base, "--engine", "sglang", "--mode", "sequential"]) == 2
    assert "needs the sglang package" in capsys.readouterr().err
    assert main([*base, "--engine", "vllm", "--mode", "sequential", "--ray"]) == 2
    assert "do not mix" in capsys.readouterr().err
