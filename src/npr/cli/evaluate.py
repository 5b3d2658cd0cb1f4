"""``npr eval``: run benchmarks, ``--compare`` two runs, ``--score`` outside responses."""

from __future__ import annotations

import argparse
import json
import sys

from npr.cli.common import EXIT_BAD_INPUT, EXIT_OK, add_ray_arguments, fail, ray_engines


def _eval_defaults() -> dict:
    """EvalConfig's defaults, so that --help and the dataclass cannot disagree."""
    from dataclasses import MISSING, fields

    from npr.eval.config import EvalConfig

    return {f.name: f.default for f in fields(EvalConfig) if f.default is not MISSING}


def _eval(args: argparse.Namespace) -> int:
    if args.compare:
        return _eval_compare(args)
    if args.score:
        return _eval_score(args)
    return _eval_run(args)


def _benchmark_specs(args: argparse.Namespace, command: str) -> list[str] | None:
    if not args.benchmark:
        print(f"npr {command}: --benchmark is required (e.g. --benchmark gsm8k or --benchmark aime24,math500)",
              file=sys.stderr)  # fmt: skip
        return None
    return [b.strip() for b in args.benchmark.split(",") if b.strip()]


def _eval_compare(args: argparse.Namespace) -> int:
    from npr.eval.compare import compare_runs, render_comparison

    try:
        result = compare_runs(*args.compare)
    except (OSError, ValueError) as exc:
        return fail("eval --compare", exc)
    print(json.dumps(result, indent=2) if args.json else render_comparison(result))
    return EXIT_OK


def _eval_score(args: argparse.Namespace) -> int:
    from npr.eval.report import console_table
    from npr.eval.score import score_file

    specs = _benchmark_specs(args, "eval --score")
    if specs is None:
        return EXIT_BAD_INPUT
    if len(specs) != 1:
        return fail("eval --score", ValueError("--score grades one file against one --benchmark"))
    try:
        summary = score_file(
            args.score, specs[0], args.out, id_field=args.id_field, response_field=args.response_field,
            tokenizer=args.tokenizer, data_dir=args.data_dir, grade_workers=args.grade_workers,
            grade_timeout=args.grade_timeout,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        return fail("eval --score", exc)
    print(json.dumps(summary, indent=2) if args.json else console_table(summary))
    if args.out and not args.json:
        print(f"results, summary.json, report.md and plots in {args.out}")
    return EXIT_OK


def _eval_run(args: argparse.Namespace) -> int:
    from npr.eval.config import EvalConfig
    from npr.eval.report import console_table
    from npr.eval.runner import run_eval

    specs = _benchmark_specs(args, "eval")
    if specs is None:
        return EXIT_BAD_INPUT
    if not args.out:
        return fail("eval", ValueError("--out DIR is required: results are written there (and resumed from it)"))
    model = args.model
    if model is None:
        from npr.toy.smollm2 import smollm2_dir

        model = str(smollm2_dir(quiet=args.json))
    try:
        config = EvalConfig(
            model=model, benchmarks=tuple(specs), k=args.k, mode=args.mode, prompt=args.prompt, limit=args.limit,
            temperature=args.temperature, top_p=args.top_p, top_k=args.top_k, seed=args.seed,
            max_tokens=args.max_tokens, max_total_tokens=args.max_total_tokens, max_branches=args.max_branches,
            batch=args.batch, kv_budget=args.kv_budget, dtype=args.dtype, device=args.device,
            data_dir=args.data_dir, question_field=args.question_field, answer_field=args.answer_field,
            id_field=args.id_field, kind=args.kind, grade_workers=args.grade_workers, grade_timeout=args.grade_timeout,
            save_trajectories=not args.no_trajectories,
        )  # fmt: skip
        engines = ray_engines(args, model, kv_budget=args.kv_budget, dtype=args.dtype, device=args.device,
                              seed=args.seed)
        try:
            summary = run_eval(config, args.out, engine=engines, progress=not args.json,
                               log=lambda m: print(m, file=sys.stderr))  # fmt: skip
        finally:
            if engines is not None:
                engines.close()
    except KeyboardInterrupt:
        print(f"npr eval: interrupted; finished samples are saved in {args.out}/results.jsonl - run the same "
              "command again to resume", file=sys.stderr)  # fmt: skip
        return 130
    except (OSError, ValueError) as exc:
        return fail("eval", exc)
    print(json.dumps(summary, indent=2) if args.json else console_table(summary))
    if not args.json:
        print(f"results.jsonl, summary.json, report.md and plots in {args.out}")
    return EXIT_OK


def add_eval(commands) -> None:
    """The ``eval`` command."""
    ev = commands.add_parser(
        "eval",
        help="evaluate a model on benchmarks (accuracy, format, parallelism, speed); compare or score runs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Run benchmarks through the npr engine, grade every sample and write DIR/results.jsonl (one line per "
            "sample, with its trajectory), DIR/summary.json, DIR/report.md and PNG plots. Running the same command "
            "again resumes an interrupted run without redoing finished samples.\n\n"
            "Benchmarks: aime24, aime25, hmmt25, olympiadbench, minerva, zebralogic, amc23, math500, gsm8k and "
            "zebralogic-gen (generated logic puzzles); or a local .json/.jsonl/.parquet file (map its fields with "
            "--question-field/--answer-field/--id-field, pick the grader with --kind); or "
            "hf:OWNER/NAME[:SPLIT] or hf:OWNER/NAME:CONFIG:SPLIT from the hub. aime25, hmmt25 and minerva are not "
            "bundled (licence) and zebralogic is gated: pass --data-dir with their files, or go online.\n\n"
            "Other forms:\n"
            "  npr eval --compare DIR_A DIR_B     speedups and accuracy deltas of run B over run A\n"
            "  npr eval --score FILE.jsonl --benchmark NAME [--out DIR]\n"
            "                                     grade responses produced elsewhere\n\n"
            "Metric definitions: docs/EVAL.md."
        ),
    )
    what = ev.add_mutually_exclusive_group()
    what.add_argument("--compare", nargs=2, metavar=("DIR_A", "DIR_B"), help="compare two runs (B relative to A)")
    what.add_argument("--score", metavar="FILE", help="grade a JSONL file of outside responses")
    d = _eval_defaults()
    ev.add_argument("--model", metavar="M", help="HF model folder or hub id (default: SmolLM2-135M-Instruct)")
    ev.add_argument("--benchmark", metavar="NAME[,NAME]", help="benchmarks, comma-separated (see above)")
    ev.add_argument("--out", metavar="DIR", help="output folder (required to run; resumed when it holds a run)")
    run = ev.add_argument_group("sampling and budgets")
    run.add_argument("--k", type=int, default=d["k"], metavar="K",
                     help=f"samples per problem: avg@k, pass@k, best@k (default {d['k']})")
    run.add_argument("--mode", choices=("parallel", "sequential"), default=d["mode"],
                     help="parallel: blocks run as real forks (default); sequential: causal decoding")
    run.add_argument("--prompt", choices=("npr", "plain"), default=d["prompt"],
                     help="npr: ask for the NPR format (default); plain: a boxed answer only (baseline)")
    run.add_argument("--limit", type=int, metavar="N", help="the first N problems of each benchmark (default all)")
    run.add_argument("--temperature", type=float, default=d["temperature"], metavar="T",
                     help=f"sampling temperature, 0 = greedy (default {d['temperature']})")
    run.add_argument("--top-p", type=float, default=d["top_p"], metavar="P",
                     help=f"nucleus sampling (default {d['top_p']}: off)")
    run.add_argument("--top-k", type=int, default=d["top_k"], metavar="K", help="top-k sampling (default 0: off)")
    run.add_argument("--seed", type=int, default=d["seed"], metavar="S",
                     help=f"base seed; each sample's seed derives from it and from the sample (default {d['seed']})")
    run.add_argument("--max-tokens", type=int, default=d["max_tokens"], metavar="N",
                     help=f"critical-path tokens per sample (default {d['max_tokens']})")
    run.add_argument("--max-total-tokens", type=int, metavar="N",
                     help="tokens over all branches per sample (default 8x --max-tokens)")
    run.add_argument("--max-branches", type=int, default=d["max_branches"], metavar="N",
                     help=f"most branches one block may fork (default {d['max_branches']})")
    eng = ev.add_argument_group("engine and grading")
    eng.add_argument("--batch", type=int, default=d["batch"], metavar="N",
                     help=f"requests in flight in the engine (default {d['batch']})")
    eng.add_argument("--kv-budget", type=int, default=d["kv_budget"], metavar="N",
                     help=f"KV slots (tokens) of the engine (default {d['kv_budget']})")
    eng.add_argument("--dtype", default=d["dtype"], choices=("float32", "bfloat16", "float16"),
                     help=f"weights and KV precision (default {d['dtype']})")
    eng.add_argument("--device", help="e.g. cuda or cpu (default: where the model loads)")
    eng.add_argument("--grade-workers", type=int, default=d["grade_workers"], metavar="N",
                     help=f"grading processes (default {d['grade_workers']})")
    eng.add_argument("--grade-timeout", type=float, default=d["grade_timeout"], metavar="S",
                     help=f"seconds per answer; past it the answer counts as wrong (default {d['grade_timeout']:g})")
    eng.add_argument("--no-trajectories", action="store_true", help="leave token-level trajectories out of results")
    add_ray_arguments(ev, backends=True)
    data = ev.add_argument_group("data")
    data.add_argument("--data-dir", metavar="DIR",
                      help="folder with benchmark files that are not bundled (aime25.json, hmmt_feb_2025.json, ...)")
    data.add_argument("--question-field", metavar="F", help="local file or hf: benchmark: the question's field")
    data.add_argument("--answer-field", metavar="F", help="local file or hf: benchmark: the gold answer's field")
    data.add_argument("--id-field", metavar="F", help="local file, hf: benchmark or --score: the problem id's field")
    data.add_argument("--kind", choices=("math", "choice", "zebra"),
                      help="local file or hf: benchmark: how answers are graded (default math)")
    data.add_argument("--response-field", metavar="F", help="--score: the field holding the response text")
    data.add_argument("--tokenizer", metavar="PATH",
                      help="--score: count tokens and critical paths with this tokenizer")
    ev.add_argument("--json", action="store_true", help="print the summary (or comparison) as JSON")
    ev.set_defaults(run=_eval)
