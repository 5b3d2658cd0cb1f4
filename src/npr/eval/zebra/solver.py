"""A small exact solver for the structured clues of a ZebraLogic-style puzzle (never the English text).

Each attribute is a permutation of its values over the houses, so the solver keeps, per attribute, the set of
permutations still possible: a bitset over all ``N!`` permutations (720 bits for six houses, one Python int).
Tables built once per ``N`` map "value ``v`` is in one of the houses ``S``" to the bitset of permutations where it
holds, so narrowing is a few big-int ANDs.

* At the root, positional clues and clues between two values of the *same* attribute cut that attribute's set
  exactly (every permutation left satisfies them all, which makes all-different reasoning complete per attribute).
* Clues between two attributes are propagated to a fixpoint by arc consistency on the projections: the houses
  still open to value ``v`` of attribute ``a`` are those of some permutation left for ``a``; the other side keeps
  only permutations placing its value where the relation allows.
* Search branches on one (attribute, value) at a time, ``N`` or fewer children, choosing by *dom/wdeg*: the fewest
  open houses divided by one plus how often that value's clues have emptied a set so far in this run.

When every attribute is down to one permutation after propagation, arc consistency has checked every clue, so that
leaf is a solution. Two choices keep large puzzles fast (both measured on 6x6 puzzles built only from relational
clues, which once took a minute): whole permutation sets rather than per-value house domains, so a conflict inside
one attribute is seen at once instead of after enumerating unrelated attributes; and the failure weights, which
steer branching to the clues that actually conflict (one such set: 97,596 nodes by fewest-houses-first, 113 with
dom/wdeg).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

from npr.eval.zebra.clues import Assignment, ClueKind, ClueSet

# A clue between two attributes, ready for propagation: (attr A, value A, attr B, value B, houses of B allowed per
# set of A's houses, houses of A allowed per set of B's houses); the tables are indexed by a house mask.
_Arc = tuple[int, int, int, int, tuple[int, ...], tuple[int, ...]]


@dataclass(frozen=True)
class _Tables:
    """The per-``N`` lookup tables (pure functions of ``N``, built once per size and cached).

    Attributes:
        houses: ``N``.
        perms: every permutation of ``range(N)``, ``perm[value]`` = house; bit ``i`` of a set means ``perms[i]``.
        full: the set of all permutations.
        placing: ``placing[v][mask]`` = the permutations that put value ``v`` in one of the houses of ``mask``.
    """

    houses: int
    perms: tuple[tuple[int, ...], ...]
    full: int
    placing: tuple[tuple[int, ...], ...]

    def houses_of(self, perm_set: int, value: int) -> int:
        """The mask of houses ``value`` occupies in some permutation of ``perm_set``."""
        row = self.placing[value]
        mask = 0
        for house in range(self.houses):
            if perm_set & row[1 << house]:
                mask |= 1 << house
        return mask


@lru_cache(maxsize=None)
def _tables(houses: int) -> _Tables:
    """The lookup tables for ``houses`` houses."""
    perms = tuple(itertools.permutations(range(houses)))
    single = [[0] * houses for _ in range(houses)]
    for index, perm in enumerate(perms):
        for value, house in enumerate(perm):
            single[value][house] |= 1 << index
    placing = []
    for value in range(houses):
        row = [0] * (1 << houses)
        for mask in range(1, 1 << houses):
            low = mask & -mask
            row[mask] = row[mask ^ low] | single[value][low.bit_length() - 1]
        placing.append(tuple(row))
    return _Tables(houses, perms, (1 << len(perms)) - 1, tuple(placing))


@lru_cache(maxsize=None)
def _images(kind: ClueKind, houses: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per mask of A's houses, the mask of B's houses the relation allows; and the same from B to A."""
    forward = [0] * (1 << houses)
    backward = [0] * (1 << houses)
    for mask in range(1 << houses):
        for first in range(houses):
            for second in range(houses):
                if kind.relation(first, second):
                    if mask >> first & 1:
                        forward[mask] |= 1 << second
                    if mask >> second & 1:
                        backward[mask] |= 1 << first
    return tuple(forward), tuple(backward)


class _Search:
    """One solving run: the root permutation sets, the arcs, and the solutions found so far (up to ``limit``)."""

    def __init__(self, clue_set: ClueSet, limit: int) -> None:
        self.houses = clue_set.houses
        self.limit = limit
        self.tables = _tables(self.houses)
        self.solutions: list[Assignment] = []
        self.arcs: list[_Arc] = []
        # dom/wdeg: how often each arc emptied a set; branching prefers values whose arcs keep failing.
        self.failures: list[int] = []
        placing = self.tables.placing
        full_mask = (1 << self.houses) - 1
        self.root = [self.tables.full] * clue_set.attributes
        for clue in clue_set.clues:
            first = clue.refs[0]
            if clue.kind.positional:
                assert clue.house is not None  # Clue.__post_init__ guarantees it; this narrows the type
                pinned = 1 << clue.house
                allowed = pinned if clue.kind is ClueKind.AT else full_mask & ~pinned
                self.root[first.attr] &= placing[first.value][allowed]
                continue
            second = clue.refs[1]
            forward, backward = _images(clue.kind, self.houses)
            if first.attr == second.attr:
                # Exact: keep the permutations where the two values' houses satisfy the relation.
                allowed_perms = 0
                for house in range(self.houses):
                    allowed_perms |= placing[first.value][1 << house] & placing[second.value][forward[1 << house]]
                self.root[first.attr] &= allowed_perms
            else:
                self.arcs.append((first.attr, first.value, second.attr, second.value, forward, backward))
                self.failures.append(0)

    def propagate(self, sets: list[int]) -> bool:
        """Narrow the permutation ``sets`` in place to a fixpoint; False when some attribute has none left."""
        if not all(sets):
            return False
        tables = self.tables
        placing = tables.placing
        changed = True
        while changed:
            changed = False
            for index, (attr_a, value_a, attr_b, value_b, forward, backward) in enumerate(self.arcs):
                set_b = sets[attr_b] & placing[value_b][forward[tables.houses_of(sets[attr_a], value_a)]]
                if set_b != sets[attr_b]:
                    if not set_b:
                        self.failures[index] += 1
                        return False
                    sets[attr_b] = set_b
                    changed = True
                set_a = sets[attr_a] & placing[value_a][backward[tables.houses_of(set_b, value_b)]]
                if set_a != sets[attr_a]:
                    if not set_a:
                        self.failures[index] += 1
                        return False
                    sets[attr_a] = set_a
                    changed = True
        return True

    def run(self, sets: list[int]) -> None:
        """Depth-first search below ``sets``, appending solutions until ``limit`` are found."""
        if not self.propagate(sets):
            return
        tables = self.tables
        weight: dict[tuple[int, int], int] = {}
        for (attr_a, value_a, attr_b, value_b, _, _), failures in zip(self.arcs, self.failures):
            weight[attr_a, value_a] = weight.get((attr_a, value_a), 0) + failures
            weight[attr_b, value_b] = weight.get((attr_b, value_b), 0) + failures
        best: tuple[int, int, int] | None = None
        best_score = float("inf")
        for attr, perm_set in enumerate(sets):
            if perm_set & (perm_set - 1):
                for value in range(self.houses):
                    mask = tables.houses_of(perm_set, value)
                    size = bin(mask).count("1")
                    score = size / (1 + weight.get((attr, value), 0))
                    if size > 1 and score < best_score:
                        best, best_score = (attr, value, mask), score
        if best is None:
            self.solutions.append(tuple(tables.perms[perm_set.bit_length() - 1] for perm_set in sets))
            return
        attr, value, mask = best
        for house in range(self.houses):
            if mask >> house & 1:
                child = list(sets)
                child[attr] &= tables.placing[value][1 << house]
                self.run(child)
                if len(self.solutions) >= self.limit:
                    return


def solve(clue_set: ClueSet, limit: int = 2) -> list[Assignment]:
    """Up to ``limit`` assignments satisfying every clue of ``clue_set``, in a fixed (deterministic) order.

    Each assignment is ``positions[attr][value]`` = 0-based house. ``limit`` must be at least 1; the search stops
    as soon as it has that many, so ``limit=2`` answers "none, unique or several" cheaply.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1 to find anything, got {limit}")
    search = _Search(clue_set, limit)
    search.run(list(search.root))
    return search.solutions
