"""Killed runs resume: a run SIGKILLed mid-way and resumed with --resume ends with the same parameters as an
uninterrupted run (fp32 on CPU, within 1e-6), and no metric line is counted twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from safetensors.torch import load_file

from .helpers import id_corpus, rl_dict, sft_dict, write_jsonl

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def npr(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "npr.cli", *args], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)  # fmt: skip


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    return out


def kill_when(proc: subprocess.Popen, ready, timeout: float = 300) -> None:
    """SIGKILL ``proc`` as soon as ``ready()`` holds; fails if the run ended first (nothing was interrupted)."""
    t0 = time.monotonic()
    while not ready():
        assert proc.poll() is None, "the run finished before it could be killed: " + (proc.stdout.read() or "")
        assert time.monotonic() - t0 < timeout
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def weights(folder: Path) -> dict:
    return load_file(str(folder / "model.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    worst = max(float((wa[k] - wb[k]).abs().max()) for k in wa)
    assert worst <= 1e-6, worst


def steps_logged(out: Path) -> list[int]:
    return [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "loss" in r]


@pytest.mark.slow
def test_killed_sft_run_resumes_to_the_same_parameters(char_tokenizer_dir, tmp_path):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", id_corpus(400, seed=3))
    config = tmp_path / "sft.yaml"
    config.write_text(yaml.safe_dump(sft_dict(char_tokenizer_dir, corpus, max_steps=14, save_steps=2, batch_size=32,
                                              save_total_limit=None)))  # fmt: skip
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    finish(npr("train", "sft", "--config", str(config), "--out", str(whole)))
    proc = npr("train", "sft", "--config", str(config), "--out", str(broken))
    kill_when(proc, lambda: (broken / "checkpoints" / "checkpoint-4" / "trainer_state.json").is_file())
    assert not (broken / "summary.json").exists()
    again = npr("train", "sft", "--config", str(config), "--out", str(broken))
    out, _ = again.communicate(timeout=600)
    assert again.returncode == 2 and "--resume" in out  # a run folder is never overwritten by accident
    finish(npr("train", "sft", "--config", str(config), "--out", str(broken), "--resume"))
    assert_same_weights(whole / "model", broken / "model")
    assert steps_logged(broken) == steps_logged(whole) == list(range(1, 15))


@pytest.mark.slow
def test_killed_rl_run_resumes_to_the_same_parameters(char_tokenizer_dir, tmp_path):
    rows = [{"id": f"p{i}", "prompt_ids": [2 + i, 3, 4 + i]} for i in range(6)]
    prompts = write_jsonl(tmp_path / "prompts.jsonl", rows)
    cfg = rl_dict(char_tokenizer_dir, prompts, max_steps=10, save_steps=2, save_total_limit=None,
                  reward={"terms": {"format": 1.0}}, rollout={"max_tokens": 8, "group_size": 4, "prompts_per_step": 3},
                  algorithm={"name": "dapo", "max_gen_rounds": 2})  # fmt: skip
    config = tmp_path / "rl.yaml"
    config.write_text(yaml.safe_dump(cfg))
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    finish(npr("train", "rl", "--config", str(config), "--out", str(whole)))
    proc = npr("train", "rl", "--config", str(config), "--out", str(broken))
    kill_when(proc, lambda: (broken / "checkpoints" / "step-4").is_dir())
    assert not (broken / "summary.json").exists()
    finish(npr("train", "rl", "--config", str(config), "--out", str(broken), "--resume"))
    assert_same_weights(whole / "model", broken / "model")
    lines = [json.loads(x) for x in (broken / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == list(range(1, 11))
    reference = [json.loads(x) for x in (whole / "metrics.jsonl").read_text().splitlines()]
    assert [r["reward_mean"] for r in lines] == [r["reward_mean"] for r in reference]
    # The run learned something, so equal weights are not the trivial kind.
    assert weights(whole / "model").keys() and any(r["grad_norm"] for r in reference if r.get("grad_norm"))
