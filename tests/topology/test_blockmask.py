"""The FlexAttention BlockMask: exact against the dense mask, and built without an L×L tensor."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
from torch.nn.attention.flex_attention import flex_attention

from npr.topology import layout, pack

from .conftest import toks
from .test_segments import TWO_BRANCH

A = 2


def big_trajectory(k: int, step_len: int, blocks: int) -> list[int]:
    ids = [9] * 40
    for _ in range(blocks):
        ids += toks("<guideline>", *(["<plan>", A, "</plan>"] * k), "</guideline>")
        for i in range(k):
            ids += toks(1, "<step>", *([A] * (step_len + 7 * i)), "</step>")
        ids += toks(1, "<takeaway>", A, A, "</takeaway>")
    return ids + [A] * 5


def check_tiles(lay, block_size):
    """Every tile called full is fully visible, every tile left out is fully masked."""
    bm = lay.block_mask(block_size=block_size)
    dense = lay.dense_mask()
    n = len(lay)
    t = -(-n // block_size)
    padded = torch.zeros(t * block_size, t * block_size, dtype=torch.bool)
    padded[:n, :n] = dense
    tiles = padded.view(t, block_size, t, block_size).permute(0, 2, 1, 3)
    valid = torch.zeros(t * block_size, dtype=torch.bool)
    valid[:n] = True
    vtiles = (valid[:, None] & valid[None, :]).view(t, block_size, t, block_size).permute(0, 2, 1, 3)
    full = torch.zeros(t, t, dtype=torch.bool)
    partial = torch.zeros(t, t, dtype=torch.bool)
    for q in range(t):
        full[q, bm.full_kv_indices[0, 0, q, : bm.full_kv_num_blocks[0, 0, q]].long()] = True
        partial[q, bm.kv_indices[0, 0, q, : bm.kv_num_blocks[0, 0, q]].long()] = True
    assert not (full & partial).any()
    for q in range(t):
        for k in range(t):
            inside = tiles[q, k][vtiles[q, k]]
            if full[q, k]:
                assert inside.all(), (q, k)
            elif not partial[q, k]:
                assert not inside.any(), (q, k)
    return full, partial


@pytest.mark.parametrize("k", [1, 2, 4])
def test_tile_classification_is_sound(tags, k):
    lay = layout(big_trajectory(k, 30, 2), tags, prompt_len=40)
    full, partial = check_tiles(lay, 16)
    assert full.any() and partial.any()
    t = full.shape[0]
    skipped = int((~(full | partial)).sum())
    future = t * (t - 1) // 2
    # Future tiles are always skipped; with k > 1 whole tiles of sibling pairs are skipped too.
    assert skipped > future if k > 1 else skipped == future


def test_packed_tiles(tags):
    row = pack([layout(big_trajectory(2, 20, 1), tags, 40), layout(big_trajectory(3, 10, 2), tags, 40)])
    check_tiles(row, 16)


def test_flex_attention_equals_sdpa_with_dense_mask(tags):
    torch.manual_seed(0)
    lay = pack([layout(big_trajectory(3, 12, 2), tags, 40), layout(TWO_BRANCH, tags, 2)])
    n = len(lay)
    q, k, v = (torch.randn(1, 2, n, 16) for _ in range(3))
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=lay.dense_mask()[None, None])
    out = flex_attention(q, k, v, block_mask=lay.block_mask(block_size=16))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_32k_tokens_build_no_dense_mask():
    """At L = 32768 a dense bool mask is 1 GiB; building the block mask must stay far below that."""
    script = textwrap.dedent(
        f"""
        import resource, sys
        sys.path[:0] = {sys.path!r}
        from tests.topology.test_blockmask import big_trajectory
        from tests.topology.conftest import TOY_TAGS
        from npr.topology import layout
        ids = big_trajectory(4, 1000, 9)
        assert len(ids) >= 32768, len(ids)
        lay = layout(ids, TOY_TAGS, prompt_len=40)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        bm = lay.block_mask()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(len(ids), (after - before) // 1024, bm.kv_indices.shape[-1])
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    n, grew_mib, tiles = map(int, out.stdout.split())
    assert n >= 32768 and tiles == -(-n // 128)
    assert grew_mib < 256, f"peak memory grew by {grew_mib} MiB while building the block mask"
