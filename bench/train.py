"""Training benchmark: writes bench/results/train-<model>-<date>.json (see docs/PERFORMANCE.md).

    .venv/bin/python bench/train.py                      # a tiny Qwen3 over the real Qwen3 tokenizer (a few minutes)
    .venv/bin/python bench/train.py --model path/to/hf   # any Llama-family HF folder

The same measurements as ``npr bench train``: both call :func:`npr.train.bench.run_train_bench`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from npr.train.bench import run_train_bench, summary

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TOKENIZER = ROOT / "tests" / "fixtures" / "qwen3-tokenizer"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an HF model folder (default: a tiny random Qwen3 with the Qwen3 tokenizer)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few trajectories, one repeat")
    parser.add_argument("--results", default=str(RESULTS), help=f"output folder (default: {RESULTS})")
    args = parser.parse_args()
    result = run_train_bench(args.model, None if args.model else str(TOKENIZER), quick=args.quick)
    out = Path(args.results) / f"train-{result['model']}-{result['date'][:10]}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(summary(result))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
