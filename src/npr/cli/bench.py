"""``npr bench engine|train``: benchmarks whose ratios are measured side by side in one run."""

from __future__ import annotations

import argparse
import json

from npr.cli.common import EXIT_OK, fail


def _bench_model(args: argparse.Namespace) -> str | None:
    """The model folder to benchmark: --model, none for --tiny, or SmolLM2 converted once into the npr cache."""
    if args.model is not None or args.tiny:
        return args.model
    from npr.toy.smollm2 import smollm2_dir

    return str(smollm2_dir())


def _bench_report(args: argparse.Namespace, result: dict, summary) -> int:
    """Write DIR/bench.json with --out; print the JSON object with --json, else the summary."""
    from pathlib import Path

    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2) if args.json else summary(result))
    return EXIT_OK


def _bench_engine(args: argparse.Namespace) -> int:
    from npr.engine.bench import run_engine_bench, summary

    result = run_engine_bench(_bench_model(args), tiny=args.tiny, quick=args.quick, progress=True)
    return _bench_report(args, result, summary)


def _bench_train(args: argparse.Namespace) -> int:
    from npr.train.bench import run_train_bench, summary

    if args.tokenizer and not args.tiny:
        return fail("bench train", ValueError("--tokenizer goes with --tiny (a model folder brings its own)"))
    try:
        result = run_train_bench(_bench_model(args), args.tokenizer, quick=args.quick, progress=True)
    except (OSError, ValueError) as exc:
        return fail("bench train", exc)
    return _bench_report(args, result, summary)


def add_bench(commands) -> None:
    """The ``bench`` command and its targets."""
    bench = commands.add_parser("bench", help="benchmarks (ratios measured side by side in one run)")
    bench_commands = bench.add_subparsers(dest="bench_command", metavar="TARGET", required=True)
    engine = bench_commands.add_parser(
        "engine",
        help="the engine against transformers generate: decode speed, parallel speedup, concurrency, KV use",
        description=(
            "Benchmark the npr engine on one model and report ratios measured side by side in this run: sequential "
            "decoding against transformers `generate` on the same tokens (batch 1 and 16); steered NPR trajectories "
            "with 2, 4 and 8 branches against sequential decoding of the same tokens, next to the ideal "
            "critical-path speedup; 1 to 64 concurrent requests against `generate` one request at a time; peak KV "
            "slots against unique tokens; and log-prob parity with an HF forward. By default the model is "
            "SmolLM2-135M-Instruct (converted once into the npr cache), which takes several minutes on a small "
            "CPU. Progress goes to stderr. See docs/PERFORMANCE.md."
        ),
    )
    which = engine.add_mutually_exclusive_group()
    which.add_argument("--model", metavar="M", help="an HF model folder (Llama family) instead of SmolLM2")
    which.add_argument(
        "--tiny", action="store_true",
        help="a tiny random Llama with a built-in byte tokenizer (under a minute, no download)",
    )  # fmt: skip
    engine.add_argument("--quick", action="store_true", help="few tokens and one repeat: a smoke run, not figures")
    engine.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    engine.add_argument("--out", metavar="DIR", help="also write the JSON object to DIR/bench.json")
    engine.set_defaults(run=_bench_engine)
    train = bench_commands.add_parser(
        "train",
        help="the training forward: packed rows against one trajectory per forward, SFT and RL; an RL step's split",
        description=(
            "Benchmark the training forward on one model and report ratios measured side by side in this run: SFT "
            "forward+backward on engine-steered NPR trajectories packed several to a row (rows as long as the "
            "longest trajectory, and 2048-token rows), padded one to a row, and one per forward (the losses must "
            "agree); the RL policy update packed against one trajectory per "
            "forward; and a few real RL steps split into rollout and update time. By default the model is "
            "SmolLM2-135M-Instruct (converted once into the npr cache). Progress goes to stderr. See "
            "docs/PERFORMANCE.md."
        ),
    )
    which = train.add_mutually_exclusive_group()
    which.add_argument("--model", metavar="M", help="an HF model folder instead of SmolLM2")
    which.add_argument("--tiny", action="store_true",
                       help="a tiny random Qwen3 over a byte-level tokenizer (a few minutes, no download)")  # fmt: skip
    train.add_argument("--tokenizer", metavar="DIR",
                       help="with --tiny: this tokenizer folder instead of the byte-level one")  # fmt: skip
    train.add_argument("--quick", action="store_true", help="few trajectories and one repeat: a smoke run, not figures")
    train.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    train.add_argument("--out", metavar="DIR", help="also write the JSON object to DIR/bench.json")
    train.set_defaults(run=_bench_train)
