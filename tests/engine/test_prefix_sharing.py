"""Requests that share a prompt share its KV: G rollouts of one prompt hold one copy of it."""

from __future__ import annotations

from npr.engine import SamplingParams


def run_group(engine, prompt, seeds):
    for s in seeds:
        engine.submit(prompt, SamplingParams(seed=s, max_tokens=5), "sequential")
    peak = 0
    while engine.has_work():
        engine.step()
        peak = max(peak, engine.kv.num_used)
    return peak


def test_group_rollouts_share_the_prompt(make_engine):
    engine = make_engine("qwen3")
    prompt = [1000 + i for i in range(200)]
    # Submitted together: the first request prefills, the other three wait for it and reuse its cached prompt.
    # Each rollout then re-feeds the prompt's last token and writes at most 5 tokens: 1 + 5 slots each.
    peak = run_group(engine, prompt, range(4))
    assert peak <= 200 + 4 * (1 + 5)
    assert engine.kv.num_used == 200, "between groups only the cached prompt is held"
    assert run_group(engine, prompt, range(10, 14)) <= 200 + 4 * (1 + 5)
    # A prompt that shares only its first half reuses that half.
    other = prompt[:100] + [3000 + i for i in range(100)]
    assert run_group(engine, other, [20]) <= 200 + 100 + 1 + 5
    engine.flush_cache()
    assert engine.kv.num_used == 0


def test_group_outputs_do_not_depend_on_sharing(make_engine):
    shared = make_engine("llama")
    alone = make_engine("llama", prefix_cache=False)
    prompt = [1000 + i for i in range(50)]
    params = [SamplingParams(seed=s, max_tokens=6) for s in range(3)]
    a = shared.generate([prompt] * 3, params, mode="sequential")
    b = alone.generate([prompt] * 3, params, mode="sequential")
    assert [t.token_ids for t in a] == [t.token_ids for t in b]
    for x, y in zip(a, b):
        assert max(abs(p - q) for p, q in zip(x.logprobs[50:], y.logprobs[50:])) < 1e-5
