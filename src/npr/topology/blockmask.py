"""A FlexAttention ``BlockMask`` for a :class:`~npr.topology.layout.Layout`, built without an L×L tensor.

FlexAttention skips tiles that are fully masked, runs tiles that are fully visible without evaluating the mask,
and evaluates ``mask_mod`` (here :meth:`Layout.visible`) element-wise only in the remaining, partial tiles.
``torch``'s own ``create_block_mask`` finds those tiles by evaluating the mask everywhere, which at 32k tokens
means a 1 GiB bool tensor; we classify each tile from per-tile summaries of the layout instead, in O(L + T²)
with T = L / block_size.

The classification is conservative: a tile is called full or empty only when that is certain, and anything in
doubt is partial, where the exact mask applies. So the result is always exactly the layout's mask.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.nn.attention.flex_attention import BlockMask

from npr.topology.layout import Layout


def _tiles(x: torch.Tensor, block_size: int) -> torch.Tensor:
    """Long[L] -> Long[T, block_size], padding the last tile by repeating the last token (neutral for min/max)."""
    pad = (-x.numel()) % block_size
    if pad:
        x = F.pad(x[None, None].float(), (0, pad), mode="replicate")[0, 0].long()
    return x.view(-1, block_size)


def build(lay: Layout, block_size: int = 128, device: torch.device | str | None = None) -> BlockMask:
    """BlockMask of ``lay`` for one sequence (batch 1, all heads alike), tiles of ``block_size`` × ``block_size``."""
    n = len(lay)
    if n == 0:
        raise ValueError("cannot build a block mask for an empty layout")
    is_step = lay.step_block >= 0
    # One key per (block, branch): two step tokens are siblings iff same block and different key.
    n_branches = int(lay.step_branch.max()) + 1 if bool(is_step.any()) else 1
    key = torch.where(is_step, lay.step_block * n_branches + lay.step_branch, torch.full_like(lay.step_block, -1))
    big = torch.iinfo(torch.long).max

    doc = _tiles(lay.doc_ids, block_size)
    step = _tiles(is_step.long(), block_size).bool()
    sb_lo = _tiles(torch.where(is_step, lay.step_block, big), block_size).amin(1)
    sb_hi = _tiles(torch.where(is_step, lay.step_block, -1), block_size).amax(1)
    key_lo = _tiles(torch.where(is_step, key, big), block_size).amin(1)
    key_hi = _tiles(torch.where(is_step, key, -1), block_size).amax(1)
    doc_lo, doc_hi = doc.amin(1), doc.amax(1)
    any_step, all_step = step.any(1), step.all(1)

    one_doc = (doc_lo == doc_hi)[:, None] & (doc_lo == doc_hi)[None, :] & (doc_lo[:, None] == doc_lo[None, :])
    other_doc = doc_hi[None, :] < doc_lo[:, None]  # every key's trajectory precedes every query's
    single_key = (key_lo == key_hi) & all_step
    no_sibling = (
        ~any_step[:, None]
        | ~any_step[None, :]
        | (sb_hi[:, None] < sb_lo[None, :])
        | (sb_hi[None, :] < sb_lo[:, None])
        | (single_key[:, None] & single_key[None, :] & (key_lo[:, None] == key_lo[None, :]))
    )
    all_sibling = (
        single_key[:, None]
        & single_key[None, :]
        & (sb_lo[:, None] == sb_lo[None, :])
        & (key_lo[:, None] != key_lo[None, :])
    )
    t = doc.shape[0]
    qt = torch.arange(t)[:, None]
    kt = torch.arange(t)[None, :]
    empty = (kt > qt) | other_doc | all_sibling
    full = (kt < qt) & one_doc & no_sibling & ~empty
    partial = ~empty & ~full

    def to_indices(sel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        num = sel.sum(-1).to(torch.int32)
        # Selected tiles first, in column order: the layout FlexAttention expects.
        idx = torch.argsort((~sel).to(torch.int8), dim=-1, stable=True).to(torch.int32)
        return num[None, None].to(device), idx[None, None].to(device)

    kv_num, kv_idx = to_indices(partial)
    full_num, full_idx = to_indices(full)
    on_device = replace(
        lay, step_block=lay.step_block.to(device), step_branch=lay.step_branch.to(device), doc_ids=lay.doc_ids.to(device)
    )

    def mask_mod(b, h, q_idx, kv_idx):
        return on_device.visible(q_idx, kv_idx)

    return BlockMask.from_kv_blocks(
        kv_num, kv_idx, full_num, full_idx, BLOCK_SIZE=block_size, mask_mod=mask_mod, seq_lengths=(n, n)
    )
