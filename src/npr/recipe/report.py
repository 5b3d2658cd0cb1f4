"""The pipeline's results: one row per evaluated model, ``summary.json``, ``report.md`` and three plots.

Every figure is read back from the folders the run wrote (and the times from ``times.json``), so the report of a
resumed run is the report of the whole run. The row of a model (:func:`stage_row`):

* ``format_validity``: the share of valid responses in the mode the model was trained for (:data:`NATIVE_MODE`):
  sequential decoding for the base, ``zero`` and ``sr``, parallel decoding for ``beta`` and ``rl``; both are in
  ``format_validity_sequential`` and ``format_validity_parallel``. A model trained with the parallel topology
  decoded causally sees its siblings' steps, which it never saw in training, and writes little that is valid;
  in parallel mode the engine writes the step and join headers itself;
* ``accuracy_sequential`` / ``accuracy_parallel``: avg@k, the mean over the benchmarks;
* ``parallel_rate``, ``mean_branches`` (branches per block), ``total_tokens`` and ``critical_path_tokens`` (means
  per response), ``ideal_speedup`` (total / critical path): parallel mode;
* ``measured_speedup``: wall-clock seconds of sequential over parallel decoding of the same responses to the speed
  problems, one request at a time (:mod:`npr.recipe.speed`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from npr.recipe.config import MODEL_NAMES, PipelineConfig

ROW_KEYS = ("name", "format_validity", "accuracy_sequential", "accuracy_parallel", "parallel_rate", "mean_branches",
            "total_tokens", "critical_path_tokens", "ideal_speedup", "measured_speedup")  # fmt: skip
PLOTS = {"rewards": "rewards.png", "stages": "stages.png", "speedups": "speedups.png"}
#: The decoding each model was trained for, where its format validity is measured.
NATIVE_MODE = {"seed": "sequential", "zero": "sequential", "sr": "sequential", "beta": "parallel", "rl": "parallel"}


def _summary(folder: Path) -> dict[str, Any] | None:
    path = folder / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _mean_branches(folder: Path) -> float | None:
    from npr.eval.records import ResultsFile

    path = folder / "results.jsonl"
    if not path.is_file():
        return None
    blocks = [k for r in ResultsFile(path).load(repair=False) for k in r["stats"].get("branches_per_block") or []]
    return sum(blocks) / len(blocks) if blocks else None


def stage_row(folder: Path, name: str) -> dict[str, Any]:
    """The figures of one model from ``folder/eval/<mode>`` and ``folder/speed/<mode>`` (see the module)."""
    seq, par = _summary(folder / "eval" / "sequential"), _summary(folder / "eval" / "parallel")
    speed_file = folder / "speed" / "speed.json"
    speed = json.loads(speed_file.read_text()) if speed_file.is_file() else {}
    s, p = (seq or {}).get("overall", {}), (par or {}).get("overall", {})
    valid = {mode: None if o.get("invalid_share") is None else 1 - o["invalid_share"]
             for mode, o in (("sequential", s), ("parallel", p))}  # fmt: skip
    return {
        "name": name,
        "format_validity": valid[NATIVE_MODE.get(name, "sequential")],
        "format_validity_sequential": valid["sequential"],
        "format_validity_parallel": valid["parallel"],
        "accuracy_sequential": s.get("avg_at_k"),
        "accuracy_parallel": p.get("avg_at_k"),
        "parallel_rate": p.get("parallel_rate"),
        "mean_branches": _mean_branches(folder / "eval" / "parallel"),
        "total_tokens": p.get("mean_total_tokens"),
        "critical_path_tokens": p.get("mean_critical_path_tokens"),
        "ideal_speedup": p.get("ideal_speedup"),
        "measured_speedup": speed.get("measured_speedup"),
        "speed_seconds": {"sequential": speed.get("seconds_sequential"), "parallel": speed.get("seconds_parallel")},
        "speed_ideal_speedup": speed.get("ideal_speedup"),
        "benchmarks": {
            bench: {"accuracy_sequential": (seq or {}).get("benchmarks", {}).get(bench, {}).get("avg_at_k"),
                    "accuracy_parallel": m.get("avg_at_k"), "parallel_rate": m.get("parallel_rate"),
                    "ideal_speedup": m.get("ideal_speedup")}
            for bench, m in (par or {}).get("benchmarks", {}).items()
        },  # fmt: skip
    }


def rl_curves(out: Path, stages: Sequence[str]) -> dict[str, list[tuple[int, float]]]:
    """(step, mean reward) of every RL stage that logged metrics."""
    curves = {}
    for stage in stages:
        path = out / stage / "metrics.jsonl"
        if stage in ("zero", "rl", "sr") and path.is_file():
            rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
            curves[stage] = [(r["step"], r["reward_mean"]) for r in rows if r.get("reward_mean") is not None]
    return curves


def verdicts(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each stage against the one before it, on the figure that stage is meant to move; says so when it does not."""
    by = {r["name"]: r for r in rows}
    checks = [
        ("zero", "seed", "format_validity", "format validity"),
        ("beta", "zero", "accuracy_parallel", "parallel-mode accuracy"),
        ("rl", "beta", "accuracy_parallel", "parallel-mode accuracy"),
        ("sr", "beta", "accuracy_sequential", "sequential-mode accuracy"),
    ]
    lines = []
    for new, old, key, what in checks:
        if new not in by or old not in by or by[new][key] is None or by[old][key] is None:
            continue
        a, b = by[old][key], by[new][key]
        word = "improves on" if b > a else "matches" if b == a else "does not improve on"
        lines.append(f"- `{new}` {word} `{old}` in {what}: {a:.3f} -> {b:.3f}.")
    if "rl" in by and by["rl"]["parallel_rate"] is not None:
        lines.append(f"- `rl` runs in parallel in {by['rl']['parallel_rate']:.0%} of its responses.")
    if "rl" in by and by["rl"]["measured_speedup"] is not None:
        lines.append(f"- Parallel decoding of `rl` takes {1 / by['rl']['measured_speedup']:.2f}x the wall-clock time "
                     f"of sequential decoding ({by['rl']['measured_speedup']:.2f}x speedup).")  # fmt: skip
    return lines


def _cell(value: Any, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The per-stage table, in Markdown (also readable in a terminal)."""
    head = ("| stage | format validity | acc. sequential | acc. parallel | parallel rate | branches/block | "
            "total tokens | critical path | ideal speedup | measured speedup |")  # fmt: skip
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        lines.append(
            f"| {r['name']} | {_cell(r['format_validity'], '.3f')} | {_cell(r['accuracy_sequential'], '.3f')} | "
            f"{_cell(r['accuracy_parallel'], '.3f')} | {_cell(r['parallel_rate'], '.3f')} | "
            f"{_cell(r['mean_branches'], '.2f')} | {_cell(r['total_tokens'], '.1f')} | "
            f"{_cell(r['critical_path_tokens'], '.1f')} | {_cell(r['ideal_speedup'], '.2f')}x | "
            f"{_cell(r['measured_speedup'], '.2f')}x |"
        )
    return "\n".join(lines)


def write_plots(out: Path, rows: Sequence[Mapping[str, Any]], curves: Mapping[str, list]) -> dict[str, str]:
    from npr.eval.plots import pyplot

    plt = pyplot()
    names = [r["name"] for r in rows]
    xs = list(range(len(names)))

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for stage, points in curves.items():
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], marker=".", label=MODEL_NAMES[stage])
    ax.set(xlabel="RL step", ylabel="mean reward", title="Reward per RL step")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / PLOTS["rewards"], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(6.0, 1.4 * len(names) + 2), 3.6))
    bars = [("format_validity", "format validity"), ("accuracy_sequential", "accuracy, sequential"),
            ("accuracy_parallel", "accuracy, parallel"), ("parallel_rate", "parallel rate")]  # fmt: skip
    width = 0.8 / len(bars)
    for i, (key, label) in enumerate(bars):
        ax.bar([x + (i - 1.5) * width for x in xs], [r[key] or 0 for r in rows], width, label=label)
    ax.set_xticks(xs, names)
    ax.set(ylim=(0, 1.05), title="Format, accuracy and parallelism per stage")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(bars))
    fig.tight_layout()
    fig.savefig(out / PLOTS["stages"], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(names) + 2), 3.6))
    ax.bar([x - 0.2 for x in xs], [r["ideal_speedup"] or 0 for r in rows], 0.4, label="ideal (tokens / critical path)")
    ax.bar([x + 0.2 for x in xs], [r["measured_speedup"] or 0 for r in rows], 0.4, label="measured wall-clock")
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set_xticks(xs, names)
    ax.set(ylabel="x faster than sequential", title="Parallel decoding speedup per stage")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / PLOTS["speedups"], dpi=110)
    plt.close(fig)
    return dict(PLOTS)


def write_report(out: Path, config: PipelineConfig, models: Mapping[str, str], seconds: Mapping[str, float]) -> dict:
    """Write ``summary.json``, ``report.md`` and the plots; returns the summary."""
    folders = {"seed": out / "seed", **{s: out / s for s in config.order if s != "distill"}}
    rows = [stage_row(folder, MODEL_NAMES[stage]) for stage, folder in folders.items()]
    curves = rl_curves(out, config.order)
    distill = _summary(out / "distill") or {}
    prompts = out / "data" / "prompts.jsonl"
    summary = {
        "stages": rows,
        "seconds": round(seconds.get("total", 0.0), 1),
        "stage_seconds": {k: round(v, 1) for k, v in seconds.items()},
        "seed": config.seed,
        "models": dict(models),
        "sizes": {
            "training_prompts": sum(1 for _ in prompts.open()) if prompts.is_file() else None,
            "eval_benchmarks": config.eval.benchmarks, "eval_limit": config.eval.limit, "eval_k": config.eval.k,
            "speed_benchmarks": config.speed.benchmarks, "speed_limit": config.speed.limit,
            "distilled": distill.get("kept"), "distill_samples": distill.get("samples"),
        },  # fmt: skip
        "distill": {k: distill.get(k) for k in ("problems", "kept", "yield", "samples", "rejections")},
        "verdicts": verdicts(rows),
        "plots": write_plots(out, rows, curves),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(render(summary))
    return summary


def render(summary: Mapping[str, Any]) -> str:
    sizes, d = summary["sizes"], summary["distill"]
    times = ", ".join(f"{k} {v:.0f} s" for k, v in summary["stage_seconds"].items() if k != "total")
    lines = [
        "# npr pipeline report", "",
        f"- Seed {summary['seed']}; {summary['seconds']:.0f} s in all ({times}).",
        f"- {sizes['training_prompts']} training prompts; each model evaluated on {', '.join(sizes['eval_benchmarks'])} "
        f"({sizes['eval_limit'] or 'all'} problems each, k={sizes['eval_k']}), in both modes.",
        f"- Distillation kept {d.get('kept')} of {d.get('problems')} problems from {d.get('samples')} samples; "
        f"rejections: {d.get('rejections')}.",
        f"- The measured speedup: {sizes['speed_limit']} problems of each of "
        f"{', '.join(sizes['speed_benchmarks']) or '(none)'} are answered in parallel mode, and each answer is "
        "decoded again sequentially and in parallel, one request at a time; it is the ratio of the two times.",
        "", "## Per stage", "", table(summary["stages"]), "",
        "Format validity is measured in the decoding each model was trained for: sequential for seed, zero and sr, "
        "parallel for beta and rl (summary.json has both). The other parallel columns are parallel decoding; the "
        "ideal speedup is over the evaluation problems, the measured one over the speed problems.", "",
        "## Stage by stage", "", *summary["verdicts"], "",
        "## Plots", "", *(f"![{k}]({v})" for k, v in summary["plots"].items()), "",
    ]  # fmt: skip
    return "\n".join(lines)
