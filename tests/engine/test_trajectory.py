"""Trajectories survive a JSON round trip and describe themselves consistently."""

from __future__ import annotations

import json

from npr.engine import SamplingParams, Trajectory
from npr.engine.tree import render_tree
from npr.topology import SegmentKind


def test_json_round_trip_and_tree(make_engine):
    engine = make_engine("qwen3")
    rid = engine.submit([1000 + i for i in range(8)], SamplingParams(seed=0), steer=engine.shape_steer([[2, 4]]))
    while engine.has_work():
        engine.step()
    traj = engine._results.pop(rid)
    again = Trajectory.from_dict(json.loads(json.dumps(traj.to_dict())))
    assert again == traj
    assert traj.stats["total_tokens"] == len(traj.response_ids)
    assert traj.stats["critical_path_tokens"] == max(traj.position_ids) - traj.prompt_len + 1
    steps = [s for s in traj.segments if s.kind is SegmentKind.STEP]
    assert traj.stats["total_tokens"] - traj.stats["critical_path_tokens"] == len(steps[0])
    tree = render_tree(traj, engine.tokenizer)
    assert "block 1" in tree and "branch 2 (" in tree and "takeaway:" in tree and "finish: stop" in tree
