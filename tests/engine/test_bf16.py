"""bf16 on CPU: the engine runs in the model's dtype and its log-probs stay within bf16 tolerance of training's.

Tolerance: bf16 keeps 8 bits of mantissa, and the engine's paged attention sums in a different order from HF's
forward, so per-token log-probs differ by round-off (about 2e-3 on this tiny model; fp32 parity is 1e-4).
"""

from __future__ import annotations

import torch

from npr.engine import Engine, EngineConfig, SamplingParams

from .parity import max_logprob_diff


def test_bf16_parity(npr_tokenizer, tiny_qwen3):
    model = tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa").to(torch.bfloat16)
    engine = Engine(model, npr_tokenizer, EngineConfig(kv_budget=2048))
    assert engine.kv.k.dtype == torch.bfloat16
    rid = engine.submit([1000 + i for i in range(10)], SamplingParams(seed=0), steer=engine.shape_steer([[4, 7], [3]]))
    while engine.has_work():
        engine.step()
    traj = engine._results.pop(rid)
    assert traj.finish_reason == "stop"
    diff = max_logprob_diff(model, traj, engine.tags)
    print(f"bf16 max |logprob diff| = {diff:.3e}")
    assert diff < 1e-2
