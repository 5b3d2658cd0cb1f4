"""Engine benchmark: writes bench/results/engine-<model>-<date>.json (see docs/PERFORMANCE.md).

    NPR_CACHE=.cache .venv/bin/python bench/engine.py            # SmolLM2-135M-Instruct (several minutes on CPU)
    .venv/bin/python bench/engine.py --tiny                      # a tiny random Llama (about half a minute)
    .venv/bin/python bench/engine.py --model path/to/hf-folder

The same measurements as ``npr bench engine``: both call :func:`npr.engine.bench.run_engine_bench`.
"""

from __future__ import annotations

import argparse

from results_file import RESULTS, write

from npr.engine.bench import run_engine_bench, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", help="an HF model folder (default: SmolLM2-135M-Instruct from the npr cache)")
    which.add_argument("--tiny", action="store_true", help="a tiny random Llama with a built-in byte tokenizer")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few tokens, one repeat")
    parser.add_argument("--results", default=str(RESULTS), help=f"output folder (default: {RESULTS})")
    args = parser.parse_args()
    model = args.model
    if model is None and not args.tiny:
        from npr.toy.smollm2 import smollm2_dir

        model = str(smollm2_dir())
    result = run_engine_bench(model, tiny=args.tiny, quick=args.quick)
    out = write("engine", result, args.results, args.quick)
    print(summary(result))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
