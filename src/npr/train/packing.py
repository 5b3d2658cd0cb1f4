"""Packing trajectories into rows for one training forward.

A :class:`Sample` is one trajectory (prompt ids followed by response ids). :func:`pack_samples` lays each out with
:func:`npr.topology.layout`, puts several into one row with :func:`npr.topology.pack` (block-diagonal visibility,
positions restarting per trajectory) and pads the rows of the batch to one length. Padding is one more packed
trajectory of pad tokens: causal among themselves, invisible to every real token, and never scored.

The result, a :class:`PackedBatch`, also says which hidden states predict which response token (DESIGN §3's
``pred(i)``), in the order the forward returns them, so the scorer in :mod:`npr.train.forward` gathers exactly the
rows it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from npr.tokens import TagIds
from npr.topology import Layout, layout, pack


@dataclass(frozen=True)
class Sample:
    """One trajectory: ``token_ids`` = prompt (``prompt_len`` tokens) + response; ``parallel`` picks the topology."""

    token_ids: Sequence[int]
    prompt_len: int
    parallel: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.prompt_len <= len(self.token_ids):
            raise ValueError(
                f"prompt_len={self.prompt_len} for a trajectory of {len(self.token_ids)} tokens: a trajectory needs "
                "at least one prompt token (nothing predicts the very first token)"
            )

    @property
    def response_len(self) -> int:
        return len(self.token_ids) - self.prompt_len


@dataclass
class PackedBatch:
    """B rows of length L for one forward, and where each response token's prediction comes from.

    Attributes:
        rows: the B row layouts (each a :func:`npr.topology.pack` of its trajectories plus padding), length L each.
        input_ids: Long[B, L].
        position_ids: Long[B, L].
        keep: Bool[B, L], True at every position whose hidden state predicts some response token.
        source: Long[N], for response token n, its row among the kept positions flattened row-major (the order of
            ``logits_to_keep``'s output). ``</guideline>`` predicts several tokens, so indices may repeat.
        targets: Long[N], the response token ids, sample by sample, in order.
        offsets: list of S + 1 ints: sample s owns targets ``offsets[s]:offsets[s+1]``.
    """

    rows: list[Layout]
    input_ids: torch.Tensor
    position_ids: torch.Tensor
    keep: torch.Tensor
    source: torch.Tensor
    targets: torch.Tensor
    offsets: list[int]
    num_tokens: int = field(default=0)  # real (non-pad) tokens in the batch

    @property
    def num_samples(self) -> int:
        return len(self.offsets) - 1

    def dense_mask(self, kind: str = "bool", dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """[B, 1, L, L] visibility: bool (sdpa) or additive float (eager), from the topology's one definition."""
        if kind == "bool":
            return torch.stack([r.dense_mask() for r in self.rows])[:, None]
        return torch.stack([r.additive_mask(dtype) for r in self.rows])[:, None]

    def to(self, device, non_blocking: bool = False) -> PackedBatch:
        """The index tensors moved to ``device`` (what accelerate and the Trainer call on batch objects)."""
        move = lambda t: t.to(device, non_blocking=non_blocking)  # noqa: E731
        return PackedBatch(
            self.rows, move(self.input_ids), move(self.position_ids), move(self.keep), move(self.source),
            move(self.targets), self.offsets, self.num_tokens,
        )  # fmt: skip


#: ``row_tokens`` value: rows as long as the longest sample of the batch.
LONGEST = "longest"


def assign_rows(lengths: Sequence[int], row_tokens: int | str | None) -> list[list[int]]:
    """Sample indices per row: first fit in the given order, at most ``row_tokens`` tokens a row.

    ``row_tokens=None`` puts each sample in a row of its own (unpacked). A sample longer than ``row_tokens`` gets a
    row of its own. ``row_tokens="longest"`` (:data:`LONGEST`) makes rows as long as the longest sample: short
    samples share rows, and no row is longer than the batch needs anyway. That is the right size for sdpa and eager
    attention, which compute all L x L scores of a row - a row longer than its samples costs attention in
    proportion to L. A fixed long budget suits FlexAttention, whose BlockMask skips the masked blocks.
    """
    if row_tokens is None:
        return [[i] for i in range(len(lengths))]
    if row_tokens == LONGEST:
        row_tokens = max(lengths, default=1)
    if not isinstance(row_tokens, int):
        raise ValueError(f"row_tokens={row_tokens!r} must be an integer, {LONGEST!r} or None")
    if row_tokens < 1:
        raise ValueError(f"row_tokens={row_tokens} must be >= 1")
    rows: list[list[int]] = []
    room: list[int] = []
    for i, n in enumerate(lengths):
        for r, left in enumerate(room):
            if n <= left:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(max(0, row_tokens - n))
    return rows


def pack_samples(
    samples: Sequence[Sample], tags: TagIds, *, row_tokens: int | str | None = None, pad_id: int = 0,
    layouts: Sequence[Layout] | None = None,
) -> PackedBatch:  # fmt: skip
    """Lay out and pack ``samples`` into rows (see :func:`assign_rows`) and pad them to one length.

    ``layouts`` may pass the samples' layouts when the caller has them already.

    Raises:
        npr.topology.TopologyError: a sample whose structure cannot be laid out in parallel.
    """
    if not samples:
        raise ValueError("pack_samples needs at least one sample")
    lays = list(layouts) if layouts is not None else [
        layout(s.token_ids, tags, s.prompt_len, parallel=s.parallel) for s in samples
    ]  # fmt: skip
    plan = assign_rows([len(x) for x in lays], row_tokens)
    width = max(sum(len(lays[i]) for i in row) for row in plan)
    rows, where = [], {}  # where[sample] = (row, offset of the sample in the row)
    for r, members in enumerate(plan):
        offset = 0
        for i in members:
            where[i] = (r, offset)
            offset += len(lays[i])
        parts = [lays[i] for i in members]
        if width > offset:
            parts.append(layout([pad_id] * (width - offset), tags, width - offset, parallel=False))
        rows.append(pack(parts))

    keep = torch.zeros(len(rows), width, dtype=torch.bool)
    flat_src, targets, offsets = [], [], [0]
    for i, (s, lay) in enumerate(zip(samples, lays)):
        r, off = where[i]
        pred = lay.pred[s.prompt_len :] + off  # Long[response_len], positions within row r
        keep[r, pred] = True
        flat_src.append(r * width + pred)
        targets.append(lay.token_ids[s.prompt_len :])
        offsets.append(offsets[-1] + s.response_len)
    # Position of each kept (row, col) in the row-major flattening of `keep`.
    rank = torch.cumsum(keep.view(-1).long(), 0) - 1
    source = rank[torch.cat(flat_src)] if flat_src else torch.zeros(0, dtype=torch.long)
    return PackedBatch(
        rows=rows,
        input_ids=torch.stack([x.token_ids for x in rows]),
        position_ids=torch.stack([x.position_ids for x in rows]),
        keep=keep,
        source=source,
        targets=torch.cat(targets),
        offsets=offsets,
        num_tokens=sum(len(x) for x in lays),
    )
