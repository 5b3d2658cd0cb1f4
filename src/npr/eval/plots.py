"""The four PNG plots of an evaluation report, drawn with matplotlib's file-only Agg backend (no display needed).

* ``accuracy.png`` - avg@k and best@k per benchmark;
* ``tokens_vs_critical_path.png`` - each sample's total tokens against its critical path (on the diagonal: no
  parallelism; a point at total = s x path, above the diagonal, has an ideal speedup of s);
* ``branches_per_block.png`` - how many plans the blocks asked for, split by whether they ran as real forks;
* ``test_time_scaling.png`` - avg@j, best@j (and pass@j, dashed) for j = 1..k.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PLOTS = {
    "accuracy": "accuracy.png",
    "tokens": "tokens_vs_critical_path.png",
    "branches": "branches_per_block.png",
    "scaling": "test_time_scaling.png",
}


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _empty(ax, what: str) -> None:
    ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def write_plots(
    folder: Path, summary: Mapping[str, Any], records_by_benchmark: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, str]:
    """Draw every plot into ``folder``; returns {plot: file name}."""
    plt = pyplot()
    benches = summary["benchmarks"]
    names = list(benches)
    k = summary["overall"].get("k") or 1

    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(names) + 2), 3.6))
    xs = range(len(names))
    width = 0.38
    avg = [100 * (benches[n]["avg_at_k"] or 0) for n in names]
    best = [100 * (benches[n]["best_at_k"] or 0) for n in names]
    ax.bar([x - width / 2 for x in xs], avg, width, label=f"avg@{k}")
    ax.bar([x + width / 2 for x in xs], best, width, label=f"best@{k}")
    ax.set_xticks(list(xs), names, rotation=20, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend()
    ax.set_title("Accuracy by benchmark")
    _save(plt, fig, folder / PLOTS["accuracy"])

    fig, ax = plt.subplots(figsize=(5.0, 4.2))
    top = 1
    for name in names:
        pts = [(r["stats"].get("critical_path_tokens"), r["stats"].get("total_tokens")) for r in records_by_benchmark[name]]
        pts = [(c, t) for c, t in pts if c is not None and t is not None]
        if pts:
            ax.scatter([c for c, _ in pts], [t for _, t in pts], s=12, alpha=0.6, label=name)
            top = max(top, max(max(c, t) for c, t in pts))
    if top > 1:
        ax.plot([0, top], [0, top], color="0.5", linewidth=1, linestyle="--", label="sequential (total = path)")
        ax.set_xlabel("critical-path tokens")
        ax.set_ylabel("total tokens (all branches)")
        ax.legend(fontsize=8)
    else:
        _empty(ax, "no token counts")
    ax.set_title("Tokens against critical path")
    _save(plt, fig, folder / PLOTS["tokens"])

    fig, ax = plt.subplots(figsize=(5.0, 3.6))
    forked: Counter[int] = Counter()
    unforked: Counter[int] = Counter()
    for recs in records_by_benchmark.values():
        for r in recs:
            plans = list(r["format"]["plans_per_block"])
            branches = Counter(r["stats"].get("branches_per_block") or [])
            for p in plans:
                if branches[p] > 0:
                    branches[p] -= 1
                    forked[p] += 1
                else:
                    unforked[p] += 1
    ks = sorted(set(forked) | set(unforked))
    if ks:
        ax.bar(ks, [forked[x] for x in ks], label="ran as real forks")
        ax.bar(ks, [unforked[x] for x in ks], bottom=[forked[x] for x in ks], label="text only (not forked)")
        ax.set_xticks(ks)
        ax.set_xlabel("plans (branches) in the block")
        ax.set_ylabel("blocks")
        ax.legend(fontsize=8)
    else:
        _empty(ax, "no Map-Process-Reduce blocks in any response")
    ax.set_title("Branches per block")
    _save(plt, fig, folder / PLOTS["branches"])

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    drawn = False
    for i, name in enumerate(names):
        curves = benches[name]["curves"]
        color = f"C{i % 10}"
        for key, style, label in (("avg_at", "-", "avg"), ("best_at", "-.", "best"), ("pass_at", ":", "pass")):
            pts = sorted((int(j), 100 * v) for j, v in curves[key].items())
            if pts:
                drawn = True
                ax.plot([j for j, _ in pts], [v for _, v in pts], style, color=color, marker="o", markersize=3,
                        label=f"{name} {label}@j")  # fmt: skip
    if drawn:
        ax.set_xlabel("samples per problem (j)")
        ax.set_ylabel("accuracy (%)")
        ax.set_xticks(range(1, k + 1))
        ax.legend(fontsize=7, ncol=2)
    else:
        _empty(ax, "no samples")
    ax.set_title("Test-time scaling")
    _save(plt, fig, folder / PLOTS["scaling"])
    return dict(PLOTS)


def _save(plt, fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
