"""The model runner's own forward over the paged KV store equals HF's forward, and shares the model's weights."""

from __future__ import annotations

import pytest
import torch

from npr.engine import SamplingParams
from npr.engine.kv import KVStore
from npr.engine.runner import Batch, ModelRunner

TOL = 1e-4


def hf_logits(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0].float()


def check_runner(model, vocab, seed=0):
    """Two sequences: one prefilled in two chunks next to the other's one-shot prefill, then decodes of both."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(0, vocab, (23,), generator=g).tolist()
    b = torch.randint(0, vocab, (9,), generator=g).tolist()
    cfg = model.config
    kv = KVStore(cfg.num_hidden_layers, cfg.num_key_value_heads, getattr(cfg, "head_dim", None)
                 or cfg.hidden_size // cfg.num_attention_heads, 64)  # fmt: skip
    runner = ModelRunner(model, kv)
    sa, sb = kv.alloc(len(a)), kv.alloc(len(b))
    ref_a, ref_b = hf_logits(model, a), hf_logits(model, b)

    def run(parts):
        ids, pos, new, ctx, num = [], [], [], [], []
        for seq, slots, lo, hi in parts:
            ids += seq[lo:hi]
            pos += range(lo, hi)
            new += slots[lo:hi]
            ctx.append(torch.tensor(slots[:hi]))
            num.append(hi - lo)
        n = sum(num)
        return runner.forward(Batch(torch.tensor(ids), torch.tensor(pos), torch.tensor(new), ctx, num, torch.arange(n)))

    out = run([(a, sa, 0, 15), (b, sb, 0, 8)])
    torch.testing.assert_close(out[:15], ref_a[:15], atol=TOL, rtol=0)
    torch.testing.assert_close(out[15:], ref_b[:8], atol=TOL, rtol=0)
    out = run([(a, sa, 15, 22), (b, sb, 8, 9)])
    torch.testing.assert_close(out[:7], ref_a[15:22], atol=TOL, rtol=0)
    torch.testing.assert_close(out[7:], ref_b[8:9], atol=TOL, rtol=0)
    out = run([(a, sa, 22, 23)])
    torch.testing.assert_close(out, ref_a[22:23], atol=TOL, rtol=0)


@pytest.mark.parametrize("arch", ["qwen3", "llama"])
@pytest.mark.parametrize("tie", [False, True])
def test_tiny_models_match_hf(tiny_qwen3, tiny_llama, arch, tie):
    model = (tiny_qwen3 if arch == "qwen3" else tiny_llama)(300, tie_word_embeddings=tie, attn_implementation="sdpa")
    check_runner(model, 300)


def test_smollm2_matches_hf(smollm2):
    model, tok = smollm2
    check_runner(model, len(tok), seed=1)


def test_engine_shares_the_models_weights(make_engine):
    """No copy: changing the model's parameters in place changes what the engine decodes next."""
    engine = make_engine("qwen3", tie=False)
    prompt = [[1000 + i for i in range(8)]]
    params = SamplingParams(temperature=0, max_tokens=6)
    before = engine.generate(prompt, params, mode="sequential")[0]
    with torch.no_grad():
        engine.model.lm_head.weight.mul_(-1.0)  # the greedy token becomes the least likely one
    after = engine.generate(prompt, params, mode="sequential")[0]
    assert after.response_ids[0] != before.response_ids[0]
    ptrs = {p.data_ptr() for p in engine.model.parameters()}
    assert engine.runner.model.lm_head.weight.data_ptr() in ptrs
