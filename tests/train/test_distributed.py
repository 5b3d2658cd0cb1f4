"""SFT under torchrun: two gloo processes on CPU give the same training as one process over the same global batch.

The loss is a token mean over every rank's tokens (``num_items_in_batch``), scaled by the world size because DDP
averages gradients: without that scale the gradient would be halved on two ranks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml
from safetensors.torch import load_file

from .helpers import id_corpus, rl_dict, sft_dict, write_jsonl

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def run(cmd: list[str]) -> None:
    out = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


@pytest.mark.distributed
@pytest.mark.slow
def test_two_process_sft_equals_one_process(char_tokenizer_dir, tmp_path):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    assert torchrun, "torchrun ships with torch"
    corpus = write_jsonl(tmp_path / "corpus.jsonl", id_corpus(64, seed=5))
    two, one = tmp_path / "two.yaml", tmp_path / "one.yaml"
    two.write_text(yaml.safe_dump(sft_dict(char_tokenizer_dir, corpus, max_steps=3, batch_size=8)))
    one.write_text(yaml.safe_dump(sft_dict(char_tokenizer_dir, corpus, max_steps=3, batch_size=16)))
    run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "npr.cli", "train", "sft",
         "--config", str(two), "--out", str(tmp_path / "ddp")])  # fmt: skip
    run([sys.executable, "-m", "npr.cli", "train", "sft", "--config", str(one), "--out", str(tmp_path / "single")])
    logs = [[json.loads(x) for x in (tmp_path / d / "metrics.jsonl").read_text().splitlines() if '"loss"' in x]
            for d in ("ddp", "single")]  # fmt: skip
    for a, b in zip(*logs):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-4)
    wa = load_file(str(tmp_path / "ddp/model/model.safetensors"))
    wb = load_file(str(tmp_path / "single/model/model.safetensors"))
    # Adam divides each gradient by its own running scale, so where a gradient is near zero the round-off of a
    # different summation order moves the update by a visible fraction of lr (1e-2 here). A rank whose gradients
    # were not averaged would be off by whole steps (~1e-2), and a wrong loss scale shows in grad_norm above.
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 2e-4


# RL under torchrun. The launched processes need a reward with signal for a random model over the character
# tokenizer, so each runs this script: it registers one (prefer responses that start with "7") and calls the CLI.
RL_SCRIPT = '''
import sys
from npr.train.rewards import REWARD_TERMS

@REWARD_TERMS.register("prefers_7")
def prefers_7(ctx):
    return 1.0 if ctx.text[:1] == "7" else -1.0

from npr.cli import main
sys.exit(main(sys.argv[1:]))
'''


def rl_setup(char_tokenizer_dir, tmp_path, **over):
    script = tmp_path / "rl_main.py"
    script.write_text(RL_SCRIPT)
    rows = [{"id": f"p{i}", "prompt_ids": [2 + i, 3 + i, 4 + i]} for i in range(6)]
    prompts = write_jsonl(tmp_path / "prompts.jsonl", rows)
    cfg = rl_dict(char_tokenizer_dir, prompts, **{
        "reward": {"terms": {"prefers_7": 1.0}}, "lr": 2e-2, "save_total_limit": None,
        "rollout": {"max_tokens": 4, "group_size": 4, "prompts_per_step": 3},  # 3 groups: ranks get 2 and 1
        "algorithm": {"name": "papo", "policy_loss": "ppo_clip", "mini_batches": 3}, **over,
    })  # fmt: skip
    config = tmp_path / "rl.yaml"
    config.write_text(yaml.safe_dump(cfg))
    return script, config


def rl_run(script, config, out, procs: int, *extra: str) -> None:
    if procs == 1:
        run([sys.executable, str(script), "train", "rl", "--config", str(config), "--out", str(out), *extra])
    else:
        torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
        run([torchrun, "--standalone", "--nproc_per_node", str(procs), str(script), "train", "rl",
             "--config", str(config), "--out", str(out), *extra])  # fmt: skip


def metrics(out) -> list[dict]:
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


def max_diff(a, b) -> float:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    return max(float((wa[k] - wb[k]).abs().max()) for k in wa)


@pytest.mark.distributed
@pytest.mark.slow
def test_two_process_papo_steps_equal_one_process(char_tokenizer_dir, tmp_path):
    script, config = rl_setup(char_tokenizer_dir, tmp_path, max_steps=2)
    rl_run(script, config, tmp_path / "ddp", 2)
    rl_run(script, config, tmp_path / "single", 1)
    two, one = metrics(tmp_path / "ddp"), metrics(tmp_path / "single")
    assert [r["step"] for r in two] == [r["step"] for r in one] == [1, 2]
    for a, b in zip(two, one):
        # the same rollouts (rank r decoded groups r, r+2, ... with the same seeds), gathered before advantages
        assert a["reward_mean"] == b["reward_mean"] and a["rollouts"] == b["rollouts"] == 12
        assert a["kept_rollouts"] == b["kept_rollouts"] and a["trained_tokens"] == b["trained_tokens"]
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-4)
    assert any(r["grad_norm"] > 0 for r in one)  # it learned something: equal weights are not the trivial kind
    # Two optimizer steps per RL step; round-off of the split summation moves Adam's update by a little (see SFT).
    assert max_diff(tmp_path / "ddp" / "model", tmp_path / "single" / "model") < 2e-4
    assert max_diff(tmp_path / "single" / "model", tmp_path / "single" / "checkpoints" / "step-1" / "hf") > 1e-3


@pytest.mark.distributed
@pytest.mark.slow
@pytest.mark.parametrize("before, after", [(2, 1), (1, 2)])
def test_a_checkpoint_resumes_at_another_world_size(char_tokenizer_dir, tmp_path, before, after):
    script, config = rl_setup(char_tokenizer_dir, tmp_path, max_steps=3, save_steps=1)
    rl_run(script, config, tmp_path / "whole", 1)
    cut = tmp_path / "cut"
    rl_run(script, config, cut, before, "--set", "max_steps=2")
    assert sorted(p.name for p in (cut / "checkpoints").iterdir()) == ["step-1", "step-2"]
    rl_run(script, config, cut, after, "--resume")
    assert [r["step"] for r in metrics(cut)] == [1, 2, 3]
    assert [r["reward_mean"] for r in metrics(cut)] == [r["reward_mean"] for r in metrics(tmp_path / "whole")]
    assert max_diff(cut / "model", tmp_path / "whole" / "model") < 2e-4
