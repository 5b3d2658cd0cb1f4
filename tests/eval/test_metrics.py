"""The metric estimators against brute-force enumeration, and the summary fields against hand counts."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npr.eval.metrics import accuracy_curves, benchmark_metrics, generation_seconds, overall_metrics, pass_at_k


def brute_pass_at_k(verdicts: list[bool], k: int) -> float:
    """The share of all k-subsets of the samples that hold at least one correct sample."""
    subsets = list(itertools.combinations(range(len(verdicts)), k))
    return sum(any(verdicts[i] for i in s) for s in subsets) / len(subsets)


@given(st.lists(st.booleans(), min_size=1, max_size=10), st.data())
@settings(max_examples=300, deadline=None)
def test_pass_at_k_equals_enumeration_of_subsets(verdicts, data):
    k = data.draw(st.integers(1, len(verdicts)))
    assert pass_at_k(len(verdicts), sum(verdicts), k) == pytest.approx(brute_pass_at_k(verdicts, k), abs=1e-12)


def test_pass_at_k_closed_form_and_edges():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 2) == pytest.approx(1 - math.comb(7, 2) / math.comb(10, 2))
    assert pass_at_k(5, 0, 5) == 0.0
    assert pass_at_k(5, 4, 2) == 1.0  # any 2 of 5 hold a correct one when only one is wrong
    with pytest.raises(ValueError, match="1 <= k <= n"):
        pass_at_k(4, 1, 5)
    with pytest.raises(ValueError, match="0 <= c <= n"):
        pass_at_k(4, 5, 1)


@given(st.lists(st.lists(st.booleans(), min_size=1, max_size=6), min_size=1, max_size=6))
@settings(max_examples=200, deadline=None)
def test_curves_match_enumeration(problems):
    k = max(len(p) for p in problems)
    curves = accuracy_curves(problems, k)
    for j in range(1, k + 1):
        ready = [p for p in problems if len(p) >= j]
        assert curves["avg_at"][j] == pytest.approx(sum(sum(p[:j]) / j for p in ready) / len(ready))
        assert curves["best_at"][j] == pytest.approx(sum(any(p[:j]) for p in ready) / len(ready))
        assert curves["pass_at"][j] == pytest.approx(sum(brute_pass_at_k(p, j) for p in ready) / len(ready))
    # pass@j is the expectation of best@j over sample orders, so with every order enumerated they agree.
    p = problems[0]
    for j in range(1, len(p) + 1):
        orders = list(itertools.permutations(p))
        assert sum(any(o[:j]) for o in orders) / len(orders) == pytest.approx(brute_pass_at_k(list(p), j))


def _rec(item, sample, correct, *, reward=0.0, valid=True, plans=(), forked=(), total=10, crit=10, session=1,
         elapsed=1.0, score=None):  # fmt: skip
    return {
        "benchmark": "b", "item_id": item, "sample": sample, "finish_reason": "stop",
        "grade": {"correct": correct, "extracted": "x", "reason": "match" if correct else "mismatch",
                  "score": float(correct) if score is None else score},
        "format": {"reward": reward, "valid": valid, "codes": [], "blocks": len(plans), "plans_per_block": list(plans),
                   "parallel_blocks": sum(p >= 2 for p in plans), "forked_parallel_blocks": sum(b >= 2 for b in forked)},
        "stats": {"total_tokens": total, "critical_path_tokens": crit, "branches_per_block": list(forked)},
        "session": session, "elapsed": elapsed,
    }  # fmt: skip


def test_benchmark_metrics_by_hand():
    records = [
        # problem a: 1 of 2 correct; one parallel block forked (2 branches), one text-only parallel block
        _rec("a", 0, True, plans=(2, 3), forked=(2,), total=30, crit=15, elapsed=2.0),
        _rec("a", 1, False, reward=-1.0, valid=False, total=10, crit=10, elapsed=4.0),
        # problem c: 0 of 2; sample 1 from a second session
        _rec("c", 0, False, plans=(1,), forked=(1,), total=20, crit=20, elapsed=3.0),
        _rec("c", 1, False, reward=-2.0, valid=False, total=20, crit=5, session=2, elapsed=6.0),
    ]
    m = benchmark_metrics(records, k=2)
    assert (m["n"], m["k"], m["problems"]) == (4, 2, 2)
    assert m["avg_at_k"] == pytest.approx((0.5 + 0.0) / 2)
    assert m["pass_at_k"] == pytest.approx((1.0 + 0.0) / 2)
    assert m["best_at_k"] == pytest.approx(0.5)
    assert m["format_score"] == pytest.approx((0 - 1 + 0 - 2) / 4)
    assert m["invalid_share"] == pytest.approx(0.5)
    assert m["parallel_rate"] == pytest.approx(0.25)  # only the first response forked a k>=2 block
    assert m["parallel_blocks"] == 2 and m["forked_parallel_blocks"] == 1
    assert m["genuine_parallel_share"] == pytest.approx(0.5)
    assert m["mean_total_tokens"] == pytest.approx(20.0)
    assert m["mean_critical_path_tokens"] == pytest.approx(12.5)
    assert m["ideal_speedup"] == pytest.approx(20.0 / 12.5)
    # session 1 lasted until its last record (4.0 s), session 2 6.0 s
    assert m["generation_seconds"] == pytest.approx(10.0)
    assert m["tokens_per_second"] == pytest.approx(80 / 10.0)
    assert m["seconds_per_problem"] == pytest.approx(5.0)
    assert m["curves"]["avg_at"] == {"1": pytest.approx(0.5), "2": pytest.approx(0.25)}
    assert m["curves"]["best_at"] == {"1": pytest.approx(0.5), "2": pytest.approx(0.5)}
    assert m["grade_reasons"] == {"match": 1, "mismatch": 3}


def test_no_parallel_blocks_means_no_genuine_share_and_untimed_records_no_speed():
    records = [_rec("a", 0, True, elapsed=None, session=None)]
    m = benchmark_metrics(records, k=1)
    assert m["genuine_parallel_share"] is None
    assert m["tokens_per_second"] is None and m["seconds_per_problem"] is None
    assert generation_seconds(records) is None


def test_overall_is_macro_for_accuracy_and_pooled_for_tokens():
    one = benchmark_metrics([_rec("a", 0, True, total=10, crit=10, elapsed=1.0)], k=1)
    many = benchmark_metrics([_rec(str(i), 0, False, total=30, crit=10, elapsed=3.0) for i in range(3)], k=1)
    o = overall_metrics({"one": one, "many": many})
    assert o["avg_at_k"] == pytest.approx(0.5)  # (1.0 + 0.0) / 2 benchmarks, not 1/4 samples
    assert o["n"] == 4 and o["problems"] == 4
    assert o["mean_total_tokens"] == pytest.approx((10 + 90) / 4)
    assert o["ideal_speedup"] == pytest.approx(100 / 40)
    assert o["tokens_per_second"] == pytest.approx(100 / 4.0)
    assert o["seconds_per_problem"] == pytest.approx(4.0 / 4)
