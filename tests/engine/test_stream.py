"""Engine.stream yields token, fork, join and finish events that tell the whole story of each request."""

from __future__ import annotations

from npr.engine import SamplingParams


def test_stream_events_follow_the_tree(make_engine):
    engine = make_engine("qwen3")
    shape = [[3, 5], [2, 2, 4]]
    steer = engine.shape_steer(shape)
    rid = engine.submit([1000 + i for i in range(9)], SamplingParams(seed=0), steer=steer)
    events = []
    while engine.has_work():
        events += engine.step()
    kinds = [e.kind for e in events]
    assert kinds[-1] == "finish" and kinds.count("finish") == 1
    traj = events[-1].trajectory
    assert traj.request_id == rid and traj.finish_reason == "stop"
    forks = [e for e in events if e.kind == "fork"]
    assert [(e.block, e.branches) for e in forks] == [(0, 2), (1, 3)]
    assert [e.block for e in events if e.kind == "join"] == [0, 1]
    tokens = [e for e in events if e.kind == "token"]
    assert len(tokens) == traj.stats["total_tokens"]
    assert sorted(e.token_id for e in tokens) == sorted(traj.response_ids)
    for b, widths in enumerate(shape):
        for i in range(len(widths)):
            mine = [e for e in tokens if e.block == b and e.branch == i]
            assert mine[-1].token_id == engine.tags.step_close
    assert sum(not e.sampled for e in tokens) == traj.stats["forced_tokens"]


def test_stream_api_interleaves_requests(make_engine):
    engine = make_engine("llama")
    prompts = [[1000 + i for i in range(6)], [3000 + i for i in range(4)]]
    seen = list(engine.stream(prompts, SamplingParams(seed=1, max_tokens=8), mode="sequential"))
    finishes = [e for e in seen if e.kind == "finish"]
    assert {e.request_id for e in finishes} == {e.request_id for e in seen}
    assert len(finishes) == 2 and all(e.trajectory.stats["total_tokens"] <= 8 for e in finishes)
    first_finish = seen.index(finishes[0])
    assert {e.request_id for e in seen[:first_finish]} == {f.request_id for f in finishes}, "decoded side by side"


def test_abort_returns_partial_trajectory_and_frees_slots(make_engine):
    engine = make_engine("qwen3", prefix_cache=False)
    rid = engine.submit([1000 + i for i in range(9)], SamplingParams(seed=0), steer=engine.shape_steer([[30, 30]]))
    for _ in range(12):
        engine.step()
    traj = engine.abort(rid)
    assert traj.finish_reason == "aborted" and 0 < traj.stats["total_tokens"]
    assert engine.kv.num_used == 0 and not engine.has_work()
    engine.kv.check()
    assert engine.abort("no-such-request") is None
