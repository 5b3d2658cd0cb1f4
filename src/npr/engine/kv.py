"""The paged KV store: one fixed pool of token slots shared by every sequence, with exact refcounts.

A slot holds the key and value of one token in every layer. A sequence's attention context is a list of slot ids;
a fork gives each branch the parent's list (each slot's refcount goes up by one per branch), and a join builds the
continuation's list from the parent's and each branch's own slots. Nothing is copied or recomputed, and because
RoPE is applied before keys are stored, the order of slots in a list does not change the attention result.

The store only counts: who holds which slot is the business of sequences and the prefix cache, which call
:meth:`share` and :meth:`release` symmetrically. :meth:`check` verifies the accounting in tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


class OutOfSlots(RuntimeError):
    """Raised by :meth:`KVStore.alloc` when fewer slots are free than asked for. The scheduler makes room before
    it allocates, so inside the engine this means broken accounting."""


class KVStore:
    """Key/value tensors ``[layers, capacity, kv_heads, head_dim]`` plus a free list and per-slot refcounts."""

    def __init__(
        self,
        num_layers: int,
        num_kv_heads: int,
        head_dim: int,
        capacity: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        if capacity < 1:
            raise ValueError(f"the KV store needs at least one slot, got capacity={capacity}")
        self.capacity = capacity
        self.k = torch.zeros(num_layers, capacity, num_kv_heads, head_dim, dtype=dtype, device=device)
        self.v = torch.zeros_like(self.k)
        self.refcount = np.zeros(capacity, dtype=np.int64)
        # Low slot ids are handed out first: pop() takes from the end.
        self._free: list[int] = list(range(capacity - 1, -1, -1))

    @property
    def num_free(self) -> int:
        return len(self._free)

    @property
    def num_used(self) -> int:
        return self.capacity - len(self._free)

    def alloc(self, n: int) -> list[int]:
        """Take ``n`` free slots, each with refcount 1."""
        if n > len(self._free):
            raise OutOfSlots(f"asked for {n} KV slots, {len(self._free)} free of {self.capacity}")
        slots = [self._free.pop() for _ in range(n)]
        self.refcount[slots] = 1
        return slots

    def share(self, slots: Sequence[int]) -> None:
        """One more holder for each of ``slots`` (all must be in use)."""
        if len(slots):
            idx = np.asarray(slots, dtype=np.int64)
            if (self.refcount[idx] <= 0).any():
                raise RuntimeError("share() of a free KV slot: the caller's accounting is broken")
            np.add.at(self.refcount, idx, 1)

    def release(self, slots: Sequence[int]) -> None:
        """One holder fewer for each of ``slots``; slots nobody holds go back to the free list."""
        if not len(slots):
            return
        idx = np.asarray(slots, dtype=np.int64)
        np.add.at(self.refcount, idx, -1)
        if (self.refcount[idx] < 0).any():
            raise RuntimeError("release() of a free KV slot: a double free")
        freed = np.unique(idx[self.refcount[idx] == 0])
        self._free.extend(int(s) for s in freed[::-1])

    def check(self) -> None:
        """Raise AssertionError unless the free list and refcounts agree exactly."""
        free = set(self._free)
        assert len(free) == len(self._free), "a slot is on the free list twice"
        assert (self.refcount >= 0).all(), "negative refcount"
        zero = set(np.flatnonzero(self.refcount == 0).tolist())
        assert zero == free, "free list and zero refcounts disagree"
