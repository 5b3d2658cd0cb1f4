"""The parity invariant (DESIGN §3): the engine's log-prob of every response token equals the training forward's.

Trajectories are steered through real decode steps along NPR shapes (1, 2, 4 and 8 branches, several blocks,
unequal branch lengths, branches cut at their budget), sampled freely, and replayed.
"""

from __future__ import annotations

import pytest

from npr.engine import SamplingParams
from npr.topology import SegmentKind

from .parity import max_logprob_diff

TOL = 1e-4
PROMPTS = [[1000 + i for i in range(12)], [2000 + i for i in range(7)]]


def run_steered(engine, shape, params=None, prompt=None, mode="parallel"):
    rid = engine.submit(prompt or PROMPTS[0], params or SamplingParams(seed=0), mode, steer=engine.shape_steer(shape))
    while engine.has_work():
        engine.step()
    return engine._results.pop(rid)


@pytest.mark.parametrize(
    "arch, tie, shape",
    [
        ("qwen3", False, [[6]]),
        ("qwen3", True, [[3, 9]]),
        ("llama", False, [[5, 1, 8, 3]]),
        ("llama", True, [[2, 4, 6, 8, 10, 12, 3, 1]]),
        ("qwen3", False, [[4, 7], [3], [2, 5, 9]]),
    ],
)
def test_steered_trajectories(make_engine, arch, tie, shape):
    engine = make_engine(arch, tie)
    traj = run_steered(engine, shape)
    assert traj.finish_reason == "stop"
    assert traj.stats["branches_per_block"] == [len(b) for b in shape]
    steps = [s for s in traj.segments if s.kind is SegmentKind.STEP]
    assert len(steps) == sum(len(b) for b in shape)
    assert max_logprob_diff(engine.model, traj, engine.tags) < TOL


def test_branches_cut_at_their_budget(make_engine):
    engine = make_engine("qwen3")
    traj = run_steered(engine, [[3, 40, 50]], SamplingParams(seed=0, max_tokens=30))
    assert traj.finish_reason == "length"
    assert traj.stats["critical_path_tokens"] <= 30
    forced_closes = [
        i for i, (t, s) in enumerate(zip(traj.token_ids, traj.sampled))
        if i >= traj.prompt_len and t == engine.tags.step_close and not s
    ]  # fmt: skip
    assert len(forced_closes) == 2, "the two long branches were force-closed"
    assert max_logprob_diff(engine.model, traj, engine.tags) < TOL


def test_total_budget_cuts_branches(make_engine):
    engine = make_engine("llama", tie=True)
    traj = run_steered(engine, [[30, 30, 30, 30]], SamplingParams(seed=0, max_tokens=200, max_total_tokens=220))
    assert traj.stats["total_tokens"] <= 220
    assert max_logprob_diff(engine.model, traj, engine.tags) < TOL


@pytest.mark.parametrize("mode", ["parallel", "sequential"])
def test_freely_sampled_trajectories(make_engine, mode):
    engine = make_engine("qwen3", tie=True)
    trajs = engine.generate(PROMPTS, SamplingParams(seed=7, max_tokens=25, top_k=50, top_p=0.95), mode=mode)
    for traj in trajs:
        assert traj.stats["total_tokens"] > 0
        assert max_logprob_diff(engine.model, traj, engine.tags) < TOL


def test_batched_steered_requests_with_shared_prefix(make_engine):
    engine = make_engine("qwen3")
    shapes = [[[2, 5]], [[4, 4, 4]], [[1], [6, 2]]]
    rids = [engine.submit(PROMPTS[0], SamplingParams(seed=i), steer=engine.shape_steer(s)) for i, s in enumerate(shapes)]
    while engine.has_work():
        engine.step()
    for rid in rids:
        assert max_logprob_diff(engine.model, engine._results.pop(rid), engine.tags) < TOL


def test_replay_reproduces_a_trajectory(make_engine):
    engine = make_engine("llama")
    traj = run_steered(engine, [[3, 6], [2, 2, 2]])
    again = engine.replay(traj.prompt_ids, traj.response_ids)
    assert again.token_ids == traj.token_ids
    assert again.position_ids == traj.position_ids
    assert again.sampled == traj.sampled, "replay marks the engine's own headers as forced"
    assert max(abs(a - b) for a, b in zip(again.logprobs[traj.prompt_len :], traj.logprobs[traj.prompt_len :])) < TOL
    assert max_logprob_diff(engine.model, again, engine.tags) < TOL


def test_replay_of_a_truncated_trajectory(make_engine):
    engine = make_engine("qwen3")
    traj = run_steered(engine, [[4, 6]])
    cut = traj.response_ids[: len(traj.response_ids) // 2]
    again = engine.replay(traj.prompt_ids, cut)
    assert again.response_ids == cut
    assert max_logprob_diff(engine.model, again, engine.tags) < TOL


def test_smollm2_parity(smollm2):
    from npr.engine import Engine, EngineConfig

    model, tok = smollm2
    engine = Engine(model, tok, EngineConfig(kv_budget=4096))
    prompt = engine.tokenizer.encode("What is 17*23?")
    traj = run_steered(engine, [[5, 9], [3]], prompt=prompt)
    assert max_logprob_diff(model, traj, engine.tags) < TOL
    [free] = engine.generate([prompt], SamplingParams(seed=1, max_tokens=20))
    assert max_logprob_diff(model, free, engine.tags) < TOL


def test_replay_of_a_sequential_trajectory(make_engine):
    engine = make_engine("qwen3", tie=True)
    [traj] = engine.generate([PROMPTS[1]], SamplingParams(seed=3, max_tokens=15), mode="sequential")
    again = engine.replay(traj.prompt_ids, traj.response_ids, mode="sequential")
    assert again.mode == "sequential" and again.token_ids == traj.token_ids
    assert again.position_ids == traj.position_ids
    assert max(abs(a - b) for a, b in zip(again.logprobs[traj.prompt_len :], traj.logprobs[traj.prompt_len :])) < TOL


def test_replay_keeps_given_sampled_flags(make_engine):
    """Force-closed tokens are not headers: replay takes the original flags when it is given them."""
    engine = make_engine("qwen3")
    traj = run_steered(engine, [[3, 40]], SamplingParams(seed=0, max_tokens=25))
    assert traj.stats["forced_tokens"] > 2 * len(engine._headers(1).step[0]), "a branch was force-closed"
    again = engine.replay(traj.prompt_ids, traj.response_ids, sampled=traj.sampled[traj.prompt_len :])
    assert again.sampled == traj.sampled
    assert max_logprob_diff(engine.model, again, engine.tags) < TOL
