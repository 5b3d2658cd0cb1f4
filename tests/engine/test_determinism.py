"""The same seed gives the same trajectory, whatever else is in the batch (DESIGN §4, "Sampling"), and a preempted
request is recomputed to the very same output (DESIGN §4, "Budgets").

"The same" means: equal token ids, positions, sampled flags, finish reason and shape, and log-probs within 1e-6.
"""

from __future__ import annotations

import pytest

from npr.engine import Engine, EngineConfig, SamplingParams

TOL = 1e-6
RANDOM = dict(temperature=1.0, top_p=0.9, top_k=50)  # genuine sampling with both filters on


def spec(prompt, shape=None, mode="parallel", **params) -> dict:
    """One request: token-id prompt, a shape to steer (None: the sampler chooses), mode, SamplingParams fields."""
    return dict(prompt=list(prompt), shape=shape, mode=mode, params=SamplingParams(**params))


def run(tiny_parts, specs: list[dict], max_steps: int = 2000, **config) -> list:
    """Submit ``specs`` together on a fresh engine and run them all to the end; trajectories in order."""
    engine = Engine(*tiny_parts, EngineConfig(**config))
    rids = [
        engine.submit(s["prompt"], s["params"], s["mode"], steer=engine.shape_steer(s["shape"]) if s["shape"] else None)
        for s in specs
    ]
    for _ in range(max_steps):
        if not engine.has_work():
            break
        engine.step()
    assert not engine.has_work(), f"not finished within {max_steps} steps"
    out = [engine._results.pop(r) for r in rids]
    engine.flush_cache()
    assert engine.kv.num_used == 0
    return out


def assert_same(a, b) -> None:
    assert a.token_ids == b.token_ids
    assert a.position_ids == b.position_ids
    assert a.sampled == b.sampled
    assert a.finish_reason == b.finish_reason
    assert a.seed == b.seed
    for key in ("total_tokens", "critical_path_tokens", "forks", "branches_per_block", "sampled_tokens"):
        assert a.stats[key] == b.stats[key], key
    assert [x is None for x in a.logprobs] == [x is None for x in b.logprobs]
    diff = max((abs(x - y) for x, y in zip(a.logprobs, b.logprobs) if x is not None), default=0.0)
    assert diff <= TOL, f"log-probs differ by {diff:.3g}"


X_PROMPT = range(1000, 1024)


def others(mode: str) -> list[dict]:
    """Three different requests to keep X company: one shares X's first 12 prompt tokens, one is steered."""
    return [
        spec(list(range(1000, 1012)) + list(range(3000, 3009)), mode=mode, seed=101, max_tokens=25, **RANDOM),
        spec(range(2000, 2037), shape=[[4, 1, 6], [3]], seed=102, max_tokens=120),
        spec(range(4000, 4007), mode=mode, seed=103, max_tokens=40, temperature=0.7),
    ]


@pytest.mark.parametrize("config", [dict(), dict(max_batch_tokens=16)], ids=["one-forward-prefill", "chunked"])
def test_steered_parallel_request_is_independent_of_the_batch(tiny_parts, config):
    x = spec(X_PROMPT, shape=[[3, 5], [2, 4, 1]], seed=7, max_tokens=200)
    [alone] = run(tiny_parts, [x])
    assert alone.finish_reason == "stop" and alone.stats["branches_per_block"] == [2, 3]
    # X third of four: the others are admitted first, share its batches and, for one, its prompt prefix
    together = run(tiny_parts, others("parallel")[:2] + [x] + others("parallel")[2:], **config)
    assert_same(alone, together[2])


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_sampled_request_is_independent_of_the_batch(tiny_parts, mode):
    x = spec(X_PROMPT, mode=mode, seed=11, max_tokens=30, **RANDOM)
    [alone] = run(tiny_parts, [x])
    assert alone.stats["total_tokens"] == 30 or alone.finish_reason == "stop"
    assert alone.stats["sampled_tokens"] == alone.stats["total_tokens"]
    first = run(tiny_parts, [x] + others(mode))[0]  # X first in the batch
    last = run(tiny_parts, others(mode) + [x], max_batch_tokens=16)[3]  # X last, with chunked prefills around it
    assert_same(alone, first)
    assert_same(alone, last)


def test_same_seed_on_a_warm_engine(tiny_parts):
    """A second identical request on the same engine reuses the cached prompt KV: same output."""
    engine = Engine(*tiny_parts, EngineConfig())
    params = SamplingParams(seed=5, max_tokens=20, **RANDOM)
    [a] = engine.generate([list(X_PROMPT)], params)
    assert engine.cache.num_slots == len(X_PROMPT)
    [b] = engine.generate([list(X_PROMPT)], params)
    assert_same(a, b)


def test_recorded_seed_reproduces_an_unseeded_request(tiny_parts):
    [a] = run(tiny_parts, [spec(X_PROMPT, max_tokens=15, **RANDOM)])  # seed=None: the engine draws one
    assert isinstance(a.seed, int)
    [b] = run(tiny_parts, [spec(X_PROMPT, max_tokens=15, seed=a.seed, **RANDOM)])
    assert_same(a, b)


def test_different_seeds_give_different_trajectories(tiny_parts):
    trajs = run(tiny_parts, [spec(X_PROMPT, seed=s, max_tokens=20, **RANDOM) for s in (1, 2, 3)])
    responses = [tuple(t.response_ids) for t in trajs]
    assert len(set(responses)) == 3
    # and not merely one late token apart: independent streams disagree almost everywhere
    for i in range(3):
        for j in range(i + 1, 3):
            same = sum(p == q for p, q in zip(responses[i], responses[j]))
            assert same < len(responses[i]) // 2


def test_sequential_and_parallel_streams_differ_only_where_the_format_does(tiny_parts):
    """Free sampling from a random model never writes a tag, so both modes walk the same trunk stream."""
    par, seq = run(tiny_parts, [spec(X_PROMPT, seed=9, max_tokens=20, **RANDOM),
                           spec(X_PROMPT, mode="sequential", seed=9, max_tokens=20, **RANDOM)])  # fmt: skip
    assert par.mode == "parallel" and seq.mode == "sequential"
    tags = set(tiny_parts[1].convert_tokens_to_ids(["<guideline>", "<step>", "</step>", "<takeaway>"]))
    assert not tags & set(seq.response_ids)  # the premise: no structure was sampled
    assert_same(par, seq)


def test_preempted_requests_are_recomputed_to_the_same_output(tiny_parts):
    specs = [
        spec(range(1000, 1020), seed=21, max_tokens=30, **RANDOM),
        spec(range(2000, 2020), shape=[[3, 4]], seed=22, max_tokens=60),
        spec(range(3000, 3018), mode="sequential", seed=23, max_tokens=30, **RANDOM),
        spec(range(4000, 4022), seed=24, max_tokens=28, **RANDOM),
        spec(range(5000, 5015), shape=[[2], [2, 2]], seed=25, max_tokens=60),
    ]
    big = [run(tiny_parts, [s])[0] for s in specs]  # alone, with room to spare
    # Each request fits in 100 slots on its own, but not all five at once.
    for t in big:
        assert len(t.token_ids) <= 100
    tight = run(tiny_parts, specs, kv_budget=100, max_batch_tokens=32)
    assert max(t.stats["preemptions"] for t in tight) > 0, "the store was meant to force preemption"
    for a, b in zip(big, tight):
        assert a.stats["preemptions"] == 0
        assert_same(a, b)
