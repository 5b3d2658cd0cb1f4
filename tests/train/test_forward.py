"""The one training forward: parity with the engine (the on-policy guarantee), packing, masks and temperature."""

from __future__ import annotations

import pytest
import torch

from npr.engine import Engine, EngineConfig, SamplingParams
from npr.train import Sample, batch_token_logprobs, pack_samples, score, token_logprobs
from npr.train.forward import attention_kind
from npr.train.packing import assign_rows

TOL = 1e-4
PROMPT = [1000 + i for i in range(12)]
# 1, 2, 4 and 8 branches, several blocks, unequal lengths; the last shapes are cut at their budget.
SHAPES = [([[6]], 200), ([[3, 9]], 200), ([[5, 1, 8, 3]], 200), ([[2, 4, 6, 8, 10, 12, 3, 1]], 200),
          ([[4, 7], [3], [2, 5, 9]], 200), ([[3, 40, 50]], 30), ([[30, 30, 30, 30]], 200)]  # fmt: skip


def steered(engine: Engine, shape, max_tokens: int, max_total: int | None = None):
    params = SamplingParams(seed=0, max_tokens=max_tokens, max_total_tokens=max_total)
    rid = engine.submit(PROMPT, params, steer=engine.shape_steer(shape))
    while engine.has_work():
        engine.step()
    return engine.take(rid)


@pytest.fixture(scope="module")
def trajectories(tiny_policy):
    model, tok = tiny_policy
    engine = Engine(model, tok, EngineConfig())
    trajs = [steered(engine, shape, mt) for shape, mt in SHAPES[:-1]]
    trajs.append(steered(engine, SHAPES[-1][0], 200, max_total=220))  # cut by the total budget
    trajs += engine.generate([PROMPT, PROMPT[:5]], SamplingParams(seed=3, max_tokens=40), mode="parallel")
    return engine, trajs


def engine_logprobs(traj) -> torch.Tensor:
    return torch.tensor(traj.logprobs[traj.prompt_len :])


def test_shapes_cover_branch_counts_blocks_and_cuts(trajectories):
    _, trajs = trajectories
    counts = {k for t in trajs for k in t.stats["branches_per_block"]}
    assert {1, 2, 4, 8} <= counts
    assert any(len(t.stats["branches_per_block"]) >= 3 for t in trajs)
    assert sum(t.finish_reason == "length" for t in trajs) >= 2


def test_unpacked_parity_with_the_engine(trajectories):
    engine, trajs = trajectories
    for t in trajs:
        lp = token_logprobs(engine.model, t.token_ids, engine.tags, t.prompt_len)
        assert lp.shape == (len(t.token_ids) - t.prompt_len,)
        assert float((lp.detach() - engine_logprobs(t)).abs().max()) < TOL


@pytest.mark.parametrize("row_tokens", [None, 64, 400, 100_000, "longest"])
def test_packed_parity_with_the_engine(trajectories, row_tokens):
    engine, trajs = trajectories
    samples = [Sample(t.token_ids, t.prompt_len) for t in trajs]
    out = batch_token_logprobs(engine.model, samples, engine.tags, row_tokens=row_tokens)
    for lp, t in zip(out, trajs):
        assert float((lp.detach() - engine_logprobs(t)).abs().max()) < TOL


def test_packing_puts_several_trajectories_in_a_row(trajectories):
    engine, trajs = trajectories
    samples = [Sample(t.token_ids, t.prompt_len) for t in trajs]
    packed = pack_samples(samples, engine.tags, row_tokens=400)
    unpacked = pack_samples(samples, engine.tags)
    assert packed.input_ids.shape[0] < len(samples) == unpacked.input_ids.shape[0]
    assert torch.equal(packed.targets, unpacked.targets)
    assert packed.num_tokens == unpacked.num_tokens == sum(len(t.token_ids) for t in trajs)


def test_longest_rows_are_as_wide_as_the_longest_trajectory():
    lengths = [30, 10, 12, 25, 8, 30]
    rows = assign_rows(lengths, "longest")
    assert sorted(i for r in rows for i in r) == list(range(len(lengths)))
    assert max(sum(lengths[i] for i in r) for r in rows) == 30  # no row wider than the longest sample
    assert len(rows) < len(lengths)  # and short samples share rows
    assert rows == assign_rows(lengths, 30)
    with pytest.raises(ValueError, match="row_tokens='long'"):
        assign_rows(lengths, "long")


def test_guideline_close_predicts_every_first_step_token(trajectories):
    """pred(i) of each step's first token is </guideline>: one kept position feeds several targets."""
    engine, trajs = trajectories
    t = next(t for t in trajs if t.stats["branches_per_block"] == [8])
    batch = pack_samples([Sample(t.token_ids, t.prompt_len)], engine.tags)
    assert batch.source.numel() > batch.keep.sum()  # some kept position is used more than once
    assert int(torch.bincount(batch.source).max()) == 8


def test_sequential_trajectories(tiny_policy):
    model, tok = tiny_policy
    engine = Engine(model, tok, EngineConfig())
    [t] = engine.generate([PROMPT], SamplingParams(seed=5, max_tokens=30), mode="sequential")
    lp = token_logprobs(model, t.token_ids, engine.tags, t.prompt_len, parallel=False)
    assert float((lp.detach() - engine_logprobs(t)).abs().max()) < TOL


def test_eager_matches_sdpa(trajectories, npr_tokenizer, tiny_qwen3):
    engine, trajs = trajectories
    eager = tiny_qwen3(len(npr_tokenizer), attn_implementation="eager")
    eager.load_state_dict(engine.model.state_dict())
    assert attention_kind(eager) == "float" and attention_kind(engine.model) == "bool"
    samples = [Sample(t.token_ids, t.prompt_len) for t in trajs]
    a = torch.cat(batch_token_logprobs(eager, samples, engine.tags, row_tokens=400))
    b = torch.cat(batch_token_logprobs(engine.model, samples, engine.tags, row_tokens=400))
    assert float((a - b).abs().max()) < TOL


def test_flex_blockmask_equals_sdpa_on_cpu(trajectories, npr_tokenizer, tiny_qwen3):
    """FlexAttention with the topology's BlockMask gives the same log-probs (and so the same loss) as sdpa.

    On CPU FlexAttention runs forward only, so this compares scores without gradients.
    """
    engine, trajs = trajectories
    flex = tiny_qwen3(len(npr_tokenizer), attn_implementation="flex_attention")
    flex.load_state_dict(engine.model.state_dict())
    samples = [Sample(t.token_ids, t.prompt_len) for t in trajs[:4]]
    with torch.no_grad():
        a = torch.cat(batch_token_logprobs(flex, samples, engine.tags, row_tokens=300))
        b = torch.cat(batch_token_logprobs(engine.model, samples, engine.tags, row_tokens=300))
    assert float((a - b).abs().max()) < TOL
    with pytest.raises(ValueError, match="no backward pass on CPU"):
        batch_token_logprobs(flex, samples[:1], engine.tags)


def test_temperature_scales_the_logits(trajectories):
    engine, trajs = trajectories
    t = trajs[1]
    batch = pack_samples([Sample(t.token_ids, t.prompt_len)], engine.tags)
    s = score(engine.model, batch, temperature=0.5, with_t1=True, with_entropy=True)
    with torch.no_grad():
        logits = engine.model(**batch.rows[0].attention_inputs("bool")).logits[0]
    rows = logits[batch.rows[0].pred[t.prompt_len :]]
    want = torch.log_softmax(rows / 0.5, -1).gather(-1, batch.targets[:, None])[:, 0]
    assert float((s.logp - want).abs().max()) < TOL
    assert float((s.logp_t1 - engine_logprobs(t)).abs().max()) < TOL
    p = torch.softmax(rows / 0.5, -1)
    assert float((s.entropy - (-(p * p.log()).sum(-1))).abs().max()) < 1e-3


def test_logprobs_are_differentiable(trajectories):
    engine, trajs = trajectories
    t = trajs[0]
    lp = token_logprobs(engine.model, t.token_ids, engine.tags, t.prompt_len)
    lp.sum().backward()
    grads = [p.grad for p in engine.model.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    engine.model.zero_grad(set_to_none=True)


def test_bad_prompt_len(tiny_policy):
    model, tok = tiny_policy
    from npr.tokens import TagIds

    with pytest.raises(ValueError, match="at least one prompt token"):
        token_logprobs(model, [1, 2, 3], TagIds.from_tokenizer(tok), 0)
