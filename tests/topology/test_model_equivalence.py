"""The topology drives a real HF forward to exactly the logits that isolated branches would give.

Tiny random Qwen3 and Llama models (fp32, built from configs). One forward over the flat trajectory with the
topology's mask and positions must reproduce, within 1e-5:
* for each branch, an ordinary causal forward over ``prefix + that branch`` alone;
* for the takeaway, a forward over a mask and positions written out by hand in this test;
* for the takeaway again, a decode over a KV cache joined from the separately computed branches.
"""

from __future__ import annotations

import pytest
import torch
from transformers import DynamicCache

from npr.topology import SegmentKind, layout

from .conftest import toks

VOCAB = 112
ATOL = 1e-5


@pytest.fixture
def tiny(tiny_qwen3, tiny_llama):
    """tiny(arch, attn="sdpa"): Qwen3 with tied embeddings, Llama with an untied head (both cases covered)."""

    def make(arch: str, attn: str = "sdpa"):
        if arch == "qwen3":
            return tiny_qwen3(VOCAB, tie_word_embeddings=True, attn_implementation=attn)
        return tiny_llama(VOCAB, tie_word_embeddings=False, attn_implementation=attn)

    return make


def trajectory(k: int, seed: int) -> list[int]:
    g = torch.Generator().manual_seed(seed)

    def words(n):
        return torch.randint(0, 99, (n,), generator=g).tolist()

    ids = words(6)  # prompt
    ids += toks("<guideline>", *sum((["<plan>", *words(2), "</plan>"] for _ in range(k)), []), "</guideline>")
    for i in range(k):
        ids += toks(words(1)[0], "<step>", *words(3 + 2 * i + (i % 2)), "</step>")  # unequal lengths
    ids += toks(words(1)[0], "<takeaway>", *words(3), "</takeaway>", *words(4))
    return ids


def forward(model, ids, position_ids=None, mask=None):
    with torch.no_grad():
        out = model(
            input_ids=torch.tensor([ids]),
            position_ids=None if position_ids is None else position_ids[None],
            attention_mask=None if mask is None else mask[None, None],
        )
    return out.logits[0]


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_branches_equal_isolated_causal_runs(tiny, tags, arch, k):
    model = tiny(arch)
    ids = trajectory(k, seed=k)
    lay = layout(ids, tags, prompt_len=6)
    flat = forward(model, ids, lay.position_ids, lay.dense_mask())
    steps = [s for s in lay.segments if s.kind is SegmentKind.STEP]
    prefix = ids[: steps[0].start]
    for s in steps:
        alone = forward(model, prefix + ids[s.start : s.end])
        torch.testing.assert_close(flat[s.start : s.end], alone[len(prefix) :], atol=ATOL, rtol=0)
        torch.testing.assert_close(flat[: len(prefix)], alone[: len(prefix)], atol=ATOL, rtol=0)


def hand_layout(ids, prefix_len, branch_lens):
    """Mask and positions of [prefix | branch 1 | ... | branch k | tail], written out directly."""
    n = len(ids)
    g = prefix_len - 1
    mask = torch.ones(n, n, dtype=torch.bool).tril()
    pos = list(range(prefix_len))
    bounds, start = [], prefix_len
    for length in branch_lens:
        bounds.append((start, start + length))
        pos += range(g + 1, g + 1 + length)
        start += length
    for i, (a0, a1) in enumerate(bounds):
        for j, (b0, b1) in enumerate(bounds):
            if i != j:
                mask[a0:a1, b0:b1] = False
    pos += range(g + 1 + max(branch_lens), g + 1 + max(branch_lens) + n - start)
    return torch.tensor(pos), mask, start


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
@pytest.mark.parametrize("k", [2, 4])
def test_takeaway_equals_hand_written_layout(tiny, tags, arch, k):
    model = tiny(arch)
    ids = trajectory(k, seed=10 + k)
    lay = layout(ids, tags, prompt_len=6)
    steps = [s for s in lay.segments if s.kind is SegmentKind.STEP]
    pos, mask, tail = hand_layout(ids, steps[0].start, [len(s) for s in steps])
    assert lay.position_ids.equal(pos)
    flat = forward(model, ids, lay.position_ids, lay.dense_mask())
    ref = forward(model, ids, pos, mask)
    torch.testing.assert_close(flat[tail:], ref[tail:], atol=ATOL, rtol=0)


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_takeaway_equals_decode_over_joined_branch_caches(tiny, tags, arch):
    """Join as an engine would: prefix KV + each branch's own KV, concatenated, then decode the tail."""
    model = tiny(arch)
    ids = trajectory(3, seed=5)
    lay = layout(ids, tags, prompt_len=6)
    steps = [s for s in lay.segments if s.kind is SegmentKind.STEP]
    p = steps[0].start
    with torch.no_grad():
        pre = model(input_ids=torch.tensor([ids[:p]]), use_cache=True).past_key_values
        per_layer = [([pre.layers[i].keys], [pre.layers[i].values]) for i in range(len(pre.layers))]
        for s in steps:
            run = model(
                input_ids=torch.tensor([ids[s.start : s.end]]),
                position_ids=torch.arange(p, p + len(s))[None],
                cache=_copy(pre),
                use_cache=True,
            ).past_key_values
            for i, (ks, vs) in enumerate(per_layer):
                ks.append(run.layers[i].keys[:, :, p:])
                vs.append(run.layers[i].values[:, :, p:])
        joined = DynamicCache()
        for i, (ks, vs) in enumerate(per_layer):
            joined.update(torch.cat(ks, dim=2), torch.cat(vs, dim=2), i)
        tail = steps[-1].end
        out = model(
            input_ids=torch.tensor([ids[tail:]]),
            position_ids=lay.position_ids[tail:][None],
            cache=joined,
        ).logits[0]
    flat = forward(model, ids, lay.position_ids, lay.dense_mask())
    torch.testing.assert_close(flat[tail:], out, atol=ATOL, rtol=0)


def _copy(cache: DynamicCache) -> DynamicCache:
    fresh = DynamicCache()
    for i, layer in enumerate(cache.layers):
        fresh.update(layer.keys.clone(), layer.values.clone(), i)
    return fresh


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_bool_and_float_masks_agree_under_sdpa_and_eager(tiny, tags, arch):
    ids = trajectory(3, seed=7)
    lay = layout(ids, tags, prompt_len=6)
    sdpa = tiny(arch, "sdpa")
    eager = tiny(arch, "eager")
    ref = forward(sdpa, ids, lay.position_ids, lay.dense_mask())
    torch.testing.assert_close(forward(sdpa, ids, lay.position_ids, lay.additive_mask()), ref, atol=ATOL, rtol=0)
    torch.testing.assert_close(forward(eager, ids, lay.position_ids, lay.additive_mask()), ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
def test_token_logprobs_use_pred(tiny, tags, arch):
    """Step 2's first token is scored from </guideline>'s state, not from the end of step 1."""
    model = tiny(arch)
    ids = trajectory(2, seed=3)
    lay = layout(ids, tags, prompt_len=6)
    logits = forward(model, ids, lay.position_ids, lay.dense_mask())
    lp = lay.token_logprobs(logits)
    s1 = [s for s in lay.segments if s.kind is SegmentKind.STEP][1]
    g = s1.start - 1 - (s1.start - [s for s in lay.segments if s.kind is SegmentKind.GUIDELINE][0].end)
    expect = torch.log_softmax(logits[g], -1)[ids[s1.start]]
    torch.testing.assert_close(lp[s1.start], expect)
    assert lp[0] == 0.0
    naive = torch.log_softmax(logits[s1.start - 1], -1)[ids[s1.start]]
    assert not torch.isclose(lp[s1.start], naive), "shift-by-one would score it from step 1's last token"
