"""`npr train sft|rl|zero` end to end: the real console path in a subprocess, its outputs, --json, and bad input
(exit 2, one `npr train ...:` line on stderr, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..train.helpers import id_corpus, make_char_tokenizer, rl_dict, sft_dict, write_jsonl

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}
OUTPUTS = ("config.yaml", "metrics.jsonl", "model/config.json", "summary.json")


def npr(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "npr.cli", *args], env=ENV, cwd=cwd, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The character tokenizer, an id corpus, RL prompts with answers, and SFT / RL / zero configs."""
    root = tmp_path_factory.mktemp("train-cli")
    tok = make_char_tokenizer(root / "tok")
    corpus = write_jsonl(root / "corpus.jsonl", id_corpus(16))
    rows = [{"id": f"p{i}", "prompt_ids": [2 + i, 3, 4 + i], "answer": str(i)} for i in range(4)]
    prompts = write_jsonl(root / "prompts.jsonl", rows)
    sft = root / "sft.yaml"
    sft.write_text(yaml.safe_dump(sft_dict(tok, corpus, max_steps=2, save_steps=1)))
    rl = root / "rl.yaml"
    rl.write_text(yaml.safe_dump(rl_dict(tok, prompts, max_steps=2)))
    # zero: no algorithm name, no rollout mode and no format_aware in the file, so the preset must supply them
    zero_dict = rl_dict(tok, prompts, max_steps=2, algorithm={"max_gen_rounds": 2})
    del zero_dict["algorithm"]["name"], zero_dict["rollout"]["mode"]
    zero = root / "zero.yaml"
    zero.write_text(yaml.safe_dump(zero_dict))
    return {"root": root, "sft": sft, "rl": rl, "zero": zero}


@pytest.fixture(scope="module")
def sft_json_run(files):
    out = files["root"] / "sft-run"
    return npr("train", "sft", "--config", str(files["sft"]), "--out", str(out), "--json"), out


def assert_run_folder(out: Path, steps: int) -> dict:
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    assert any((out / "checkpoints").iterdir())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == steps
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in records) == steps
    return summary


def test_sft_writes_its_run_folder(sft_json_run):
    proc, out = sft_json_run
    assert proc.returncode == 0, proc.stderr
    summary = assert_run_folder(out, steps=2)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-1", "checkpoint-2"]
    assert summary["trajectories"] == 16 and summary["final_loss"] is not None
    assert "Traceback" not in proc.stderr


def test_sft_json_prints_only_the_summary(sft_json_run):
    proc, out = sft_json_run
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads((out / "summary.json").read_text())


def test_rl_runs_and_prints_a_json_summary(files):
    out = files["root"] / "rl-run"
    proc = npr("train", "rl", "--config", str(files["rl"]), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    summary = assert_run_folder(out, steps=2)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-1", "step-2"]
    printed = json.loads(proc.stdout)
    assert printed == summary and printed["steps_this_session"] == 2
    assert "Traceback" not in proc.stderr


def test_zero_runs_with_the_stage_one_preset(files):
    out = files["root"] / "zero-run"
    proc = npr("train", "zero", "--config", str(files["zero"]), "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    assert_run_folder(out, steps=2)
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["algorithm"]["name"] == "dapo" and saved["algorithm"]["clip_high"] == 0.28
    assert saved["algorithm"]["max_gen_rounds"] == 2  # the file's own algorithm keys stay
    assert saved["reward"]["format_aware"] is True
    assert saved["rollout"]["mode"] == "sequential"
    assert (out / "command.txt").read_text().strip() == "npr train zero"


def assert_bad_input(proc: subprocess.CompletedProcess, command: str, *needles: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"npr train {command}: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("command", ["sft", "rl"])
def test_an_unknown_key_exits_2(files, command):
    out = files["root"] / f"unknown-{command}"
    proc = npr("train", command, "--config", str(files[command]), "--out", str(out), "--set", "foo=1")
    assert_bad_input(proc, command, "unknown config key 'foo'")
    assert not out.exists()


@pytest.mark.parametrize("command, what", [("sft", "SFT corpus"), ("rl", "RL prompts")])
def test_a_missing_data_file_exits_2(files, command, what):
    out = files["root"] / f"missing-{command}"
    missing = files["root"] / "missing.jsonl"
    proc = npr("train", command, "--config", str(files[command]), "--out", str(out), "--data", str(missing))
    assert_bad_input(proc, command, f"{what} '{missing}' does not exist")
    assert not (out / "metrics.jsonl").exists() and not (out / "checkpoints").exists()


def test_a_missing_config_file_exits_2(files):
    proc = npr("train", "rl", "--config", str(files["root"] / "nope.yaml"), "--out", str(files["root"] / "x"))
    assert_bad_input(proc, "rl", "does not exist")


def test_train_help():
    proc = npr("train", "--help")
    assert proc.returncode == 0, proc.stderr
    for stage in ("sft", "rl", "zero"):
        assert stage in proc.stdout
    proc = npr("train", "rl", "--help")
    assert proc.returncode == 0, proc.stderr
    for option in ("--config", "--out", "--resume", "--set", "--algo", "--json"):
        assert option in proc.stdout
