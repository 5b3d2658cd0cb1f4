"""RL rollouts on Ray engine actors: the same rollouts, rewards and weights as the engine in the trainer's process,
with the actors given the policy's new weights before every step."""

from __future__ import annotations

import json

import pytest

ray = pytest.importorskip("ray", reason="Ray is a dev dependency: make test installs it")

from safetensors.torch import load_file  # noqa: E402

from npr.eval.actors import ActorEngines  # noqa: E402
from npr.train.config import RLConfig  # noqa: E402
from npr.train.config.loader import from_dict  # noqa: E402
from npr.train.rl.trainer import train_rl  # noqa: E402

from .helpers import register_test_rewards, rl_dict, write_jsonl  # noqa: E402

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

register_test_rewards()


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_rollouts_on_two_actors_train_as_in_process(char_tokenizer_dir, tmp_path):
    rows = [{"id": f"p{i}", "prompt_ids": [2 + i, 3 + i, 4 + i]} for i in range(6)]
    prompts = write_jsonl(tmp_path / "prompts.jsonl", rows)
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, prompts, max_steps=3, lr=2e-2, reward={"terms": {"prefers_7": 1.0}},
                                      rollout={"max_tokens": 4, "group_size": 4, "prompts_per_step": 3}))  # fmt: skip
    made = []

    def engines(policy, tokenizer, engine_config):
        made.append(ActorEngines((policy, tokenizer), actors=2, kv_budget=engine_config.kv_budget))
        return made[-1]

    train_rl(cfg, tmp_path / "local", progress=False, log=lambda m: None)
    train_rl(cfg, tmp_path / "ray", progress=False, log=lambda m: None, rollout_engines=engines)
    assert len(made) == 1 and made[0].actors == []  # closed at the end
    logs = [[json.loads(x) for x in (tmp_path / d / "metrics.jsonl").read_text().splitlines()] for d in ("local", "ray")]
    assert [r["reward_mean"] for r in logs[0]] == [r["reward_mean"] for r in logs[1]]
    assert [r["rollouts"] for r in logs[1]] == [12, 12, 12]
    assert any(r["grad_norm"] > 0 for r in logs[0])  # it learned: equal weights are not the trivial kind
    wa, wb = (load_file(str(tmp_path / d / "model" / "model.safetensors")) for d in ("local", "ray"))
    # Without new weights on the actors, steps 2 and 3 would train on the first policy's log-probs: off by ~3e-2.
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-4


class KillsAfterAnUpdate(ActorEngines):
    """Kills actor 0 (Ray restarts it from the first policy) once weights have changed: it must catch up."""

    killed = 0

    def dispatch(self):
        super().dispatch()
        if not KillsAfterAnUpdate.killed and self._weights is not None and self._weights[0] >= 2 and 0 in self.busy():
            ray.kill(self.actors[0], no_restart=False)
            KillsAfterAnUpdate.killed += 1


def test_a_restarted_actor_catches_up_with_the_weights(char_tokenizer_dir, tmp_path):
    rows = [{"id": f"p{i}", "prompt_ids": [2 + i, 3 + i, 4 + i]} for i in range(6)]
    prompts = write_jsonl(tmp_path / "prompts.jsonl", rows)
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, prompts, max_steps=3, lr=2e-2, reward={"terms": {"prefers_7": 1.0}},
                                      rollout={"max_tokens": 4, "group_size": 4, "prompts_per_step": 3}))  # fmt: skip
    train_rl(cfg, tmp_path / "local", progress=False, log=lambda m: None)
    train_rl(cfg, tmp_path / "ray", progress=False, log=lambda m: None,
             rollout_engines=lambda p, t, c: KillsAfterAnUpdate((p, t), actors=2, kv_budget=c.kv_budget))
    assert KillsAfterAnUpdate.killed == 1
    wa, wb = (load_file(str(tmp_path / d / "model" / "model.safetensors")) for d in ("local", "ray"))
    assert max(float((wa[k] - wb[k]).abs().max()) for k in wa) < 1e-4
