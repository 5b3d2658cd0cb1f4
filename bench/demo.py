"""The demo over several seeds: runs `npr demo --seed S` for each seed (one after another, so that no run's timing is
shared with another's) and writes bench/results/demo-toy-cpu-<date>.json with every stage's figures per seed and
their mean, minimum and maximum (see docs/DEMO.md).

    .venv/bin/python bench/demo.py --seeds 0 1 2 --out out/demo-seeds

Each seed's full output (report.md, summary.json, plots, checkpoints) stays in --out/seed-S; a seed whose folder
already holds a finished run is read back, not run again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from results_file import RESULTS, write

from npr.recipe.report import ROW_KEYS

KEYS = tuple(k for k in ROW_KEYS if k != "name")


def run_seed(seed: int, out: Path) -> dict:
    summary = out / "summary.json"
    if not summary.is_file():
        cmd = [sys.executable, "-m", "npr.cli", "demo", "--seed", str(seed), "--out", str(out)]
        subprocess.run(cmd, check=True)
    return json.loads(summary.read_text())


def spread(values: list[float | None]) -> dict[str, float | None]:
    known = [v for v in values if v is not None]
    if not known:
        return {"mean": None, "min": None, "max": None}
    return {"mean": sum(known) / len(known), "min": min(known), "max": max(known)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="out/demo-seeds", help="one folder per seed under this one")
    parser.add_argument("--results", default=str(RESULTS), help=f"output folder for the JSON (default: {RESULTS})")
    args = parser.parse_args()
    runs = {seed: run_seed(seed, Path(args.out) / f"seed-{seed}") for seed in args.seeds}
    names = [row["name"] for row in next(iter(runs.values()))["stages"]]
    stages = {}
    for i, name in enumerate(names):
        stages[name] = {key: spread([runs[s]["stages"][i][key] for s in args.seeds]) for key in KEYS}
    result = {
        "model": "toy-cpu", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "seeds": args.seeds, "seconds": {s: r["seconds"] for s, r in runs.items()},
        "stages": stages, "runs": {s: r["stages"] for s, r in runs.items()},
        "verdicts": {s: r["verdicts"] for s, r in runs.items()},
    }  # fmt: skip
    path = write("demo", result, args.results)
    print(f"{'stage':6} " + " ".join(f"{k[:14]:>16}" for k in KEYS))
    for name, figures in stages.items():
        cells = []
        for key in KEYS:
            f = figures[key]
            cells.append("-" if f["mean"] is None else f"{f['mean']:.2f} [{f['min']:.2f},{f['max']:.2f}]")
        print(f"{name:6} " + " ".join(f"{c:>16}" for c in cells))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
