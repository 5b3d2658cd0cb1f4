"""`npr bench train --tiny --quick --json`: one JSON object with every figure, and the exact parts that do not
depend on the machine (the three SFT losses agree, the RL update's log-probs match the engine's).

Speed is measured, not asserted: no timing threshold here.
"""

from __future__ import annotations

import json
import math

import pytest

from npr.cli import main


def _positive(x) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


@pytest.mark.slow
def test_bench_train_json(tmp_path, capsys):
    assert main(["bench", "train", "--tiny", "--quick", "--json", "--out", str(tmp_path)]) == 0
    result = json.loads(capsys.readouterr().out)  # stdout holds exactly one JSON object; progress went to stderr
    assert json.loads((tmp_path / "bench.json").read_text()) == result
    assert result["model"].startswith("tiny-qwen3-random") and result["quick"] is True

    sft = result["sft"]
    assert sft["trajectories"] == 6 and sft["tokens"] > 0
    for how in ("packed", "padded", "per_trajectory"):
        assert _positive(sft[how]["tokens_per_s"]) and _positive(sft[how]["summed_nll"])
    assert sft["max_loss_difference"] < 1e-3 * sft["packed"]["summed_nll"]  # the same loss, three layouts
    assert _positive(sft["packed_vs_per_trajectory"])

    upd = result["rl_update"]
    for how in ("packed", "per_trajectory"):
        assert _positive(upd[how]["tokens_per_s"]) and upd[how]["logprob_mismatch_max"] < 1e-4
    step = result["rl_step"]
    assert step["steps"] == 1 and 0 < step["rollout_share"] < 1 and step["logprob_mismatch_max"] < 1e-4


def test_bench_train_tokenizer_needs_tiny(capsys):
    assert main(["bench", "train", "--tokenizer", "x"]) == 2
    assert "--tokenizer goes with --tiny" in capsys.readouterr().err
