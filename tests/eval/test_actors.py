"""npr eval and npr distill on Ray: two engine actors give what one process gives, and an actor killed mid-run
is restarted with its batch sent again, so every sample is on disk exactly once."""

from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray", reason="Ray is a dev dependency: make test installs it")

from npr.cli import main  # noqa: E402
from npr.eval.actors import ActorEngines  # noqa: E402

pytestmark = [pytest.mark.distributed, pytest.mark.slow]
TIMING = {"elapsed", "session"}
TRAJ_TIMING = {"wall_time", "preemptions"}


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray for the module (the actors' processes and ports go with it at the end)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def comparable(path, key) -> dict:
    """Records by key, without what timing decides; log-probs rounded (other batch shapes, other round-off)."""
    out = {}
    lines = path.read_text().splitlines()
    for line in lines:
        r = {k: v for k, v in json.loads(line).items() if k not in TIMING}
        r["stats"] = {k: v for k, v in r["stats"].items() if k not in TRAJ_TIMING}
        if "trajectory" in r:
            t = r["trajectory"] = dict(r["trajectory"])
            t.pop("request_id")
            t["stats"] = {k: v for k, v in t["stats"].items() if k not in TRAJ_TIMING}
            t["logprobs"] = [None if x is None else round(x, 3) for x in t["logprobs"]]
        assert key(r) not in out, f"{key(r)} is on disk twice"
        out[key(r)] = r
    return out


def eval_args(model, out, *extra):
    return ["eval", "--model", str(model), "--benchmark", "toy-products-4", "--limit", "4", "--k", "3",
            "--max-tokens", "24", "--out", str(out), "--json", *extra]  # fmt: skip


def eval_key(r):
    return (r["benchmark"], r["item_id"], r["sample"])


def test_eval_on_two_actors_equals_one_process(toy_model_dir, tmp_path, capsys):
    assert main(eval_args(toy_model_dir, tmp_path / "one")) == 0
    assert main(eval_args(toy_model_dir, tmp_path / "ray", "--ray", "--actors", "2")) == 0
    one, two = (comparable(tmp_path / d / "results.jsonl", eval_key) for d in ("one", "ray"))
    assert len(one) == 12 and one == two
    summaries = [json.loads((tmp_path / d / "summary.json").read_text()) for d in ("one", "ray")]
    assert [s["benchmarks"] for s in summaries][0].keys() == summaries[1]["benchmarks"].keys()


def test_distill_on_two_actors_equals_one_process(toy_model_dir, tmp_path):
    data = tmp_path / "problems.jsonl"
    data.write_text("".join(json.dumps({"id": f"p{i}", "question": f"{i}*3", "answer": str(3 * i)}) + "\n"
                            for i in range(5)))  # fmt: skip
    common = ["distill", "--model", str(toy_model_dir), "--data", str(data), "--k", "3", "--max-tokens", "16", "--json"]
    assert main([*common, "--out", str(tmp_path / "one")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray"), "--ray", "--actors", "2"]) == 0

    def key(r):
        return (r["problem_id"], r["sample"])

    one, two = (comparable(tmp_path / d / "samples.jsonl", key) for d in ("one", "ray"))
    assert len(one) == 15 and one == two  # a noise model keeps nothing: every problem draws all k samples
    assert (tmp_path / "one" / "corpus.jsonl").read_text() == (tmp_path / "ray" / "corpus.jsonl").read_text()


class KillsAnActor(ActorEngines):
    """Kills actor 0 (Ray restarts it) once, while it decodes a batch and after some batch has come back."""

    killed = 0
    returned = 0

    def dispatch(self):
        super().dispatch()
        if not KillsAnActor.killed and self.returned and 0 in self.busy():
            ray.kill(self.actors[0], no_restart=False)
            KillsAnActor.killed += 1

    def step(self):
        events = super().step()
        self.returned += bool(events)
        return events


def test_a_killed_actor_is_restarted_and_every_sample_is_written_once(toy_model_dir, tmp_path):
    from npr.eval.config import EvalConfig
    from npr.eval.runner import run_eval

    assert main(eval_args(toy_model_dir, tmp_path / "one")) == 0
    config = EvalConfig(model=str(toy_model_dir), benchmarks=("toy-products-4",), limit=4, k=3, max_tokens=24, batch=2)
    engines = KillsAnActor(str(toy_model_dir), actors=2, kv_budget=config.kv_budget)
    try:
        run_eval(config, tmp_path / "ray", engine=engines, progress=False, log=lambda m: None)
    finally:
        engines.close()
    assert KillsAnActor.killed == 1
    one, two = (comparable(tmp_path / d / "results.jsonl", eval_key) for d in ("one", "ray"))
    assert len(two) == 12 and one == two
