"""The RL trainer end to end on a tiny model: each algorithm steps, learns a preferred answer, refills with dynamic
sampling, and keeps its rollouts on-policy by flushing the engine's prefix cache after every optimizer step."""

from __future__ import annotations

import math

import pytest
import torch

from npr.train.config import RLConfig
from npr.train.config.loader import from_dict
from npr.train.rl.trainer import RLTrainer, to_items

from .helpers import register_test_rewards, rl_dict, write_jsonl

SEVEN = 9  # the character tokenizer's id of "7"

register_test_rewards()


@pytest.fixture
def prompts(tmp_path):
    rows = [{"id": f"p{i}", "prompt_ids": [2 + i, 3 + i, 4 + i], "answer": str(i)} for i in range(4)]
    return write_jsonl(tmp_path / "prompts.jsonl", rows)


def trainer(char_tokenizer_dir, prompts, out, **over) -> RLTrainer:
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, prompts, **over))
    return RLTrainer(cfg, out, progress=False, log=lambda m: None)


def params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("algo", ["papo", "dapo", "grpo"])
def test_one_step_changes_the_parameters_and_logs_finite_metrics(char_tokenizer_dir, prompts, tmp_path, algo):
    t = trainer(char_tokenizer_dir, prompts, tmp_path / "run", algorithm={"name": algo},
                reward={"terms": {"prefers_7": 1.0}}, rollout={"max_tokens": 4, "group_size": 8})  # fmt: skip
    before = params(t.model)
    record = t.step()
    after = params(t.model)
    assert record["optimizer_steps"] >= 1
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
    for key in ("reward_mean", "reward_std", "format_valid", "parallel_rate", "branches_per_block", "total_tokens",
                "critical_path_tokens", "advantage_mean", "advantage_std", "loss", "grad_norm", "clip_frac",
                "entropy", "lr", "rollout_tokens_per_s", "update_tokens_per_s", "logprob_mismatch_max",
                "logprob_mismatch_mean", "gen_rounds"):  # fmt: skip
        assert record[key] is not None and math.isfinite(record[key]), key
    assert record["logprob_mismatch_max"] < 1e-4  # round-off, not a rollout/trainer mismatch
    if algo == "grpo":
        assert record["kl"] is not None and record["kl"] >= 0  # k3 against the frozen initial policy


@pytest.mark.parametrize("algo", ["papo", "dapo", "grpo"])
def test_rl_raises_the_rate_of_the_preferred_answer(char_tokenizer_dir, prompts, tmp_path, algo):
    """20 steps with a reward that prefers "7" as the first token raise its rate (about 1 in 10 at the start)."""
    t = trainer(char_tokenizer_dir, prompts, tmp_path / "run", algorithm={"name": algo},
                reward={"terms": {"prefers_7": 1.0}}, max_steps=20, lr=2e-2,
                rollout={"max_tokens": 1, "group_size": 8, "prompts_per_step": 4})  # fmt: skip
    records = [t.step() for _ in range(20)]
    rate = lambda rs: sum((r["reward/prefers_7"] + 1) / 2 for r in rs) / len(rs)  # noqa: E731  term = 2 rate - 1
    first, last = rate(records[:1]), rate(records[-3:])  # step 1's rollouts come from the initial policy
    assert first < 0.25
    assert last > max(0.5, first + 0.3), (first, last)


def test_dynamic_sampling_drops_equal_groups_and_refills(char_tokenizer_dir, prompts, tmp_path):
    t = trainer(char_tokenizer_dir, prompts, tmp_path / "run", algorithm={"name": "dapo", "max_gen_rounds": 6},
                reward={"terms": {"seven_unless_prompt_0": 1.0}},
                rollout={"max_tokens": 1, "group_size": 4, "prompts_per_step": 2})  # fmt: skip
    records = [t.step() for _ in range(4)]
    assert sum(r["dropped_groups/equal_rewards"] for r in records) > 0
    assert max(r["gen_rounds"] for r in records) > 1
    for r in records:  # whole groups with some spread, never more than the batch asks for
        assert r["kept_groups"] <= 2
        assert r["dropped_groups/equal_rewards"] + r["dropped_groups/too_few_kept"] + r["kept_groups"] == r["rollouts"] // 4
    assert t.stream.consumed > 2 * 4  # more prompts than 2 per step were drawn


def test_prefix_cache_is_flushed_after_every_optimizer_step(char_tokenizer_dir, prompts, tmp_path):
    """Generate, take an optimizer step, generate again: the new log-probs are those of the new weights.

    The control shows why: without the flush, the cached prompt KV of the old weights makes the engine's
    log-probs differ from the trainer's.
    """
    from npr.engine import SamplingParams
    from npr.train.forward import token_logprobs

    t = trainer(char_tokenizer_dir, prompts, tmp_path / "run", reward={"terms": {"prefers_7": 1.0}},
                rollout={"max_tokens": 6, "group_size": 8}, lr=5e-2)  # fmt: skip
    model = t.accelerator.unwrap_model(t.model)
    prompt = [2, 3, 4, 5, 6, 7, 8]
    sp = SamplingParams(seed=1, max_tokens=6)

    def mismatch():
        [traj] = t.engine.generate([prompt], sp, mode="sequential")
        lp = token_logprobs(model, traj.token_ids, t.tags, traj.prompt_len, parallel=False).detach()
        return float((lp - torch.tensor(traj.logprobs[traj.prompt_len :])).abs().max())

    assert mismatch() < 1e-4  # fills the prefix cache with this prompt
    assert t.engine.kv.num_used > 0  # the prefix cache holds the prompt's KV
    record = t.step()
    assert record["optimizer_steps"] == 1
    assert t.engine.kv.num_used == 0  # flushed: nothing cached under the old weights
    assert mismatch() < 1e-4

    # Control: fill the cache, change the weights without the flush, decode the same prompt again.
    mismatch()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    assert mismatch() > 1e-3


def test_nothing_kept_skips_the_update(char_tokenizer_dir, prompts, tmp_path):
    """PAPO's structural filter drops every rollout of a model that writes no format: no optimizer step."""
    t = trainer(char_tokenizer_dir, prompts, tmp_path / "run", algorithm={"name": "papo", "filters": ["invalid"]},
                reward={"terms": {"prefers_7": 1.0}})  # fmt: skip
    before = params(t.model)
    record = t.step()
    assert record["kept_rollouts"] == 0 and record["skipped_update"] == 1
    assert record["dropped/invalid"] == record["rollouts"] == 8
    assert all(torch.equal(a, b) for a, b in zip(before, params(t.model)))


def test_to_items_marks_sampled_tokens_only(char_tokenizer_dir, prompts, tmp_path):
    t = trainer(char_tokenizer_dir, prompts, tmp_path / "run", reward={"terms": {"prefers_7": 1.0}})
    collected = t.collector.collect()
    items = to_items(collected.kept, "papo")
    for item, r in zip(items, collected.kept):
        p = r.traj.prompt_len
        assert item.mask.tolist() == r.traj.sampled[p:]
        assert len(item.engine_logp) == len(r.traj.token_ids) - p
