"""Unit tests of the paged KV store and the prefix cache (DESIGN §4): exact slot accounting, no model involved.

Every test checks the store against exact numbers (slots used, refcounts) and against ``KVStore.check()``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npr.engine.kv import KVStore, OutOfSlots
from npr.engine.prefix_cache import PrefixCache


def store(capacity: int = 8) -> KVStore:
    return KVStore(num_layers=2, num_kv_heads=1, head_dim=4, capacity=capacity)


def cached(cache: PrefixCache) -> list[tuple[tuple[int, ...], list[int]]]:
    """Every edge of the radix tree as (full token path from the root, the edge's slots), sorted by path."""
    out = []
    stack = [((), n) for n in cache.root.children.values()]
    while stack:
        path, node = stack.pop()
        full = path + node.tokens
        assert len(node.tokens) == len(node.slots) > 0, "an edge must hold one slot per token"
        for first, child in node.children.items():
            assert child.tokens[0] == first and child.parent is node
        out.append((full, list(node.slots)))
        stack.extend((full, c) for c in node.children.values())
    return sorted(out)


def cache_refs(cache: PrefixCache) -> np.ndarray:
    refs = np.zeros(cache.kv.capacity, dtype=np.int64)
    for _, slots in cached(cache):
        np.add.at(refs, slots, 1)
    return refs


# ---- KVStore -------------------------------------------------------------------------------------------------------


def test_new_store_is_empty_and_shaped():
    kv = KVStore(num_layers=3, num_kv_heads=2, head_dim=4, capacity=10, dtype=torch.float32)
    assert kv.k.shape == kv.v.shape == (3, 10, 2, 4)
    assert kv.capacity == 10 and kv.num_free == 10 and kv.num_used == 0
    assert (kv.refcount == 0).all()
    kv.check()


def test_capacity_must_be_positive():
    with pytest.raises(ValueError, match="at least one slot"):
        KVStore(1, 1, 2, capacity=0)


def test_alloc_gives_distinct_low_slots_with_refcount_one():
    kv = store(8)
    a = kv.alloc(3)
    assert a == [0, 1, 2]
    b = kv.alloc(2)
    assert b == [3, 4]
    assert kv.num_used == 5 and kv.num_free == 3
    assert kv.refcount.tolist() == [1, 1, 1, 1, 1, 0, 0, 0]
    assert kv.alloc(0) == [] and kv.num_used == 5
    kv.check()


def test_share_and_release_count_holders_exactly():
    kv = store(6)
    slots = kv.alloc(4)
    kv.share(slots[:2])  # a second holder for the first two
    kv.share(slots[:1])  # a third holder for the first
    assert kv.refcount.tolist() == [3, 2, 1, 1, 0, 0]
    kv.release(slots)  # the allocating holder lets go of all four
    assert kv.refcount.tolist() == [2, 1, 0, 0, 0, 0]
    assert kv.num_used == 2
    kv.check()
    kv.release(slots[:2])
    assert kv.refcount.tolist() == [1, 0, 0, 0, 0, 0] and kv.num_used == 1
    kv.release(slots[:1])
    assert kv.num_used == 0 and kv.num_free == 6
    kv.check()


def test_release_with_repeated_slot_counts_each_occurrence():
    kv = store(4)
    [s] = kv.alloc(1)
    kv.share([s])
    kv.release([s, s])  # two holders let go in one call: freed once, listed once on the free list
    assert kv.refcount[s] == 0 and kv.num_free == 4
    kv.check()
    assert sorted(kv.alloc(4)) == [0, 1, 2, 3]


def test_freed_slots_are_reused():
    kv = store(6)
    slots = kv.alloc(4)
    kv.release([slots[1], slots[3]])
    assert kv.num_used == 2
    again = kv.alloc(2)
    assert sorted(again) == [1, 3]  # low ids first: the freed holes are filled before untouched slots
    assert kv.num_used == 4
    kv.check()


def test_double_free_raises():
    kv = store(4)
    slots = kv.alloc(2)
    kv.release(slots)
    with pytest.raises(RuntimeError, match="double free"):
        kv.release(slots[:1])


def test_release_more_times_than_held_in_one_call_raises():
    kv = store(4)
    [s] = kv.alloc(1)
    with pytest.raises(RuntimeError, match="double free"):
        kv.release([s, s])


def test_share_of_free_slot_raises():
    kv = store(4)
    with pytest.raises(RuntimeError, match="free KV slot"):
        kv.share([2])
    slots = kv.alloc(1)
    kv.release(slots)
    with pytest.raises(RuntimeError, match="free KV slot"):
        kv.share(slots)
    assert kv.num_used == 0
    kv.check()


def test_out_of_slots_is_atomic():
    kv = store(5)
    kv.alloc(3)
    with pytest.raises(OutOfSlots, match=r"asked for 3 KV slots, 2 free of 5"):
        kv.alloc(3)
    assert kv.num_used == 3 and kv.num_free == 2  # nothing was taken by the failed call
    kv.check()
    assert kv.alloc(2) == [3, 4]
    with pytest.raises(OutOfSlots):
        kv.alloc(1)
    assert issubclass(OutOfSlots, RuntimeError)


def test_check_detects_broken_accounting():
    kv = store(4)
    kv.alloc(2)
    kv.refcount[3] = 1  # a slot on the free list with a holder
    with pytest.raises(AssertionError, match="disagree"):
        kv.check()
    kv.refcount[3] = 0
    kv.check()
    kv._free.append(kv._free[-1])  # a slot on the free list twice
    with pytest.raises(AssertionError, match="twice"):
        kv.check()


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["alloc", "share", "release"]), st.integers(0, 5), st.integers(0, 99)),
                    max_size=60))  # fmt: skip
def test_random_alloc_share_release_matches_a_model(ops):
    """Holders are lists of slots; the store's refcounts must always equal how many holders list each slot."""
    cap = 12
    kv = store(cap)
    holders: list[list[int]] = []
    for op, n, pick in ops:
        if op == "alloc":
            if n > kv.num_free:
                with pytest.raises(OutOfSlots):
                    kv.alloc(n)
            else:
                holders.append(kv.alloc(n))
        elif op == "share" and holders:
            src = holders[pick % len(holders)]
            part = src[: n + 1]
            kv.share(part)
            holders.append(list(part))
        elif op == "release" and holders:
            kv.release(holders.pop(pick % len(holders)))
        expected = np.zeros(cap, dtype=np.int64)
        for h in holders:
            np.add.at(expected, h, 1)
        assert kv.refcount.tolist() == expected.tolist()
        assert kv.num_used == int((expected > 0).sum())
        kv.check()
    for h in holders:
        kv.release(h)
    assert kv.num_used == 0
    kv.check()


# ---- PrefixCache ---------------------------------------------------------------------------------------------------


def cache_with(kv: KVStore, *prompts: list[int], keep: bool = False) -> tuple[PrefixCache, list[list[int]]]:
    """Prefill each prompt (fresh slots for what the cache does not hold) and insert it, like the scheduler does.

    With ``keep=False`` the "requests" then finish: only the cache still holds the slots.
    """
    cache = PrefixCache(kv)
    lists = []
    for p in prompts:
        matched = cache.match(p)
        kv.share(matched)
        slots = matched + kv.alloc(len(p) - len(matched))
        cache.insert(p, slots)
        lists.append(slots)
    if not keep:
        for slots in lists:
            kv.release(slots)
    return cache, lists


def test_empty_cache_matches_nothing():
    kv = store(4)
    cache = PrefixCache(kv)
    assert cache.match([1, 2, 3]) == []
    assert cache.match([]) == []
    cache.insert([], [])
    assert cache.num_slots == 0 and cached(cache) == []


def test_insert_shares_slots_and_match_finds_prefixes():
    kv = store(10)
    cache = PrefixCache(kv)
    slots = kv.alloc(4)
    cache.insert([5, 6, 7, 8], slots)
    assert cache.num_slots == 4
    assert kv.refcount[slots].tolist() == [2, 2, 2, 2]  # the caller and the cache
    assert kv.num_used == 4
    # full, longer, partial and diverging queries
    assert cache.match([5, 6, 7, 8]) == slots
    assert cache.match([5, 6, 7, 8, 9, 10]) == slots
    assert cache.match([5, 6]) == slots[:2]
    assert cache.match([5, 6, 9, 8]) == slots[:2]
    assert cache.match([5, 7]) == slots[:1]
    assert cache.match([6, 7, 8]) == []
    # match only reports: it takes no reference
    assert kv.refcount[slots].tolist() == [2, 2, 2, 2]
    kv.release(slots)
    assert kv.refcount[slots].tolist() == [1, 1, 1, 1] and kv.num_used == 4
    kv.check()


def test_insert_rejects_mismatched_lengths():
    kv = store(4)
    cache = PrefixCache(kv)
    with pytest.raises(ValueError, match="3 ids but 2 slots"):
        cache.insert([1, 2, 3], kv.alloc(2))
    assert cache.num_slots == 0


def test_insert_splits_edge_at_divergence():
    kv = store(16)
    cache, (a, b) = cache_with(kv, [1, 2, 3, 4], [1, 2, 7, 8, 9])
    # b reused a's first two slots and computed only its own three
    assert b[:2] == a[:2]
    assert cached(cache) == [((1, 2), a[:2]), ((1, 2, 3, 4), a[2:]), ((1, 2, 7, 8, 9), b[2:])]
    assert cache.num_slots == 7
    assert kv.num_used == 7
    assert cache.match([1, 2, 7, 8, 9]) == b
    assert cache.match([1, 2, 3, 4]) == a
    assert cache.match([1, 2, 3, 9]) == a[:3]
    assert cache.match([1, 2, 5]) == a[:2]
    assert (kv.refcount == cache_refs(cache)).all()
    kv.check()


def test_insert_of_a_prefix_splits_without_new_slots():
    kv = store(8)
    cache, (a,) = cache_with(kv, [1, 2, 3, 4], keep=True)
    other = kv.alloc(2)  # a request that computed [1, 2] itself: nothing new to cache
    cache.insert([1, 2], other)
    assert cached(cache) == [((1, 2), a[:2]), ((1, 2, 3, 4), a[2:])]
    assert cache.num_slots == 4
    assert kv.refcount[other].tolist() == [1, 1]  # the cache took no reference on the duplicate
    assert kv.refcount[a].tolist() == [2, 2, 2, 2]
    cache.insert([1, 2, 3, 4], a)  # inserting the same again changes nothing
    assert kv.refcount[a].tolist() == [2, 2, 2, 2] and cache.num_slots == 4
    kv.check()


def test_insert_extends_a_cached_path():
    kv = store(10)
    cache, (a, b) = cache_with(kv, [1, 2], [1, 2, 3, 4, 5])
    assert b[:2] == a
    assert cached(cache) == [((1, 2), a), ((1, 2, 3, 4, 5), b[2:])]
    assert cache.num_slots == 5 == kv.num_used
    assert (kv.refcount == cache_refs(cache)).all()


def test_evict_frees_least_recently_used_unreferenced_leaves():
    kv = store(16)
    cache, (a, b, c) = cache_with(kv, [1, 2, 3], [5, 6], [7, 8, 9, 10])
    assert kv.num_used == 9
    cache.match([1, 2, 3])  # a is now the most recently used
    assert cache.evict(1) == 2  # the least recently used leaf: b, freed whole
    assert kv.refcount[b].tolist() == [0, 0]
    assert cache.match([5, 6]) == []
    assert kv.num_used == 7 and cache.num_slots == 7
    assert cache.evict(3) == 4  # next: c
    assert cache.match([7, 8, 9, 10]) == [] and cache.match([1, 2, 3]) == a
    assert kv.num_used == 3
    assert cache.evict(100) == 3  # asks for more than there is: frees what it can
    assert kv.num_used == 0 and cache.num_slots == 0 and cached(cache) == []
    assert cache.evict(1) == 0
    kv.check()


def test_evict_never_frees_slots_a_sequence_holds():
    kv = store(16)
    cache, (a, b) = cache_with(kv, [1, 2, 3], [4, 5, 6])
    kv.share(a)  # a running sequence uses prompt a
    assert cache.evict(100) == 3  # only b goes, though a is older
    assert cache.match([1, 2, 3]) == a and cache.match([4, 5, 6]) == []
    assert kv.refcount[a].tolist() == [2, 2, 2]
    assert kv.num_used == 3
    kv.release(a)
    assert cache.evict(100) == 3 and kv.num_used == 0
    kv.check()


def test_evict_keeps_a_leaf_that_is_partly_referenced():
    kv = store(8)
    cache, (a,) = cache_with(kv, [1, 2, 3, 4])
    kv.share(a[:2])  # a sequence holds only the first half of the edge
    assert cache.evict(100) == 0
    assert cache.match([1, 2, 3, 4]) == a and kv.num_used == 4
    kv.release(a[:2])
    kv.check()


def test_evict_walks_up_from_leaves_and_spares_shared_parents():
    kv = store(16)
    cache, (a, b) = cache_with(kv, [1, 2, 3, 4], [1, 2, 7, 8])
    kv.share(b)  # a running request holds all of b: its leaf and the shared parent [1, 2]
    assert cache.evict(100) == 2  # only a's own tail [3, 4]
    assert cached(cache) == [((1, 2), a[:2]), ((1, 2, 7, 8), b[2:])]
    kv.release(b)
    assert cache.evict(1) == 2  # the LRU leaf [7, 8]: freeing it is enough
    assert cached(cache) == [((1, 2), a[:2])]
    assert cache.evict(1) == 2  # the parent became a leaf
    assert kv.num_used == 0 and cache.num_slots == 0
    kv.check()


def test_clear_returns_everything_the_cache_holds():
    kv = store(16)
    cache, (a, b, c) = cache_with(kv, [1, 2, 3], [1, 2, 9], [4, 5], keep=True)
    held = sorted(set(a + b + c))
    assert kv.num_used == len(held) == 6  # [1, 2] is shared: 3 + 1 + 2
    cache.clear()
    assert cache.num_slots == 0 and cached(cache) == [] and cache.match([1, 2, 3]) == []
    # the requests still hold their lists
    expected = np.zeros(16, dtype=np.int64)
    for lst in (a, b, c):
        np.add.at(expected, lst, 1)
    assert kv.refcount.tolist() == expected.tolist()
    kv.check()
    for lst in (a, b, c):
        kv.release(lst)
    assert kv.num_used == 0
    kv.check()


def test_clear_with_no_other_holder_empties_the_store():
    kv = store(16)
    cache, _ = cache_with(kv, [1, 2, 3], [1, 2, 9], [4, 5])
    assert kv.num_used == 6
    cache.clear()
    assert kv.num_used == 0 and kv.num_free == 16
    kv.check()
    cache.clear()  # idempotent
    assert kv.num_used == 0


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("insert"), st.lists(st.integers(0, 3), min_size=1, max_size=7)),
            st.tuples(st.just("evict"), st.integers(1, 8)),
            st.tuples(st.just("match"), st.lists(st.integers(0, 3), max_size=8)),
        ),
        max_size=30,
    )
)
def test_random_prefix_cache_against_a_reference(ops):
    """A brute-force reference maps every cached prefix to the slot of its last token.

    ``match`` must return exactly the reference's answer; eviction may only forget prefixes (whole subtrees from
    the leaves up), never change a slot; the store always holds exactly the cache's slots, once each.
    """
    kv = store(64)
    cache = PrefixCache(kv)
    ref: dict[tuple[int, ...], int] = {}

    def expect(ids):
        out = []
        for j in range(len(ids)):
            s = ref.get(tuple(ids[: j + 1]))
            if s is None:
                break
            out.append(s)
        return out

    for op, arg in ops:
        if op == "insert":
            ids = arg
            matched = cache.match(ids)
            assert matched == expect(ids)
            kv.share(matched)
            slots = matched + kv.alloc(len(ids) - len(matched))
            cache.insert(ids, slots)
            kv.release(slots)  # the request ends; the cache keeps the prompt
            for j in range(len(ids)):
                ref.setdefault(tuple(ids[: j + 1]), slots[j])
        elif op == "evict":
            before = kv.num_used
            freed = cache.evict(arg)
            assert freed == before - kv.num_used
            assert freed >= min(arg, before)  # nobody else holds anything: it can always free what it is asked
            # what is left is a prefix-closed subset of the reference, with unchanged slots
            left = {full[: j + 1]: slots[j - len(full) + len(slots)]
                    for full, slots in cached(cache) for j in range(len(full) - len(slots), len(full))}  # fmt: skip
            assert all(ref[p] == s for p, s in left.items())
            assert all(p[:-1] in left or len(p) == 1 for p in left)
            ref = {p: s for p, s in ref.items() if p in left}
        else:
            assert cache.match(arg) == expect(arg)
        assert cache.num_slots == len(ref) == kv.num_used
        assert (kv.refcount == cache_refs(cache)).all()
        assert set(ref.values()) == set(np.flatnonzero(kv.refcount).tolist())
        kv.check()
    cache.clear()
    assert kv.num_used == 0
    kv.check()
