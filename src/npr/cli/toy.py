"""``npr toy seed``: build (or find in the cache) the toy world's seed model and print its figures."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from npr.cli.common import EXIT_OK, fail


def _toy_seed(args: argparse.Namespace) -> int:
    from npr.toy.seed import QUICK, SeedConfig, build_seed, render_figures

    try:
        config = SeedConfig(seed=args.seed, **(QUICK if args.quick else {}))
        result = build_seed(config, progress=not args.json, log=(lambda m: None) if args.json else print)
        if args.out:
            out = Path(args.out)
            if out.exists() and any(out.iterdir()):
                raise ValueError(f"--out {str(out)!r} is not empty")
            shutil.copytree(result["path"], out, dirs_exist_ok=True)
            result = {**result, "path": str(out)}
    except (OSError, ValueError) as exc:
        return fail("toy seed", exc)
    print(json.dumps(result, indent=2) if args.json else render_figures(result))
    return EXIT_OK


def add_toy(commands) -> None:
    """The ``toy`` command and its ``seed`` action."""
    toy = commands.add_parser("toy", help="the CPU miniature world: toy tasks, tokenizer and seed model")
    actions = toy.add_subparsers(dest="toy_command", metavar="ACTION", required=True)
    seed = actions.add_parser(
        "seed",
        help="build the toy seed model (or reuse it from the cache) and print its figures",
        description=(
            "Train the toy world's seed model from scratch: a ~0.5M-parameter Qwen3 over a character tokenizer, "
            "pretrained causally on mostly step-by-step solutions of the toy tasks plus a minority of (sometimes "
            "flawed) attempts at the tag format. The result lives in $NPR_CACHE/toy/seed-<key>, keyed by its "
            "settings; a second call reuses it. Prints format validity and accuracy on held-out problems. "
            "See docs/TOY.md."
        ),
    )
    seed.add_argument("--seed", type=int, default=0, help="problems, corpus mix and weights (default 0)")
    seed.add_argument("--out", metavar="DIR", help="also copy the seed model into DIR (must be empty or new)")
    seed.add_argument("--quick", action="store_true", help="a small corpus: a smoke run in seconds, not a seed")
    seed.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    seed.set_defaults(run=_toy_seed)
