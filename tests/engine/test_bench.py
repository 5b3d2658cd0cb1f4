"""`npr bench engine --tiny --quick --json`: one JSON object with every required key and sane types.

Speed is measured, not asserted: no timing threshold here, only the shape of the report and the exact figures
(KV accounting, parity) that do not depend on the machine.
"""

from __future__ import annotations

import json
import math

from npr.cli import main


def _positive(x) -> bool:
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_bench_engine_json(tmp_path, capsys):
    assert main(["bench", "engine", "--tiny", "--quick", "--json", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    result = json.loads(out)  # stdout holds exactly one JSON object; progress went to stderr
    assert json.loads((tmp_path / "bench.json").read_text()) == result

    assert isinstance(result["model"], str) and result["model"]
    assert result["device"] in ("cpu", "cuda")
    assert result["dtype"] == "float32"
    assert isinstance(result["parity_max_abs_logprob_diff"], float)
    assert 0 <= result["parity_max_abs_logprob_diff"] < 1e-3
    assert isinstance(result["kv_peak_slots"], int) and isinstance(result["unique_tokens"], int)
    assert result["kv_peak_slots"] == result["unique_tokens"] > 0
    assert result["kv"]["slots_in_use_after"] == 0
    assert result["kv"]["steps_where_slots_differ_from_unique_tokens"] == 0

    decode = result["decode_speedup_vs_hf"]
    assert set(decode) >= {"batch1", "batch16"} and all(_positive(v) for v in decode.values())

    parallel = result["parallel"]
    assert [p["branches"] for p in parallel] == [2, 4, 8]
    for p in parallel:
        assert isinstance(p["branches"], int)
        assert _positive(p["ideal_speedup"]) and _positive(p["measured_speedup"])
        assert p["ideal_speedup"] == p["total_tokens"] / p["critical_path_tokens"] > 1

    concurrency = result["concurrency"]
    assert concurrency and [c["requests"] for c in concurrency] == sorted(c["requests"] for c in concurrency)
    for c in concurrency:
        assert isinstance(c["requests"], int) and _positive(c["throughput_vs_hf_one_by_one"])

    assert set(result["targets_met"]) and all(v in (True, False, None) for v in result["targets_met"].values())
    assert result["machine"]["torch"] and result["settings"]["new_tokens"] > 0
