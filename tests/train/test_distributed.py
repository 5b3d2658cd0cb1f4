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

from .helpers import id_corpus, sft_dict, write_jsonl

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
