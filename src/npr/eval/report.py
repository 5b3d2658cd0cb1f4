"""Turn the records of a run into ``summary.json``, ``report.md`` and the plots.

``summary.json`` is ``{"benchmarks": {NAME: {...}}, "overall": {...}, "config": {...}}``, with the metric keys of
:func:`npr.eval.metrics.benchmark_metrics`. Only records that belong to the run's current scope count: its
benchmarks, the problems within its ``--limit`` and samples below its ``k``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from npr.eval.config import machine_info
from npr.eval.metrics import benchmark_metrics, overall_metrics
from npr.eval.plots import PLOTS, write_plots

#: The longest example response the report quotes, in characters.
EXAMPLE_CHARS = 4000

#: The columns of the report's main table: (summary key, header, how to show it).
COLUMNS = (
    ("problems", "problems", "{:d}"),
    ("n", "n", "{:d}"),
    ("avg_at_k", "avg@k", "pct"),
    ("pass_at_k", "pass@k", "pct"),
    ("best_at_k", "best@k", "pct"),
    ("format_score", "format", "{:.3f}"),
    ("invalid_share", "invalid", "pct"),
    ("parallel_rate", "parallel rate", "pct"),
    ("genuine_parallel_share", "genuine", "pct"),
    ("mean_total_tokens", "tokens", "{:.0f}"),
    ("mean_critical_path_tokens", "critical path", "{:.0f}"),
    ("ideal_speedup", "ideal speedup", "{:.2f}x"),
    ("tokens_per_second", "tok/s", "{:.1f}"),
    ("seconds_per_problem", "s/problem", "{:.2f}"),
    ("mean_latency_seconds", "latency s", "{:.2f}"),
)


def cell(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    if fmt == "pct":
        return f"{100 * value:.1f}%"
    return fmt.format(value)


def in_scope(records: Sequence[Mapping[str, Any]], scope: Mapping[str, set[str]], k: int) -> dict[str, list]:
    """Records by benchmark, keeping only the benchmarks and problem ids of ``scope`` and samples below ``k``."""
    out: dict[str, list] = {name: [] for name in scope}
    for r in records:
        ids = scope.get(r["benchmark"])
        if ids is not None and str(r["item_id"]) in ids and int(r["sample"]) < k:
            out[r["benchmark"]].append(r)
    return out


def summarize(by_benchmark: Mapping[str, Sequence[Mapping[str, Any]]], k: int, config: Mapping[str, Any]) -> dict:
    benches = {name: benchmark_metrics(recs, k) for name, recs in by_benchmark.items() if recs}
    return {"benchmarks": benches, "overall": overall_metrics(benches), "config": dict(config)}


def write_outputs(folder: Path, config, tasks, records: Sequence[Mapping[str, Any]], *, title: str | None = None) -> dict:
    """Write summary.json, the plots and report.md for ``records`` of ``tasks``; returns the summary."""
    scope = {t.name: {str(i.id) for i in t.items} for t in tasks}
    by_benchmark = in_scope(records, scope, config.k)
    summary = summarize(by_benchmark, config.k, {**config.to_dict(), "machine": machine_info()})
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if summary["benchmarks"]:
        write_plots(folder, summary, by_benchmark)
    (folder / "report.md").write_text(render_report(summary, by_benchmark, title=title))
    return summary


def render_report(summary: Mapping[str, Any], by_benchmark, *, title: str | None = None) -> str:
    cfg = summary["config"]
    k = cfg.get("k")
    lines = [f"# {title or 'npr eval report'}", ""]
    lines += [
        f"- model: `{cfg.get('model')}`",
        f"- mode: **{cfg.get('mode')}** decoding, `{cfg.get('prompt')}` prompt, k = {k}",
        f"- sampling: temperature {cfg.get('temperature')}, top-p {cfg.get('top_p')}, top-k {cfg.get('top_k')}, "
        f"seed {cfg.get('seed')}",
        f"- budgets: {cfg.get('max_tokens')} critical-path tokens per sample, "
        f"{cfg.get('max_total_tokens') or '8x that'} over all branches",
        "",
        "Metric definitions and formulas: docs/EVAL.md. Accuracies in the overall row are means over benchmarks;",
        "tokens and time are pooled over samples.",
        "",
    ]
    if not summary["benchmarks"]:
        return "\n".join(lines + ["No samples yet.", ""])
    head = "| benchmark | " + " | ".join(h for _, h, _ in COLUMNS) + " |"
    lines += [head, "|" + "---|" * (len(COLUMNS) + 1)]
    rows = list(summary["benchmarks"].items()) + [("**overall**", summary["overall"])]
    for name, m in rows:
        lines.append(f"| {name} | " + " | ".join(cell(m.get(key), fmt) for key, _, fmt in COLUMNS) + " |")
    lines += ["", "## Plots", ""]
    for key, file in PLOTS.items():
        lines.append(f"![{key}]({file})")
    lines += ["", "## Test-time scaling", ""]
    js = range(1, (k or 1) + 1)
    lines.append("| benchmark | " + " | ".join(f"j={j}" for j in js) + " |")
    lines.append("|" + "---|" * (len(js) + 1))
    for name, m in summary["benchmarks"].items():
        c = m["curves"]
        lines.append(
            f"| {name} avg@j / best@j / pass@j | "
            + " | ".join(
                " / ".join(cell(c[key].get(str(j)), "pct") for key in ("avg_at", "best_at", "pass_at")) for j in js
            )
            + " |"
        )
    lines += ["", "## How samples ended", ""]
    for name, m in summary["benchmarks"].items():
        fin = ", ".join(f"{r}: {n}" for r, n in m["finish_reasons"].items())
        grades = ", ".join(f"{r}: {n}" for r, n in m["grade_reasons"].items())
        lines.append(f"- **{name}** - finish: {fin}; grades: {grades}")
    example = _example(by_benchmark)
    if example:
        lines += ["", "## An example response", "", example]
    return "\n".join(lines) + "\n"


def _example(by_benchmark) -> str | None:
    """The shortest correct response with a parallel block, else the shortest correct one, else none."""
    recs = [r for rs in by_benchmark.values() for r in rs if r["grade"]["correct"]]
    if not recs:
        return None
    par = [r for r in recs if r["format"]["parallel_blocks"]]
    r = min(par or recs, key=lambda r: len(r["response"]))
    text = r["response"]
    if len(text) > EXAMPLE_CHARS:
        text = text[:EXAMPLE_CHARS] + "\n[... cut ...]"
    head = f"{r['benchmark']} problem `{r['item_id']}`, sample {r['sample']} (gold `{r['answer']}`):"
    return head + "\n\n```text\n" + text.replace("```", "`\u200b``") + "\n```"


def console_table(summary: Mapping[str, Any]) -> str:
    """The main table of the report as aligned plain text, for the terminal."""
    cols = [c for c in COLUMNS if c[0] not in ("n",)]
    table = [["benchmark"] + [h for _, h, _ in cols]]
    rows = list(summary["benchmarks"].items())
    if len(rows) > 1:
        rows.append(("overall", summary["overall"]))
    for name, m in rows:
        table.append([name] + [cell(m.get(key), fmt) for key, _, fmt in cols])
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in table
    )
