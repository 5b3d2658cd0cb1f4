"""Prefix cache across requests: a radix tree from prompt token ids to the KV slots that hold them.

Requests that share a prompt prefix share its KV: the G rollouts of one RL prompt, the k samples of one eval item,
a common system prompt. Only prompts are cached, since prompt tokens sit at the same positions in every request,
so equal ids mean equal keys and values. Slots are token-granular, so any prefix of a cached edge can be reused
without copying. The cache holds one reference on every slot it lists; under memory pressure, least recently used
leaves that no running sequence still uses are evicted.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from npr.engine.kv import KVStore


class _Node:
    __slots__ = ("tokens", "slots", "children", "parent", "last_used")

    def __init__(self, tokens: tuple[int, ...], slots: list[int], parent: _Node | None):
        self.tokens = tokens
        self.slots = slots
        self.children: dict[int, _Node] = {}
        self.parent = parent
        self.last_used = 0


class PrefixCache:
    def __init__(self, kv: KVStore):
        self.kv = kv
        self.root = _Node((), [], None)
        self._clock = itertools.count(1)
        self.num_slots = 0

    def match(self, ids: Sequence[int]) -> list[int]:
        """Slots of the longest cached prefix of ``ids`` (the caller must ``share`` them to keep them)."""
        node, i, out = self.root, 0, []
        now = next(self._clock)
        while i < len(ids):
            child = node.children.get(ids[i])
            if child is None:
                break
            n = _common(child.tokens, ids, i)
            out.extend(child.slots[:n])
            child.last_used = now
            i += n
            if n < len(child.tokens):
                break
            node = child
        return out

    def insert(self, ids: Sequence[int], slots: Sequence[int]) -> None:
        """Record that ``slots[j]`` holds the KV of ``ids[j]`` at position j; shares whatever is newly cached."""
        if len(ids) != len(slots):
            raise ValueError(f"{len(ids)} ids but {len(slots)} slots")
        node, i = self.root, 0
        now = next(self._clock)
        while i < len(ids):
            child = node.children.get(ids[i])
            if child is None:
                new = _Node(tuple(ids[i:]), list(slots[i:]), node)
                new.last_used = now
                node.children[ids[i]] = new
                self.kv.share(new.slots)
                self.num_slots += len(new.slots)
                return
            n = _common(child.tokens, ids, i)
            child.last_used = now
            if n < len(child.tokens):
                child = self._split(child, n)
            node, i = child, i + n

    def _split(self, node: _Node, n: int) -> _Node:
        """Cut ``node``'s edge after ``n`` tokens; returns the new upper half."""
        upper = _Node(node.tokens[:n], node.slots[:n], node.parent)
        upper.last_used = node.last_used
        node.parent.children[node.tokens[0]] = upper
        node.tokens, node.slots, node.parent = node.tokens[n:], node.slots[n:], upper
        upper.children[node.tokens[0]] = node
        return upper

    def evict(self, need: int) -> int:
        """Free up to ``need`` slots from least recently used leaves nobody else holds; returns slots freed."""
        freed = 0
        while freed < need:
            leaves = [n for n in self._nodes() if not n.children and (self.kv.refcount[n.slots] == 1).all()]
            if not leaves:
                break
            leaf = min(leaves, key=lambda n: n.last_used)
            self.kv.release(leaf.slots)
            freed += len(leaf.slots)
            self.num_slots -= len(leaf.slots)
            del leaf.parent.children[leaf.tokens[0]]
        return freed

    def clear(self) -> None:
        """Drop every entry (slots still used by running sequences stay with them)."""
        for n in self._nodes():
            self.kv.release(n.slots)
        self.root.children.clear()
        self.num_slots = 0

    def _nodes(self) -> list[_Node]:
        out, stack = [], list(self.root.children.values())
        while stack:
            n = stack.pop()
            out.append(n)
            stack.extend(n.children.values())
        return out


def _common(edge: tuple[int, ...], ids: Sequence[int], start: int) -> int:
    n = 0
    limit = min(len(edge), len(ids) - start)
    while n < limit and edge[n] == ids[start + n]:
        n += 1
    return n
