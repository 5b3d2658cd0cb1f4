"""``npr distill``, ``npr pipeline`` and ``npr demo``: the recipe's commands (:mod:`npr.recipe`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from npr.cli.common import EXIT_OK, add_ray_arguments, fail, ray_engines

#: ``npr demo --quick``: the toy-cpu recipe at smoke size (a seed trained for under a minute, a few steps a stage).
#: It shows that every stage runs and writes its checkpoint; its figures are too small to mean anything.
QUICK = [
    "base=toy-seed-small",
    "prompts.sources=[{spec: 'toy:pick', n: 64}, {spec: 'toy:largest', n: 64}]",
    "eval.benchmarks=[toy-pick, toy-largest]", "eval.limit=8", "eval.max_tokens=120", "speed.limit=2",
    "stages.zero.max_steps=2", "stages.zero.rollout={prompts_per_step: 4, group_size: 4, max_tokens: 120}",
    "stages.zero.save_steps=1",
    "stages.distill.limit=48", "stages.distill.max_tokens=120",
    "stages.sft.epochs=1", "stages.sft.save_steps=5",
    "stages.rl.max_steps=2", "stages.rl.rollout={prompts_per_step: 4, group_size: 4, max_tokens: 120}",
    "stages.rl.save_steps=1",
]  # fmt: skip


def _log(args: argparse.Namespace):
    return (lambda m: print(m, file=sys.stderr)) if args.json else print


def _distill(args: argparse.Namespace) -> int:
    from npr.recipe.distill import DistillConfig, run_distill

    try:
        config = DistillConfig(
            model=args.model, data=args.data, k=args.k, mode=args.mode, require_parallel=args.require_parallel,
            temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens, seed=args.seed,
            prompt=args.prompt, instruction=args.instruction, question_field=args.question_field,
            answer_field=args.answer_field, id_field=args.id_field, kind=args.kind, limit=args.limit,
            batch=args.batch, grade_workers=args.grade_workers, dtype=args.dtype, device=args.device,
        )  # fmt: skip
        engines = ray_engines(args, args.model, kv_budget=config.kv_budget, dtype=args.dtype, device=args.device)
        try:
            summary = run_distill(config, args.out, engine=engines, progress=not args.json, log=_log(args))
        finally:
            if engines is not None:
                engines.close()
    except (OSError, ValueError) as exc:
        return fail("distill", exc)
    short = {k: v for k, v in summary.items() if k != "per_problem"}
    if args.json:
        print(json.dumps(short, indent=2))
    else:
        print(f"kept {summary['kept']} of {summary['problems']} problems ({summary['yield']:.1%}) from "
              f"{summary['samples']} samples; rejections {summary['rejections']}\ncorpus: {Path(args.out) / 'corpus.jsonl'}")  # fmt: skip
    return EXIT_OK


def _run(config_path: str, overrides: list[str], out: str, args: argparse.Namespace, command: str) -> int:
    from npr.recipe.config import load_pipeline
    from npr.recipe.pipeline import run_pipeline
    from npr.recipe.report import ROW_KEYS, table
    from npr.train.config.loader import apply_overrides, read_yaml

    try:
        config = load_pipeline(config_path, overrides)
        raw = apply_overrides(read_yaml(config_path), overrides)
        summary = run_pipeline(config, out, raw, progress=not args.json, log=_log(args))
    except KeyboardInterrupt:
        print(f"{command}: interrupted; run the same command again to resume from where it stopped", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        return fail(command.removeprefix("npr "), exc)
    if args.json:
        rows = [{k: r[k] for k in ROW_KEYS} for r in summary["stages"]]
        print(json.dumps({"stages": rows, "seconds": summary["seconds"], "seed": summary["seed"]}, indent=2))
    else:
        print("\n" + table(summary["stages"]) + "\n")
        print("\n".join(summary["verdicts"]))
        print(f"\nreport: {Path(out) / 'report.md'} ({summary['seconds']:.0f} s)")
    return EXIT_OK


def _pipeline(args: argparse.Namespace) -> int:
    return _run(args.config, list(args.set or []), args.out, args, "npr pipeline")


def _demo(args: argparse.Namespace) -> int:
    from npr.recipe import CONFIGS

    overrides = (QUICK if args.quick else []) + [f"seed={args.seed}"]
    with_path = CONFIGS / "toy-cpu.yaml"
    return _run(str(with_path), overrides, args.out, args, "npr demo")


def add_recipe(commands) -> None:
    """The ``distill``, ``pipeline`` and ``demo`` commands."""
    demo = commands.add_parser(
        "demo", help="the whole NPR recipe in miniature on a CPU, with a report (about 10-15 minutes)",
        description=(
            "Run the toy-cpu pipeline (configs/toy-cpu.yaml): build the toy seed model when it is not cached, then "
            "NPR-Zero, self-distillation, NPR-Beta and PAPO, evaluating every model on held-out toy problems in "
            "sequential and parallel mode and timing parallel against sequential decoding. Ends with a table per "
            "stage; writes report.md, summary.json and plots into --out. Running it again resumes. See docs/DEMO.md."
        ),
    )  # fmt: skip
    demo.add_argument("--out", default="./npr-demo-out", metavar="DIR", help="output folder (default ./npr-demo-out)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the seed model, prompts and every stage (default 0)")
    demo.add_argument("--quick", action="store_true", help="smoke size, under 3 minutes: shows the stages run, not gains")
    demo.add_argument("--json", action="store_true", help="print the per-stage figures as JSON (progress to stderr)")
    demo.set_defaults(run=_demo)

    pipe = commands.add_parser(
        "pipeline", help="run the recipe: zero -> distill -> sft (NPR-Beta) -> rl (PAPO) [-> sr], with evaluations",
        description=(
            "Run every stage of a pipeline config (see configs/toy-cpu.yaml and configs/qwen3-4b-8gpu.yaml): each "
            "stage starts from the model of the one before and writes DIR/<stage>/ (HF checkpoints, metrics). The "
            "base and every trained model are evaluated in both modes. Finished stages are skipped and a killed one "
            "resumes, so running the same command again continues the run."
        ),
    )  # fmt: skip
    pipe.add_argument("--config", required=True, metavar="FILE", help="pipeline YAML")
    pipe.add_argument("--out", required=True, metavar="DIR", help="output folder")
    pipe.add_argument("--set", action="append", metavar="KEY=VALUE",
                      help="override a config value, e.g. --set stages.rl.max_steps=10 (repeatable)")  # fmt: skip
    pipe.add_argument("--json", action="store_true", help="print the per-stage figures as JSON (progress to stderr)")
    pipe.set_defaults(run=_pipeline)

    dist = commands.add_parser(
        "distill", help="Stage 2: rejection-sample a Stage-1 model into an SFT corpus of its own token ids",
        description=(
            "Draw up to K samples per problem, one at a time, and keep the first that is correct and perfectly "
            "formatted (validate finds nothing, at least one block). Writes DIR/corpus.jsonl (prompt_ids and "
            "response_ids as the engine produced them, for npr train sft), DIR/samples.jsonl (every sample's "
            "verdict) and DIR/summary.json (yield and rejection reasons). Running it again resumes; changed "
            "settings are refused."
        ),
    )  # fmt: skip
    dist.add_argument("--model", required=True, metavar="M", help="the Stage-1 model (folder or hub id)")
    dist.add_argument("--data", required=True, metavar="D", help="problems: JSON/JSONL/Parquet file, hf:owner/name[:split] or a benchmark name")
    dist.add_argument("--out", required=True, metavar="DIR", help="output folder")
    dist.add_argument("--k", type=int, default=8, help="most samples per problem (default 8)")
    dist.add_argument("--mode", choices=("sequential", "parallel"), default="sequential", help="decoding (default sequential, for a Stage-1 model)")
    dist.add_argument("--require-parallel", action="store_true", help="also require a block of two or more steps")
    dist.add_argument("--temperature", type=float, default=1.0)
    dist.add_argument("--top-p", type=float, default=1.0)
    dist.add_argument("--max-tokens", type=int, default=2048, help="critical-path budget per sample (default 2048)")
    dist.add_argument("--seed", type=int, default=0)
    dist.add_argument("--prompt", choices=("npr", "plain"), default="npr", help="ask for the NPR format (default) or a plain answer")
    dist.add_argument("--instruction", help="the instruction after each question, instead of the standard one")
    dist.add_argument("--question-field", help="field of the question in a data file (default question)")
    dist.add_argument("--answer-field", help="field of the gold answer (default answer)")
    dist.add_argument("--id-field", default="id", help="field of the problem id (default id, when present)")
    dist.add_argument("--kind", choices=("math", "choice", "zebra"), help="grader (default math)")
    dist.add_argument("--limit", type=int, help="the first N problems only")
    dist.add_argument("--batch", type=int, default=64, help="samples in flight (default 64)")
    add_ray_arguments(dist, backends=True)
    dist.add_argument("--grade-workers", type=int, default=1, help="grading processes (default 1)")
    dist.add_argument("--dtype", choices=("float32", "bfloat16", "float16"), default="float32", help="model weights (default float32)")
    dist.add_argument("--device", help="torch device for the model, e.g. cuda (default: where it loads, the CPU)")
    dist.add_argument("--json", action="store_true", help="print the summary as JSON")
    dist.set_defaults(run=_distill)
