"""The :class:`Layout` of a trajectory: positions, visibility and prediction sources as tensors.

DESIGN §3's visibility rule is written once, in :meth:`Layout.visible`: token q may attend token p iff

* ``p <= q`` in canonical order,
* p and q belong to the same trajectory (``doc``) of a packed row, and
* p and q are not in *different* steps of the *same* block.

Every mask form (dense bool, additive float, FlexAttention ``BlockMask``) is derived from that one function, and
:attr:`Layout.pred` (the token whose hidden state predicts token i) is derived from the same structure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from npr.tokens import TagIds
from npr.topology.segments import Segment, SegmentKind, segment


@dataclass(frozen=True, eq=False)
class Layout:
    """Topology of one trajectory, or of several packed into one row. All tensors are 1-D of length L, on CPU.

    Attributes:
        token_ids: LongTensor[L], the flat canonical ids.
        position_ids: LongTensor[L], RoPE positions (restart at 0 for each packed trajectory).
        step_block: LongTensor[L], a step token's block index, unique within the row; -1 outside steps.
        step_branch: LongTensor[L], a step token's 0-based branch index; -1 outside steps.
        doc_ids: LongTensor[L], which packed trajectory a token belongs to (all 0 for a single one).
        pred: LongTensor[L], the index whose hidden state predicts token i: the nearest earlier token that i may
            attend. -1 for the first token of each trajectory, which nothing predicts.
        response_mask: BoolTensor[L], True for tokens after the prompt (the assistant's tokens).
        segments: every segment, in canonical order, with ``doc`` set.
    """

    token_ids: torch.Tensor
    position_ids: torch.Tensor
    step_block: torch.Tensor
    step_branch: torch.Tensor
    doc_ids: torch.Tensor
    pred: torch.Tensor
    response_mask: torch.Tensor
    segments: tuple[Segment, ...]

    def __len__(self) -> int:
        return int(self.token_ids.numel())

    @property
    def num_docs(self) -> int:
        return int(self.doc_ids[-1]) + 1 if len(self) else 0

    # ---- visibility: the one definition -------------------------------------------------------------------------

    def visible(self, q_idx: torch.Tensor, kv_idx: torch.Tensor) -> torch.Tensor:
        """Whether query token ``q_idx`` may attend key token ``kv_idx``; index tensors broadcast together.

        This is also the FlexAttention ``mask_mod`` (see :mod:`npr.topology.blockmask`), so it must stay a pure
        tensor expression.
        """
        sb, br, doc = self.step_block, self.step_branch, self.doc_ids
        sibling = (sb[q_idx] == sb[kv_idx]) & (sb[q_idx] >= 0) & (br[q_idx] != br[kv_idx])
        return (kv_idx <= q_idx) & (doc[q_idx] == doc[kv_idx]) & ~sibling

    def dense_mask(self) -> torch.Tensor:
        """BoolTensor[L, L]: ``mask[q, p]`` is True when q may attend p. O(L²) memory: for tests and short rows."""
        idx = torch.arange(len(self))
        return self.visible(idx[:, None], idx[None, :])

    def additive_mask(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """FloatTensor[L, L]: 0 where visible, the dtype's most negative value where not.

        ``eager`` attention adds its mask to the scores, so a bool mask there would add 0/1 instead of masking.
        """
        zero = torch.zeros((), dtype=dtype)
        neg = torch.tensor(torch.finfo(dtype).min, dtype=dtype)
        return torch.where(self.dense_mask(), zero, neg)

    def attention_inputs(
        self, kind: str = "bool", dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
    ) -> dict[str, torch.Tensor]:
        """Keyword arguments for one HF forward of this row as a batch of one.

        Returns ``{"input_ids": Long[1, L], "position_ids": Long[1, L], "attention_mask": mask[1, 1, L, L]}``;
        ``kind="bool"`` suits sdpa, ``kind="float"`` gives the additive mask that eager needs.
        """
        if kind == "bool":
            mask = self.dense_mask()
        elif kind == "float":
            mask = self.additive_mask(dtype)
        else:
            raise ValueError(f"kind must be 'bool' or 'float', got {kind!r}")
        return {
            "input_ids": self.token_ids[None].to(device),
            "position_ids": self.position_ids[None].to(device),
            "attention_mask": mask[None, None].to(device),
        }

    def block_mask(self, block_size: int = 128, device: torch.device | str | None = None):
        """A FlexAttention ``BlockMask`` built without any L×L tensor; see :func:`npr.topology.blockmask.build`."""
        from npr.topology.blockmask import build

        return build(self, block_size=block_size, device=device)

    # ---- prediction ---------------------------------------------------------------------------------------------

    def token_logprobs(self, logits: torch.Tensor) -> torch.Tensor:
        """Log-probability of every token under the hidden state that predicts it.

        Args:
            logits: Float[L, V], one row per position of this layout (one forward with its mask and positions).
        Returns:
            Float[L]: ``log_softmax(logits[pred[i]])[token_ids[i]]``; 0.0 where ``pred[i] == -1``.
        """
        if logits.shape[0] != len(self):
            raise ValueError(f"logits have {logits.shape[0]} rows for a layout of {len(self)} tokens")
        has = self.pred >= 0
        src = self.pred.clamp(min=0).to(logits.device)
        ids = self.token_ids.to(logits.device)
        # Gather the V-wide rows first: log_softmax over only the L needed rows, in float32 for stability.
        picked = torch.log_softmax(logits[src].float(), dim=-1).gather(-1, ids[:, None])[:, 0]
        return torch.where(has.to(logits.device), picked, torch.zeros_like(picked))


def layout(
    token_ids: Sequence[int] | torch.Tensor, tags: TagIds, prompt_len: int, *, parallel: bool = True
) -> Layout:
    """Lay out one trajectory: ``token_ids`` is the prompt (``prompt_len`` tokens) followed by the response.

    With ``parallel=False`` the same tokens are laid out causally with sequential positions (NPR-Zero's simulated
    parallelism and the autoregressive baseline): no tag is interpreted, so any token sequence is accepted.

    Raises:
        TopologyError: for structure that cannot be laid out in parallel, naming the token index.
    """
    ids = token_ids.tolist() if isinstance(token_ids, torch.Tensor) else [int(t) for t in token_ids]
    n = len(ids)
    if parallel:
        seg = segment(ids, tags, prompt_len)
        segments, positions, step_block, step_branch = seg.segments, seg.positions, seg.step_block, seg.step_branch
        pred = list(range(-1, n - 1))
        for s in segments:
            if s.kind is SegmentKind.STEP and s.branch:
                # Step j > 0 cannot see steps 0..j-1, so its first token is predicted from </guideline>.
                pred[s.start] = seg.guideline_end[s.block]
    else:
        if not 0 <= prompt_len <= n:
            raise ValueError(f"prompt_len={prompt_len} is outside [0, {n}] for a sequence of {n} tokens")
        segments = [Segment(SegmentKind.PROMPT, 0, prompt_len), Segment(SegmentKind.TEXT, prompt_len, n)]
        segments = [s for s in segments if len(s)]
        positions, step_block, step_branch = list(range(n)), [-1] * n, [-1] * n
        pred = list(range(-1, n - 1))
    response = torch.zeros(n, dtype=torch.bool)
    response[prompt_len:] = True
    return Layout(
        token_ids=torch.tensor(ids, dtype=torch.long),
        position_ids=torch.tensor(positions, dtype=torch.long),
        step_block=torch.tensor(step_block, dtype=torch.long),
        step_branch=torch.tensor(step_branch, dtype=torch.long),
        doc_ids=torch.zeros(n, dtype=torch.long),
        pred=torch.tensor(pred, dtype=torch.long),
        response_mask=response,
        segments=tuple(segments),
    )


def pack(layouts: Sequence[Layout]) -> Layout:
    """Concatenate several layouts into one row whose trajectories cannot see each other.

    Positions restart in each trajectory; block indices are renumbered so that they stay unique in the row, and
    ``pred`` and segment offsets are shifted. The result feeds one forward exactly as a single layout does.
    """
    if not layouts:
        raise ValueError("pack() needs at least one layout")
    offset, block_offset, doc_offset = 0, 0, 0
    step_blocks, preds, docs, segments = [], [], [], []
    for lay in layouts:
        sb = lay.step_block
        step_blocks.append(torch.where(sb >= 0, sb + block_offset, sb))
        preds.append(torch.where(lay.pred >= 0, lay.pred + offset, lay.pred))
        docs.append(lay.doc_ids + doc_offset)
        segments.extend(
            replace(
                s,
                start=s.start + offset,
                end=s.end + offset,
                doc=s.doc + doc_offset,
                block=None if s.block is None else s.block + block_offset,
            )
            for s in lay.segments
        )
        offset += len(lay)
        block_offset += 1 + max((s.block for s in lay.segments if s.block is not None), default=-1)
        doc_offset += lay.num_docs
    return Layout(
        token_ids=torch.cat([lay.token_ids for lay in layouts]),
        position_ids=torch.cat([lay.position_ids for lay in layouts]),
        step_block=torch.cat(step_blocks),
        step_branch=torch.cat([lay.step_branch for lay in layouts]),
        doc_ids=torch.cat(docs),
        pred=torch.cat(preds),
        response_mask=torch.cat([lay.response_mask for lay in layouts]),
        segments=tuple(segments),
    )
