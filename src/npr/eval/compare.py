"""``npr eval --compare A B``: accuracy deltas and speedups of run B over run A, from their ``summary.json``.

For every benchmark both runs have, and overall:

* accuracy deltas in points, B - A: avg@k, best@k, pass@k;
* ``throughput_ratio`` = tokens_per_second(B) / tokens_per_second(A): the measured token throughput speedup (the
  paper's 4.6x compares NPR's parallel decoding with sequential decoding of the same model this way);
* ``latency_speedup`` = mean_latency_seconds(A) / mean_latency_seconds(B): one request's wall clock, from
  submission to its last token;
* ``problem_time_speedup`` = seconds_per_problem(A) / seconds_per_problem(B): the whole run's wall clock per problem
  (with many requests in flight this is the inverse of throughput, not a latency);
* ``critical_path_speedup`` = mean_critical_path_tokens(A) / mean_critical_path_tokens(B): the latency-bound
  speedup that the token counts alone predict;
* ``token_ratio`` = mean_total_tokens(B) / mean_total_tokens(A): how much more (or less) B generates in all.

Timings compare fairly only when both runs used the same machine and batch size, and accuracies only on the same
problems with the same k: :func:`compare_runs` lists every such difference under ``warnings``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DELTAS = ("avg_at_k", "best_at_k", "pass_at_k", "parallel_rate")
RATIOS = {
    "throughput_ratio": ("tokens_per_second", False),
    "latency_speedup": ("mean_latency_seconds", True),
    "problem_time_speedup": ("seconds_per_problem", True),
    "critical_path_speedup": ("mean_critical_path_tokens", True),
    "token_ratio": ("mean_total_tokens", False),
}


def load_summary(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "summary.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: pass folders written by `npr eval --out DIR`")
    try:
        summary = json.loads(path.read_text())
        summary["benchmarks"], summary["overall"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} is not an npr eval summary ({exc})") from None
    return summary


def _ratio(a: float | None, b: float | None, inverse: bool) -> float | None:
    num, den = (a, b) if inverse else (b, a)
    if num is None or not den:
        return None
    return num / den


def compare_metrics(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The deltas and ratios of one pair of metric dicts (B relative to A)."""
    out: dict[str, Any] = {}
    for key in DELTAS:
        va, vb = a.get(key), b.get(key)
        out[f"{key}_delta"] = vb - va if va is not None and vb is not None else None
    for name, (key, inverse) in RATIOS.items():
        out[name] = _ratio(a.get(key), b.get(key), inverse)
    return out


def compare_runs(dir_a: str | Path, dir_b: str | Path) -> dict[str, Any]:
    sa, sb = load_summary(dir_a), load_summary(dir_b)
    common = [n for n in sa["benchmarks"] if n in sb["benchmarks"]]
    if not common:
        raise ValueError(
            f"{dir_a} ({', '.join(sa['benchmarks']) or 'none'}) and {dir_b} ({', '.join(sb['benchmarks']) or 'none'}) "
            "share no benchmark"
        )
    rows = {n: compare_metrics(sa["benchmarks"][n], sb["benchmarks"][n]) for n in common}
    a_only = [n for n in sa["benchmarks"] if n not in sb["benchmarks"]]
    b_only = [n for n in sb["benchmarks"] if n not in sa["benchmarks"]]
    return {
        "warnings": _differences(sa, sb, common),
        "a": {"dir": str(dir_a), "config": sa.get("config", {})},
        "b": {"dir": str(dir_b), "config": sb.get("config", {})},
        "benchmarks": rows,
        "overall": compare_metrics(sa["overall"], sb["overall"]) if not (a_only or b_only) else None,
        "only_in_a": a_only,
        "only_in_b": b_only,
    }


def _differences(sa: dict[str, Any], sb: dict[str, Any], common: list[str]) -> list[str]:
    """What makes the two runs less than comparable: other k, other problems, other batch, another machine."""
    out = []
    ca, cb = sa.get("config", {}), sb.get("config", {})
    for key, why in (("k", "accuracies at other k"), ("batch", "throughput at another batch size"),
                     ("dtype", "another precision"), ("max_tokens", "another token budget")):  # fmt: skip
        if ca.get(key) != cb.get(key):
            out.append(f"{key} differs ({ca.get(key)} vs {cb.get(key)}): {why}")
    for name in common:
        pa, pb = sa["benchmarks"][name].get("problems"), sb["benchmarks"][name].get("problems")
        if pa != pb:
            out.append(f"{name}: {pa} vs {pb} problems; the accuracies are over different sets")
    ma, mb = ca.get("machine"), cb.get("machine")
    if ma and mb and ma != mb:
        out.append(f"the runs were timed on different machines ({ma.get('cpu') or ma} vs {mb.get('cpu') or mb})")
    return out


def render_comparison(result: dict[str, Any]) -> str:
    def describe(side: str) -> str:
        c = result[side]["config"]
        return f"{side.upper()} = {result[side]['dir']} ({c.get('mode', '?')}, k={c.get('k', '?')}, {c.get('model', '?')})"

    def pts(v):
        return "–" if v is None else f"{100 * v:+.1f}"

    def x(v):
        return "–" if v is None else f"{v:.2f}x"

    lines = [describe("a"), describe("b"), "B relative to A:", ""]
    head = [
        "benchmark", "avg@k Δ", "best@k Δ", "pass@k Δ", "par.rate Δ", "throughput", "latency", "s/problem",
        "crit.path", "tokens",
    ]  # fmt: skip
    table = [head]
    rows = list(result["benchmarks"].items())
    if result["overall"] is not None:
        rows.append(("overall", result["overall"]))
    for name, r in rows:
        table.append([
            name, pts(r["avg_at_k_delta"]), pts(r["best_at_k_delta"]), pts(r["pass_at_k_delta"]),
            pts(r["parallel_rate_delta"]), x(r["throughput_ratio"]), x(r["latency_speedup"]),
            x(r["problem_time_speedup"]), x(r["critical_path_speedup"]), x(r["token_ratio"]),
        ])  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for row in table:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    lines += [
        "",
        "Δ: accuracy points (B - A). throughput: tok/s B/A. latency: mean request wall clock A/B. s/problem: run "
        "wall clock per problem A/B. crit.path: critical-path tokens A/B. tokens: total tokens B/A.",
    ]
    for warning in result["warnings"]:
        lines.append(f"warning: {warning}")
    for side in ("a", "b"):
        if result[f"only_in_{side}"]:
            lines.append(f"Only in {side.upper()} (not compared): {', '.join(result[f'only_in_{side}'])}")
    return "\n".join(lines)
