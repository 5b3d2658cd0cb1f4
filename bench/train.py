"""Training benchmark: writes bench/results/train-<model>-<date>.json (see docs/PERFORMANCE.md).

    .venv/bin/python bench/train.py                          # a tiny random Qwen3 over a byte-level tokenizer
    .venv/bin/python bench/train.py --tokenizer tests/fixtures/qwen3-tokenizer   # the same over the Qwen3 vocabulary
    .venv/bin/python bench/train.py --model path/to/hf       # any HF causal LM folder (e.g. SmolLM2-135M)

The same measurements as ``npr bench train``: both call :func:`npr.train.bench.run_train_bench`.
"""

from __future__ import annotations

import argparse

from results_file import RESULTS, write

from npr.train.bench import run_train_bench, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an HF model folder (default: a tiny random Qwen3)")
    parser.add_argument("--tokenizer", help="the tiny model's tokenizer folder (default: a byte-level one)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few trajectories, one repeat")
    parser.add_argument("--results", default=str(RESULTS), help=f"output folder (default: {RESULTS})")
    args = parser.parse_args()
    result = run_train_bench(args.model, args.tokenizer, quick=args.quick)
    out = write("train", result, args.results, args.quick)
    print(summary(result))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
