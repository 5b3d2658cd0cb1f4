"""GradePool: results in order, the same verdicts as inline grading, and a hard timeout that kills and replaces."""

from __future__ import annotations

import time

import pytest

from npr.rewards import Grade, GradePool, grade

from .cases import CASES
from .kinds import register_test_kinds

POOL_TIMEOUT = 2.5


@pytest.fixture(scope="module")
def pool():
    with GradePool(workers=2, timeout=POOL_TIMEOUT, initializer=register_test_kinds) as shared:
        yield shared


def test_map_keeps_order_when_items_finish_out_of_order(pool: GradePool) -> None:
    delays = [0.3, 0.0, 0.15, 0.0, 0.05, 0.0]
    results = pool.map([(f"item{index}", delay, "test_sleep", {}) for index, delay in enumerate(delays)])
    assert [result.extracted for result in results] == [f"item{index}" for index in range(len(delays))]


def test_map_runs_items_concurrently(pool: GradePool) -> None:
    pool.map([("warm", 0, "test_sleep", {})] * 2)
    started = time.monotonic()
    pool.map([("a", 0.6, "test_sleep", {}), ("b", 0.6, "test_sleep", {})])
    assert time.monotonic() - started < 1.1


def test_pool_gives_the_same_grades_as_inline(pool: GradePool) -> None:
    jobs = [(case.response, case.answer, case.kind, dict(case.options)) for case in CASES]
    assert pool.map(jobs) == [grade(response, answer, kind, **options) for response, answer, kind, options in jobs]


def test_hanging_item_is_killed_and_the_pool_recovers(pool: GradePool) -> None:
    register_test_kinds()  # in this process too, so that the pool can fill `extracted` for the killed item
    started = time.monotonic()
    results = pool.map([("stuck forever", 600, "test_sleep", {}), (r"\boxed{2}", "2", "math", {})])
    elapsed = time.monotonic() - started
    assert results[0] == Grade(False, "stuck", f"timeout: over {POOL_TIMEOUT:g} s (worker killed)", 0.0)
    assert results[1].correct
    assert POOL_TIMEOUT <= elapsed < POOL_TIMEOUT + 5
    after = pool.map([(r"\boxed{3}", "3", "math", {}), ("ok", 0, "test_sleep", {})])
    assert [result.correct for result in after] == [True, True]


def test_dead_worker_is_reported_and_replaced(pool: GradePool) -> None:
    result = pool.grade("boom", 3, "test_exit")
    assert result.code == "worker_died" and not result.correct
    assert pool.grade(r"\boxed{4}", "4").correct


def test_bad_gold_raises_in_the_caller_and_the_pool_goes_on(pool: GradePool) -> None:
    with pytest.raises(ValueError, match="math gold answer"):
        pool.map([(r"\boxed{1}", None, "math", {}), (r"\boxed{1}", "1", "math", {})])
    with pytest.raises(ValueError, match="unknown grading kind"):
        pool.grade("x", "1", "no_such_kind")
    assert pool.grade("Answer: (C)", "C", "choice").correct


def test_the_soft_bound_in_the_worker_follows_the_pool_timeout(pool: GradePool) -> None:
    assert pool.grade("", None, "test_timeout").extracted == repr(0.9 * POOL_TIMEOUT)
    assert pool.grade("", None, "test_timeout", timeout=1.0).extracted == "1.0"  # the caller's own bound wins
    with GradePool(workers=1, timeout=30.0, initializer=register_test_kinds) as long:
        # Not capped at grade's default of 5 s: --grade-timeout 30 gives an item 27 s before it is cut softly.
        assert long.grade("", None, "test_timeout").extracted == repr(0.9 * 30.0)


def test_unknown_option_raises_in_the_caller(pool: GradePool) -> None:
    with pytest.raises(ValueError, match="its options are: timeout, tolerance"):
        pool.grade(r"\boxed{1}", "1", choices=4)
    assert pool.grade(r"\boxed{4.25}", "4.2", tolerance=0.1).correct


def test_workers_do_not_import_torch(pool: GradePool) -> None:
    assert pool.grade("", None, "test_modules").extracted == ""


def test_closed_pool_refuses_work() -> None:
    closed = GradePool(workers=1, timeout=1.0)
    closed.close()
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        closed.grade(r"\boxed{1}", "1")


@pytest.mark.parametrize("workers, timeout", [(0, 1.0), (1, 0), (1, -1.0), (True, 1.0)])
def test_pool_arguments_are_checked(workers: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        GradePool(workers=workers, timeout=timeout)


def test_short_jobs_default_to_math(pool: GradePool) -> None:
    results = pool.map([(r"\boxed{1}", "1"), ("Answer: B", "B", "choice")])
    assert [result.correct for result in results] == [True, True]
