"""KV memory and flow control of the engine under pressure (DESIGN §4, "Budgets" and "Slots never leak").

* A hypothesis state machine submits, steps and aborts random requests (shared prompt prefixes, NPR shapes, tiny
  budgets, both modes) on a store so small that preemption happens. After every step the accounting is exact:
  every slot's refcount equals the number of live slot lists (sequences and prefix-cache edges) that name it,
  computed here from the engine's own structures, independently of the store. Every request ends, within its
  budgets, and after ``flush_cache()`` the store is empty.
* Fork/join costs: a k-branch block holds the prefix once, not k times.
* Deterministic reproductions of the flow-control corner cases.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from npr.engine import Engine, EngineConfig, SamplingParams
from npr.engine.sequence import Role
from npr.topology import SegmentKind, layout

FINISH_REASONS = {"stop", "length", "format_error", "aborted"}
BASE = list(range(1000, 1040))  # a common stock of prompt tokens: prompts that start alike share a prefix


@pytest.fixture
def new_engine(tiny_parts):
    """``new_engine(**EngineConfig fields)``: a fresh engine (empty store and cache) on the shared model."""
    return lambda **config: Engine(*tiny_parts, EngineConfig(**config))


# ---- independent accounting -----------------------------------------------------------------------------------------


def cache_edges(engine: Engine) -> list[list[int]]:
    if engine.cache is None:
        return []
    out, stack = [], list(engine.cache.root.children.values())
    while stack:
        node = stack.pop()
        out.append(list(node.slots))
        stack.extend(node.children.values())
    return out


def expected_refcounts(engine: Engine) -> np.ndarray:
    """How many slot lists name each slot: live sequences of running requests, plus prefix-cache edges."""
    counts = np.zeros(engine.kv.capacity, dtype=np.int64)
    for req in engine.scheduler.running:
        for seq in req.holders():
            assert len(set(seq.slots)) == len(seq.slots), f"{req.id}: a sequence lists a slot twice"
            np.add.at(counts, np.asarray(seq.slots, dtype=np.int64), 1)
    for req in engine.scheduler.waiting:
        assert not req.holders(), f"waiting request {req.id} still holds KV slots"
    edges = cache_edges(engine)
    for slots in edges:
        np.add.at(counts, np.asarray(slots, dtype=np.int64), 1)
    if engine.cache is not None:
        assert engine.cache.num_slots == sum(map(len, edges))
    return counts


def check_accounting(engine: Engine) -> None:
    kv = engine.kv
    assert 0 <= kv.num_used <= kv.capacity
    kv.check()
    expected = expected_refcounts(engine)
    wrong = np.flatnonzero(expected != kv.refcount)
    assert not len(wrong), (
        f"refcounts disagree with the holders at slots {wrong[:8].tolist()}: "
        f"store {kv.refcount[wrong[:8]].tolist()}, holders {expected[wrong[:8]].tolist()}"
    )
    assert kv.num_used == int((expected > 0).sum())
    for req in engine.scheduler.running:
        for seq in req.holders():
            # a sequence's list holds exactly the KV of the tokens it has fed
            if seq.role is Role.BRANCH:
                assert len(seq.slots) == req.fork_prefix + seq.fed
            elif seq.block == 0 and seq is req.pieces[0]:
                assert len(seq.slots) == seq.prompt_pos + seq.fed


def critical_path_from_segments(traj) -> int:
    """Response tokens outside steps, plus the longest step of each block (DESIGN §4, "critical path")."""
    outside = 0
    longest: dict[int, int] = {}
    for s in traj.segments:
        if s.kind is SegmentKind.PROMPT:
            continue
        if s.kind is SegmentKind.STEP:
            longest[s.block] = max(longest.get(s.block, 0), len(s))
        else:
            outside += len(s)
    return outside + sum(longest.values())


def check_trajectory(traj, params: SamplingParams, tags=None) -> None:
    assert traj.finish_reason in FINISH_REASONS
    n = len(traj.token_ids)
    assert len(traj.position_ids) == len(traj.logprobs) == len(traj.sampled) == n
    stats = traj.stats
    assert stats["total_tokens"] == n - traj.prompt_len
    assert stats["critical_path_tokens"] <= params.max_tokens, stats
    assert stats["total_tokens"] <= params.total_budget, stats
    assert stats["critical_path_tokens"] <= stats["total_tokens"]
    if traj.mode == "sequential":
        assert stats["critical_path_tokens"] == stats["total_tokens"]
        assert stats["forks"] == 0
    if traj.finish_reason in ("stop", "format_error"):  # every response token went through a forward
        assert all(lp is not None for lp in traj.logprobs[traj.prompt_len :])
    if traj.segments:
        assert stats["critical_path_tokens"] == critical_path_from_segments(traj)
        if tags is not None:  # the engine decoded every token at the position the topology gives it
            lay = layout(traj.token_ids, tags, traj.prompt_len, parallel=traj.mode == "parallel")
            assert lay.position_ids.tolist() == traj.position_ids


def step_checked(engine: Engine) -> list:
    events = engine.step()
    check_accounting(engine)
    if not events and engine.has_work() and not engine.scheduler.running:
        # The step admitted nothing (an admitted request would be running, or have finished with an event) and
        # nothing runs: the next step starts from the very same state, and so do all after it.
        head = engine.scheduler.waiting[0]
        raise AssertionError(
            f"deadlock: nothing runs and {len(engine.scheduler.waiting)} request(s) wait; the head "
            f"({len(head.prompt)} prompt tokens) cannot be admitted with {engine.kv.num_free} of "
            f"{engine.kv.capacity} slots free and {engine.cache.num_slots if engine.cache else 0} held by the "
            "prefix cache"
        )
    return events


def drain(engine: Engine, max_steps: int = 3000) -> int:
    steps = 0
    while engine.has_work():
        assert steps < max_steps, "the engine did not finish its requests in a bounded number of steps"
        step_checked(engine)
        steps += 1
    return steps


# ---- the state machine ----------------------------------------------------------------------------------------------


@st.composite
def prompts(draw) -> list[int]:
    share = draw(st.sampled_from([0, 0, 6, 15, 25]))
    tail = draw(st.lists(st.integers(1000, 4999), min_size=1 if share else 5, max_size=10))
    return BASE[:share] + tail


shapes = st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=3), min_size=1, max_size=2)


@st.composite
def requests(draw) -> dict:
    max_tokens = draw(st.integers(12, 40))
    extra = draw(st.one_of(st.none(), st.integers(0, 30)))
    return dict(
        prompt=draw(prompts()),
        shape=draw(st.one_of(st.none(), shapes, shapes)),  # None: genuine sampling
        params=SamplingParams(
            seed=draw(st.integers(0, 2**31)), max_tokens=max_tokens,
            max_total_tokens=None if extra is None else max_tokens + extra,
            max_branches=draw(st.sampled_from([2, 3, 8, 8])),
        ),  # fmt: skip
        mode=draw(st.sampled_from(["parallel", "parallel", "sequential"])),
    )


class EngineMachine(RuleBasedStateMachine):
    """Random submit / step / abort sequences on a KV store too small for all requests at once."""

    tiny_parts: tuple | None = None  # (model, tokenizer), set by the test
    totals: dict = {}  # across examples, so the test can check that the workloads exercised what they should
    MAX_REQUESTS = 7

    def __init__(self):
        super().__init__()
        self.engine: Engine | None = None
        self.params: dict[str, SamplingParams] = {}
        self.done: dict[str, object] = {}

    @initialize(
        kv_budget=st.integers(48, 128),
        max_batch_tokens=st.integers(8, 40),
        max_running=st.integers(2, 4),
        prefix_cache=st.booleans(),
        first=st.lists(requests(), min_size=3, max_size=5),
    )
    def setup(self, kv_budget, max_batch_tokens, max_running, prefix_cache, first):
        config = EngineConfig(
            kv_budget=kv_budget, max_batch_tokens=max_batch_tokens, max_running=max_running, prefix_cache=prefix_cache
        )
        self.engine = Engine(*self.tiny_parts, config)
        for r in first:
            self._submit(r)

    def _submit(self, r: dict) -> None:
        steer = None if r["shape"] is None else self.engine.shape_steer(r["shape"])
        rid = self.engine.submit(r["prompt"], r["params"], r["mode"], steer=steer)
        self.params[rid] = r["params"]
        check_accounting(self.engine)

    @property
    def live(self) -> list[str]:
        return sorted(r for r in self.params if r not in self.done)

    def _record(self, rid: str, traj) -> None:
        check_trajectory(traj, self.params[rid], self.engine.tags)
        self.done[rid] = traj
        t = self.totals
        t["preemptions"] = t.get("preemptions", 0) + traj.stats["preemptions"]
        t.setdefault("reasons", set()).add(traj.finish_reason)
        t["forks"] = t.get("forks", 0) + traj.stats["forks"]

    def collect(self) -> None:
        for rid in list(self.engine._results):
            traj = self.engine._results.pop(rid)
            assert rid in self.params and rid not in self.done
            assert traj.finish_reason != "aborted"  # only abort() aborts, and it hands the trajectory back itself
            self._record(rid, traj)

    @precondition(lambda self: len(self.params) < self.MAX_REQUESTS)
    @rule(r=requests())
    def submit(self, r):
        self._submit(r)

    @rule(n=st.integers(1, 8))
    def step(self, n):
        for _ in range(n):
            if self.engine.has_work():
                step_checked(self.engine)
        self.collect()

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data())
    def abort(self, data):
        if data.draw(st.integers(0, 2)):  # abort about a third of the times this rule is picked
            return
        rid = data.draw(st.sampled_from(self.live))
        traj = self.engine.abort(rid)
        assert traj is not None and traj.finish_reason == "aborted"
        assert rid not in self.engine._results
        assert self.engine.abort(rid) is None  # a second abort knows nothing of it
        self._record(rid, traj)
        check_accounting(self.engine)

    @invariant()
    def store_accounting(self):
        if self.engine is not None:
            check_accounting(self.engine)

    def teardown(self):
        if self.engine is None:
            return
        drain(self.engine)
        self.collect()
        assert set(self.done) == set(self.params), "a request was lost"
        self.engine.flush_cache()
        assert self.engine.kv.num_used == 0, "KV slots leaked"
        self.engine.kv.check()


def test_random_workloads_keep_exact_accounting(tiny_parts):
    EngineMachine.tiny_parts = tiny_parts
    EngineMachine.totals = {}
    try:
        run_state_machine_as_test(
            EngineMachine,
            settings=settings(
                max_examples=8, stateful_step_count=10, deadline=None, derandomize=True, database=None,
                phases=(Phase.explicit, Phase.generate),  # no shrinking: a failure prints its full, replayable run
                suppress_health_check=list(HealthCheck),
            ),  # fmt: skip
        )
    finally:
        EngineMachine.tiny_parts = None
    totals = EngineMachine.totals
    # the workloads did what they are for: preemption, forks, and every way to end
    assert totals["preemptions"] > 0, totals
    assert totals["forks"] > 0, totals
    assert {"stop", "length", "aborted"} <= totals["reasons"], totals


# ---- fork/join costs -------------------------------------------------------------------------------------------------


def steered(engine: Engine, prompt, shape, params=None, mode="parallel") -> str:
    params = params or SamplingParams(seed=0, max_tokens=200)
    return engine.submit(prompt, params, mode, steer=engine.shape_steer(shape))


@pytest.mark.parametrize("shape", [[[3, 5, 4]], [[2, 6], [1, 3, 2, 4]]])
def test_fork_shares_the_prefix_instead_of_copying_it(new_engine, shape):
    engine = new_engine(kv_budget=1000, prefix_cache=False)
    prompt = list(range(2000, 2030))
    rid = steered(engine, prompt, shape)
    req = engine._requests[rid]
    used_at_join, peak_in_block, fork_prefixes = [], [], []
    peak = 0
    while engine.has_work():
        events = step_checked(engine)
        peak = max(peak, engine.kv.num_used)
        if req.branches and not req.finished:
            k = len(req.branches)
            prefix = req.branches[0].slots[: req.fork_prefix]
            assert all(b.slots[: req.fork_prefix] == prefix for b in req.branches), "branches must list the same prefix"
            assert (engine.kv.refcount[prefix] == k).all()  # one reference per branch, one copy in the store
            own = [b.slots[req.fork_prefix :] for b in req.branches]
            assert engine.kv.num_used == req.fork_prefix + sum(map(len, own))
            peak_in_block.append(engine.kv.num_used)
        if any(e.kind == "fork" and e.request_id == rid for e in events):
            fork_prefixes.append(req.fork_prefix)
        if any(e.kind == "join" and e.request_id == rid for e in events):
            assert (engine.kv.refcount[req.trunk.slots] == 1).all()
            used_at_join.append(engine.kv.num_used)
    traj = engine._results.pop(rid)
    assert traj.finish_reason == "stop"
    assert traj.stats["branches_per_block"] == [len(b) for b in shape]
    # After block b joins, the store holds exactly the flat trajectory up to that block's last step: the prefix once
    # plus every branch's own tokens.
    step_ends = {}
    for s in traj.segments:
        if s.kind is SegmentKind.STEP:
            step_ends[s.block] = max(step_ends.get(s.block, 0), s.end)
    assert used_at_join == [step_ends[b] for b in range(len(shape))]
    assert max(peak_in_block) <= used_at_join[-1]
    # Never more than the unique tokens (the final EOS never needs KV).
    assert peak <= len(traj.token_ids) - 1
    # In numbers for the first block: the prefix (prompt, guideline) once, plus the steps' own tokens - where copying
    # the prefix into each of k branches would need (k - 1) * prefix more.
    prefix = min(s.start for s in traj.segments if s.kind is SegmentKind.STEP)
    assert fork_prefixes[0] == prefix
    assert used_at_join[0] == prefix + sum(len(s) for s in traj.segments if s.kind is SegmentKind.STEP and s.block == 0)
    assert engine.kv.num_used == 0


def test_prefix_cache_shares_prompts_across_requests(new_engine):
    engine = new_engine(kv_budget=1000, max_batch_tokens=256)
    prompt = list(range(3000, 3030))
    rids = [steered(engine, prompt, [[2, 3]], SamplingParams(seed=i, max_tokens=100)) for i in range(3)]
    drain(engine)
    assert all(engine._results[r].finish_reason == "stop" for r in rids)
    assert engine.cache.num_slots == 30
    assert engine.kv.num_used == 30  # only the cached prompt is left
    # a new request reuses the cached prompt: its trunk starts with the cached slots
    rid = steered(engine, prompt + [4000, 4001], [[1]])
    engine.step()
    req = engine._requests[rid]
    assert req.trunk.slots[:30] == engine.cache.match(prompt)
    assert (engine.kv.refcount[req.trunk.slots[:30]] == 2).all()  # the cache and the new trunk
    check_accounting(engine)
    drain(engine)
    engine.flush_cache()
    assert engine.kv.num_used == 0


# ---- flow control: deterministic scenarios ---------------------------------------------------------------------------


def test_tight_budget_preempts_and_every_request_finishes_within_budgets(new_engine):
    engine = new_engine(kv_budget=160, max_batch_tokens=24, max_running=4)
    cases = []
    for i in range(6):
        prompt = list(range(2000 + 100 * i, 2015 + 100 * i + 3 * (i % 3)))
        params = SamplingParams(seed=i, max_tokens=30 + i, max_total_tokens=60 + 5 * i)
        mode = "sequential" if i == 4 else "parallel"
        shape = [[3, 4, 2], [5]] if i % 2 else [[6, 6]]
        cases.append((engine.submit(prompt, params, mode, steer=engine.shape_steer(shape)), params))
    drain(engine, max_steps=2000)
    results = {rid: engine._results.pop(rid) for rid, _ in cases}
    for rid, params in cases:
        check_trajectory(results[rid], params, engine.tags)
        assert results[rid].finish_reason in {"stop", "length"}
    assert sum(t.stats["preemptions"] for t in results.values()) > 0, "the store was meant to be too small for all"
    engine.flush_cache()
    assert engine.kv.num_used == 0


def test_request_bigger_than_the_store_finishes_with_length(new_engine):
    engine = new_engine(kv_budget=40, prefix_cache=False)
    rid = steered(engine, list(range(1000, 1010)), [[12, 12]])
    drain(engine, max_steps=200)
    traj = engine._results.pop(rid)
    assert traj.finish_reason == "length"
    assert engine.kv.num_used == 0


@pytest.mark.parametrize("cut", ["store", "abort"])
def test_request_cut_inside_a_block_is_still_laid_out(new_engine, cut):
    """A trajectory that ends while its branches are open - out of KV, or aborted - must still be a valid topology.

    DESIGN §3: every engine trajectory can be laid out (the parity invariant and the RL log-prob pass need it), and
    the engine's own comment in ``_trajectory`` says "engine output is well formed by construction".
    """
    engine = new_engine(kv_budget=40 if cut == "store" else 1000, prefix_cache=False)
    rid = steered(engine, list(range(1000, 1010)), [[12, 12]])
    if cut == "store":
        drain(engine, max_steps=200)
        traj = engine._results.pop(rid)
        assert traj.finish_reason == "length"
    else:
        while not engine._requests[rid].branches or len(engine._requests[rid].branches[1].tokens) < 8:
            step_checked(engine)
        traj = engine.abort(rid)
        assert traj.finish_reason == "aborted"
    assert traj.stats["forks"] == 1
    assert "layout_error" not in traj.stats, traj.stats.get("layout_error")
    lay = layout(traj.token_ids, engine.tags, traj.prompt_len)  # raises TopologyError when malformed
    assert [s.kind for s in lay.segments].count(SegmentKind.STEP) == 2
    assert traj.segments
    assert engine.kv.num_used == 0


def test_admission_evicts_a_partly_matching_cache_edge_instead_of_deadlocking(new_engine):
    """A cached prompt that the next prompt shares only partly must not pin the store.

    Request A leaves a 60-token prompt in the cache of a 100-slot store. Request B shares A's first 10 tokens and
    needs 51 new slots; only 40 are free, and the cache's single edge cannot be evicted while B's match protects
    its first 10 slots. Nothing else runs, so B must be admitted (evicting the unshared tail, or the whole edge and
    recomputing the 10 tokens) - it fits in an empty store.
    """
    engine = new_engine(kv_budget=100, max_batch_tokens=64)
    a = list(range(1000, 1060))
    rid_a = engine.submit(a, SamplingParams(seed=1, max_tokens=2))
    drain(engine, max_steps=50)
    assert engine._results.pop(rid_a).finish_reason == "length"
    assert engine.cache.num_slots == engine.kv.num_used == 60
    b = a[:10] + list(range(2000, 2050))
    rid_b = engine.submit(b, SamplingParams(seed=1, max_tokens=2))
    drain(engine, max_steps=50)
    assert engine._results.pop(rid_b).finish_reason == "length"
    engine.flush_cache()
    assert engine.kv.num_used == 0


@pytest.mark.parametrize("when", [0, 1, 3, 8, 12, 20, 30])
def test_abort_at_any_point_returns_every_slot(new_engine, when):
    engine = new_engine(kv_budget=120, max_batch_tokens=8, max_running=2)
    shape = [[3, 4], [2]]
    params = SamplingParams(seed=0, max_tokens=200)
    first = steered(engine, list(range(1000, 1030)), shape, params)
    second = steered(engine, list(range(1000, 1020)) + [4000, 4001], shape, params)  # shares 20 tokens with the first
    for _ in range(when):
        if engine.has_work():
            step_checked(engine)
    traj = engine.abort(second)
    if traj is None:  # already finished
        traj = engine._results.pop(second)
    check_trajectory(traj, params)
    check_accounting(engine)
    drain(engine, max_steps=300)
    assert engine._results.pop(first).finish_reason == "stop"
    engine.flush_cache()
    assert engine.kv.num_used == 0
    engine.kv.check()


def test_abort_of_a_preempted_request_returns_every_slot(new_engine):
    engine = new_engine(kv_budget=100, max_batch_tokens=16, max_running=3, prefix_cache=False)
    rids = [steered(engine, list(range(1000 + 40 * i, 1025 + 40 * i)), [[5, 5]]) for i in range(3)]
    victim = None
    for _ in range(200):
        step_checked(engine)
        waiting = [r for r in engine.scheduler.waiting if r.preemptions]
        if waiting:
            victim = waiting[0].id
            break
    assert victim is not None, "the store was meant to be too small for three requests"
    traj = engine.abort(victim)
    assert traj.finish_reason == "aborted"
    assert traj.stats["preemptions"] >= 1
    check_accounting(engine)
    drain(engine, max_steps=500)
    for r in rids:
        if r != victim:
            assert engine._results.pop(r).finish_reason in {"stop", "length"}
    assert engine.kv.num_used == 0
