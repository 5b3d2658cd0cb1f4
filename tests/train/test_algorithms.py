"""Advantage estimators, policy losses, KL penalties and loss aggregation against slow, obvious loop references."""

from __future__ import annotations

import math
import random

import pytest
import torch

from npr.train import advantages
from npr.train.aggregation import token_weights
from npr.train.losses import KL_PENALTIES, POLICY_LOSSES


def random_batch(seed: int, n_groups: int = 5, max_size: int = 6):
    rng = random.Random(seed)
    rewards, groups = [], []
    for g in range(n_groups):
        for _ in range(rng.randint(2, max_size)):
            rewards.append(rng.choice([-1.0, 1.0, -2.0, 0.5, rng.uniform(-2, 1)]))
            groups.append(g * 7 + 3)  # any integer ids
    order = list(range(len(rewards)))
    rng.shuffle(order)  # group members need not be contiguous
    return [rewards[i] for i in order], [groups[i] for i in order]


def slow_stats(rewards, groups):
    members = {}
    for r, g in zip(rewards, groups):
        members.setdefault(g, []).append(r)
    mean = {g: sum(v) / len(v) for g, v in members.items()}
    std = {g: math.sqrt(sum((x - mean[g]) ** 2 for x in v) / (len(v) - 1)) for g, v in members.items()}
    return mean, std


def slow_reference(name, rewards, groups):
    mean, std = slow_stats(rewards, groups)
    n = len(rewards)
    mu = sum(rewards) / n
    batch_std = math.sqrt(sum((x - mu) ** 2 for x in rewards) / (n - 1))
    out = []
    for r, g in zip(rewards, groups):
        if name == "grpo":
            out.append((r - mean[g]) / (std[g] + 1e-6))
        elif name == "dr_grpo":
            out.append(r - mean[g])
        else:
            out.append((r - mean[g]) / (batch_std + 1e-6))
    return out


@pytest.mark.parametrize("name", ["grpo", "dr_grpo", "papo"])
@pytest.mark.parametrize("seed", range(6))
def test_advantages_match_the_loop_reference(name, seed):
    rewards, groups = random_batch(seed)
    got = advantages(name, torch.tensor(rewards, dtype=torch.float64), torch.tensor(groups))
    want = slow_reference(name, rewards, groups)
    assert got.tolist() == pytest.approx(want, abs=1e-9)


def test_papo_uses_one_batch_std_computed_once(monkeypatch):
    rewards, groups = random_batch(11)
    calls = []
    real_std = torch.std

    def counting_std(*args, **kwargs):
        calls.append(args)
        return real_std(*args, **kwargs)

    monkeypatch.setattr(torch, "std", counting_std)
    got = advantages("papo", torch.tensor(rewards), torch.tensor(groups))
    assert len(calls) == 1, "the batch std is computed exactly once"
    # The std is of the rewards as given: the reference's in-place loop overwrote them while recomputing it.
    assert got.tolist() == pytest.approx(slow_reference("papo", rewards, groups), abs=1e-5)


def test_equal_rewards_give_zero_advantage_not_nan():
    for name in ("grpo", "dr_grpo", "papo"):
        got = advantages(name, torch.tensor([1.0, 1.0, -1.0, -1.0]), torch.tensor([0, 0, 1, 1]))
        assert got.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_advantages_refuse_bad_input():
    with pytest.raises(ValueError, match="at least two rollouts"):
        advantages("grpo", torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="unknown advantage estimator 'gpro'.*did you mean 'grpo'"):
        advantages("gpro", torch.tensor([1.0, 0.0]), torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="NaN"):
        advantages("papo", torch.tensor([1.0, float("nan")]), torch.tensor([0, 0]))


def random_tokens(seed: int, n: int = 40):
    g = torch.Generator().manual_seed(seed)
    logp = -torch.rand(n, generator=g, dtype=torch.float64) * 3
    old = logp + (torch.rand(n, generator=g, dtype=torch.float64) - 0.5) * 0.8
    adv = torch.randn(n, generator=g, dtype=torch.float64)
    return logp, old, adv


@pytest.mark.parametrize("seed", range(4))
def test_ppo_clip_matches_the_loop_reference(seed):
    logp, old, adv = random_tokens(seed)
    loss, clipped = POLICY_LOSSES.get("ppo_clip")(logp, old, adv, 0.2, 0.28)
    for i in range(len(logp)):
        ratio = math.exp(float(logp[i] - old[i]))
        a = float(adv[i])
        unclipped = ratio * a
        clipped_obj = min(max(ratio, 0.8), 1.28) * a
        assert float(loss[i]) == pytest.approx(-min(unclipped, clipped_obj), abs=1e-12)
        assert bool(clipped[i]) == (clipped_obj < unclipped)


def test_ppo_clip_gradient_stops_where_the_clip_binds():
    logp, old, adv = random_tokens(7)
    logp = logp.clone().requires_grad_(True)
    loss, clipped = POLICY_LOSSES.get("ppo_clip")(logp, old, adv, 0.2, 0.28)
    loss.sum().backward()
    assert clipped.any() and (~clipped).any()
    assert torch.all(logp.grad[clipped] == 0)
    ratio = torch.exp(logp.detach() - old)
    assert torch.allclose(logp.grad[~clipped], (-adv * ratio)[~clipped])


def test_reinforce_is_on_policy():
    logp, old, adv = random_tokens(3)
    logp = logp.clone().requires_grad_(True)
    loss, clipped = POLICY_LOSSES.get("reinforce")(logp, old, adv)
    assert torch.allclose(loss.detach(), -adv)  # the ratio pi/sg(pi) is exactly 1
    assert not clipped.any()
    loss.sum().backward()
    assert torch.allclose(logp.grad, -adv)  # gradient -A * grad log pi, no importance weight


def test_kl_penalties():
    logp, ref, _ = random_tokens(5)
    for i in range(len(logp)):
        d = float(ref[i] - logp[i])
        assert float(KL_PENALTIES.get("k1")(logp, ref)[i]) == pytest.approx(-d)
        assert float(KL_PENALTIES.get("k3")(logp, ref)[i]) == pytest.approx(math.exp(d) - d - 1)
    assert torch.all(KL_PENALTIES.get("k3")(logp, ref) >= 0)


@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"])
@pytest.mark.parametrize("seed", range(4))
def test_aggregation_matches_the_loop_reference(mode, seed):
    rng = random.Random(seed)
    lengths = [rng.randint(1, 12) for _ in range(rng.randint(1, 6))]
    losses = [[rng.uniform(-2, 2) for _ in range(n)] for n in lengths]
    seq_index = torch.tensor([s for s, n in enumerate(lengths) for _ in range(n)])
    flat = torch.tensor([x for row in losses for x in row], dtype=torch.float64)
    w = token_weights(mode, seq_index, len(lengths), norm_length=16.0).double()
    got = float((w * flat).sum())
    if mode == "token-mean":
        want = sum(sum(r) for r in losses) / sum(lengths)
    elif mode == "seq-mean-token-mean":
        want = sum(sum(r) / len(r) for r in losses) / len(losses)
    else:
        want = sum(sum(r) / 16.0 for r in losses) / len(losses)
    assert got == pytest.approx(want, abs=1e-6)


def test_aggregation_weights_split_over_micro_batches():
    """Weights come from the whole mini-batch, so summing micro-batch losses gives the mini-batch loss."""
    seq_index = torch.tensor([0, 0, 0, 1, 2, 2])
    flat = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    for mode in ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum-norm"):
        w = token_weights(mode, seq_index, 3, 8.0)
        whole = float((w * flat).sum())
        parts = float((w[:4] * flat[:4]).sum()) + float((w[4:] * flat[4:]).sum())
        assert whole == pytest.approx(parts)
