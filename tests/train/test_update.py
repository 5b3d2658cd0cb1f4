"""The policy update on real parallel trajectories (forced headers, forks, cut branches): which tokens get a
gradient, micro-batching, pi_old, and the logprob_mismatch measurement."""

from __future__ import annotations

import copy

import pytest
import torch
from accelerate import Accelerator

from npr.engine import Engine, EngineConfig, SamplingParams
from npr.train.config import RLConfig
from npr.train.config.loader import from_dict
from npr.train.packing import Sample
from npr.train.rl import update as update_module
from npr.train.rl.update import PolicyUpdate, TrainItem

PROMPT = [1000 + i for i in range(10)]
SHAPES = [([[3, 5]], 200), ([[2, 2, 4, 1]], 200), ([[4], [3, 6]], 200), ([[3, 40, 50]], 30)]


@pytest.fixture(scope="module")
def steered(tiny_policy):
    model, tok = tiny_policy
    engine = Engine(model, tok, EngineConfig())
    out = []
    for seed, (shape, mt) in enumerate(SHAPES):
        rid = engine.submit(PROMPT, SamplingParams(seed=seed, max_tokens=mt), steer=engine.shape_steer(shape))
        while engine.has_work():
            engine.step()
        out.append(engine.take(rid))
    return engine, out


def items_of(trajs, advantages=(1.0, -0.5, 0.25, -1.0)) -> list[TrainItem]:
    items = []
    for k, (t, a) in enumerate(zip(trajs, advantages)):
        p = t.prompt_len
        lp = [float("nan") if x is None else x for x in t.logprobs[p:]]
        items.append(TrainItem(Sample(t.token_ids, p), group=k // 2, advantage=a,
                               mask=torch.tensor(t.sampled[p:]), engine_logp=torch.tensor(lp)))  # fmt: skip
    return items


def make_update(model, tags, algo="papo", sgd=False, **over):
    cfg = from_dict(RLConfig, {
        "model": {"init": {"model_type": "qwen3"}, "tokenizer": "unused"}, "data": {"path": "unused"},
        "rollout": {"prompts_per_step": 2, "group_size": 2}, "algorithm": {"name": algo, **over.pop("algorithm", {})},
        **{"lr": 1e-3, **over},
    })  # fmt: skip
    acc = Accelerator(cpu=True)
    opt = (torch.optim.SGD if sgd else torch.optim.AdamW)(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
    flushes = []
    upd = PolicyUpdate(accelerator=acc, model=model, optimizer=opt, scheduler=sched, tags=tags, config=cfg, pad_id=0,
                       ref_model=copy.deepcopy(model) if cfg.algorithm.kl != "none" else None,
                       after_step=lambda: flushes.append(1))  # fmt: skip
    return upd, flushes


def capture_token_grads(monkeypatch):
    """Record d loss / d logp of every scored token, per micro-batch, with the batch's sample sizes."""
    seen = []
    real = update_module.score

    def spy(model, batch, **kw):
        s = real(model, batch, **kw)
        if s.logp.requires_grad:
            entry = {"offsets": list(batch.offsets), "grad": None}
            seen.append(entry)
            s.logp.register_hook(lambda g: entry.__setitem__("grad", g.detach().clone()))
        return s

    monkeypatch.setattr(update_module, "score", spy)
    return seen


@pytest.mark.parametrize("algo", ["papo", "dapo", "grpo"])
def test_forced_and_prompt_tokens_get_exactly_zero_gradient(steered, tiny_qwen3, npr_tokenizer, monkeypatch, algo):
    engine, trajs = steered
    model = copy.deepcopy(engine.model)
    items = items_of(trajs)
    assert all((~i.mask).any() for i in items), "every trajectory has forced tokens (headers, force-closes)"
    seen = capture_token_grads(monkeypatch)
    upd, flushes = make_update(model, engine.tags, algo)
    metrics = upd.run(items, step=1)
    assert flushes == [1] * metrics["optimizer_steps"]
    grads = torch.cat([e["grad"] for e in seen])
    # Targets are exactly the response tokens, so prompt tokens have no loss term at all.
    assert grads.numel() == sum(len(i.mask) for i in items)
    mask = torch.cat([i.mask for i in items])
    assert torch.all(grads[~mask] == 0), "forced tokens get exactly zero gradient"
    assert (grads[mask] != 0).float().mean() > 0.9


def test_dropped_rollouts_never_reach_the_update(steered, monkeypatch):
    engine, trajs = steered
    seen = capture_token_grads(monkeypatch)
    upd, _ = make_update(copy.deepcopy(engine.model), engine.tags)
    kept = items_of(trajs)[:2]  # the other two were "filtered": to_items builds items from kept rollouts only
    upd.run(kept, step=1)
    assert sum(e["offsets"][-1] for e in seen) == sum(len(i.mask) for i in kept)


@pytest.mark.parametrize("algo", ["papo", "dapo"])
def test_micro_batching_changes_nothing(steered, algo):
    engine, trajs = steered
    results = []
    for budget in (64, 100_000):
        model = copy.deepcopy(engine.model)
        # SGD: the step is lr x gradient, so equal gradients mean equal parameters (Adam would magnify round-off).
        upd, _ = make_update(model, engine.tags, algo, sgd=True, micro_batch_tokens=budget, lr=1.0)
        m = upd.run(items_of(trajs), step=1)
        results.append((m["loss"], [p.detach().clone() for p in model.parameters()]))
    (loss_a, pa), (loss_b, pb) = results
    assert loss_a == pytest.approx(loss_b, abs=1e-6)
    assert max(float((a - b).abs().max()) for a, b in zip(pa, pb)) < 1e-6


def test_mismatch_is_round_off_and_pi_old_recomputed_at_temperature(steered):
    engine, trajs = steered
    upd, _ = make_update(copy.deepcopy(engine.model), engine.tags, "dapo")
    m = upd.run(items_of(trajs), step=1)
    assert m["logprob_mismatch_max"] < 1e-4
    assert m["logprob_mismatch_tokens"] == sum(int(i.mask.sum()) for i in items_of(trajs))
    assert m["clip_frac"] == 0.0  # pi_old from the engine: the ratio is 1 up to round-off
    upd, _ = make_update(copy.deepcopy(engine.model), engine.tags, "dapo", rollout={"temperature": 0.7,
                         "prompts_per_step": 2, "group_size": 2})  # fmt: skip
    assert upd.recompute
    items = items_of(trajs)
    m = upd.run(items, step=1)
    assert all(i.old_logp is not None for i in items)
    assert m["logprob_mismatch_max"] < 1e-4  # measured at temperature 1 in the pi_old pass


def test_ppo_epochs_and_mini_batches(steered):
    engine, trajs = steered
    upd, flushes = make_update(copy.deepcopy(engine.model), engine.tags, "dapo",
                               algorithm={"epochs": 2, "mini_batches": 2})  # fmt: skip
    m = upd.run(items_of(trajs), step=1)
    assert m["optimizer_steps"] == 4 and len(flushes) == 4
