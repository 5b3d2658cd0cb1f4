r"""Evaluation metrics: accuracy estimators, format and parallelism figures, tokens and time (DESIGN §6).

Everything here is computed from the per-sample records of ``results.jsonl`` (see :mod:`npr.eval.records`), so a
summary can always be recomputed from the results file alone, whether the samples came from ``npr eval`` or from
``npr eval --score``. ``docs/EVAL.md`` gives each metric's formula; the keys of :func:`benchmark_metrics` are the
names used in ``summary.json``.

Accuracy, for problems :math:`i = 1..P` with :math:`n_i` samples of which :math:`c_i` are correct:

* ``avg_at_k``  = mean_i c_i / n_i                                      (expected accuracy of one sample)
* ``pass_at_k`` = mean_i 1 - C(n_i - c_i, k) / C(n_i, k)                (unbiased estimator, Chen et al. 2021)
* ``best_at_k`` = mean_i [any of the first k samples is correct]        (what was observed, not an expectation)

With ``n_i = k`` the last two coincide; they differ on the test-time scaling curve, where ``j < k``: ``pass_at``
averages over every j-subset of the samples, ``best_at`` looks at samples ``0..j-1`` only. A problem of an
unfinished run (``n_i < k``) counts with what it has: its pass@k is pass@n_i.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: The accuracy-type metrics, averaged over benchmarks (macro) in the overall summary.
MACRO_KEYS = ("avg_at_k", "pass_at_k", "best_at_k", "mean_score", "format_score", "invalid_share", "parallel_rate")


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator: the chance that a random k-subset of n samples, c correct, holds a correct one.

    ``1 - C(n-c, k) / C(n, k)``, computed as a product so that it stays exact-ish for large n.
    """
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k needs 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"pass_at_k needs 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    # C(n-c, k) / C(n, k) = prod_{i<k} (n-c-i) / (n-i)
    miss = 1.0
    for i in range(k):
        miss *= (n - c - i) / (n - i)
    return 1.0 - miss


def _mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return sum(vals) / len(vals) if vals else None


def by_problem(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Group records by ``item_id``, each group sorted by ``sample`` (the order samples were seeded in)."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        groups[str(r["item_id"])].append(r)
    return {i: sorted(g, key=lambda r: r["sample"]) for i, g in groups.items()}


def accuracy_curves(correct: Sequence[Sequence[bool]], k: int) -> dict[str, dict[int, float]]:
    """avg@j, pass@j and best@j for j = 1..k, over problems given as lists of per-sample verdicts (sample order).

    A problem with fewer than j samples (an unfinished run) does not count towards the j-th point.
    """
    curves: dict[str, dict[int, float]] = {"avg_at": {}, "pass_at": {}, "best_at": {}}
    for j in range(1, k + 1):
        ready = [c for c in correct if len(c) >= j]
        if not ready:
            break
        curves["avg_at"][j] = sum(sum(c[:j]) / j for c in ready) / len(ready)
        curves["pass_at"][j] = sum(pass_at_k(len(c), sum(c), j) for c in ready) / len(ready)
        curves["best_at"][j] = sum(any(c[:j]) for c in ready) / len(ready)
    return curves


def generation_seconds(records: Iterable[Mapping[str, Any]]) -> float | None:
    """Wall-clock seconds spent generating ``records``, summed over the sessions that produced them.

    Each record carries ``session`` and ``elapsed`` (seconds from the start of its benchmark in that session to the
    moment it finished), so a session lasted as long as its last finished record; work in flight when a run was
    killed is counted neither in time nor in tokens. None when the records carry no timing (``--score``).
    """
    last: dict[Any, float] = {}
    for r in records:
        if r.get("elapsed") is None:
            continue
        key = r.get("session")
        last[key] = max(last.get(key, 0.0), float(r["elapsed"]))
    return sum(last.values()) if last else None


def benchmark_metrics(records: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any]:
    """The summary of one benchmark's records (see the module docstring and docs/EVAL.md for each key)."""
    problems = by_problem(records)
    correct = [[bool(r["grade"]["correct"]) for r in g] for g in problems.values()]
    curves = accuracy_curves(correct, k)
    kk = {i: min(k, len(c)) for i, c in enumerate(correct)}
    fmt = [r["format"] for r in records]
    totals = [r["stats"].get("total_tokens") for r in records]
    crits = [r["stats"].get("critical_path_tokens") for r in records]
    known = [(t, c) for t, c in zip(totals, crits) if t is not None and c is not None]
    formatted = sum(f["parallel_blocks"] for f in fmt)
    forked = sum(f["forked_parallel_blocks"] for f in fmt)
    seconds = generation_seconds(records)
    tokens = sum(t for t, _ in known)
    mean_total = _mean(t for t, _ in known)
    mean_crit = _mean(c for _, c in known)
    return {
        "n": len(records),
        "k": k,
        "problems": len(problems),
        "avg_at_k": _mean(sum(c) / len(c) for c in correct),
        "pass_at_k": _mean(pass_at_k(len(c), sum(c), kk[i]) for i, c in enumerate(correct)),
        "best_at_k": _mean(float(any(c[:k])) for c in correct),
        "mean_score": _mean(float(r["grade"].get("score", float(r["grade"]["correct"]))) for r in records),
        "format_score": _mean(f["reward"] for f in fmt),
        "invalid_share": _mean(float(not f["valid"]) for f in fmt),
        "parallel_rate": _mean(float(f["forked_parallel_blocks"] > 0) for f in fmt),
        "genuine_parallel_share": forked / formatted if formatted else None,
        "parallel_blocks": formatted,
        "forked_parallel_blocks": forked,
        "mean_total_tokens": mean_total,
        "mean_critical_path_tokens": mean_crit,
        "ideal_speedup": mean_total / mean_crit if mean_total is not None and mean_crit else None,
        "token_samples": len(known),
        "timed_tokens": tokens,
        "tokens_per_second": tokens / seconds if seconds else None,
        "seconds_per_problem": seconds / len(problems) if seconds is not None and problems else None,
        "mean_latency_seconds": _mean(
            float(r["stats"]["wall_time"]) for r in records if r["stats"].get("wall_time") is not None
        ),
        "generation_seconds": seconds,
        "curves": {name: {str(j): v for j, v in c.items()} for name, c in curves.items()},
        "finish_reasons": _counts(r.get("finish_reason") for r in records),
        "grade_reasons": _counts(str(r["grade"]["reason"]).split(":")[0] for r in records),
    }


def _counts(values: Iterable[Any]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for v in values:
        out[str(v)] += 1
    return dict(sorted(out.items()))


def overall_metrics(per_benchmark: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Across benchmarks, from their summaries.

    Accuracy-type metrics (:data:`MACRO_KEYS`) are the mean over benchmarks, so each benchmark weighs the same, as
    in the paper's average column. Counts, tokens, parallelism and time are pooled over all samples.
    """
    ms = list(per_benchmark.values())
    out: dict[str, Any] = {"benchmarks": len(ms)}
    for key in MACRO_KEYS:
        vals = [m[key] for m in ms if m.get(key) is not None]
        out[key] = sum(vals) / len(vals) if vals else None
    out["n"] = sum(m["n"] for m in ms)
    out["k"] = max((m["k"] for m in ms), default=None)
    out["problems"] = sum(m["problems"] for m in ms)
    formatted = sum(m["parallel_blocks"] for m in ms)
    forked = sum(m["forked_parallel_blocks"] for m in ms)
    out["genuine_parallel_share"] = forked / formatted if formatted else None
    out["parallel_blocks"], out["forked_parallel_blocks"] = formatted, forked
    known = [m for m in ms if m["token_samples"]]
    samples = sum(m["token_samples"] for m in known)
    total = sum(m["mean_total_tokens"] * m["token_samples"] for m in known)
    crit = sum(m["mean_critical_path_tokens"] * m["token_samples"] for m in known)
    out["token_samples"] = samples
    out["mean_total_tokens"] = total / samples if samples else None
    out["mean_critical_path_tokens"] = crit / samples if samples else None
    out["ideal_speedup"] = total / crit if crit else None
    timed = [m for m in ms if m.get("generation_seconds")]
    seconds = sum(m["generation_seconds"] for m in timed)
    out["generation_seconds"] = seconds if timed else None
    out["tokens_per_second"] = sum(m["timed_tokens"] for m in timed) / seconds if timed else None
    out["seconds_per_problem"] = seconds / sum(m["problems"] for m in timed) if timed else None
    lat = [(m["mean_latency_seconds"], m["n"]) for m in ms if m.get("mean_latency_seconds") is not None]
    out["mean_latency_seconds"] = sum(v * n for v, n in lat) / sum(n for _, n in lat) if lat else None
    return out
