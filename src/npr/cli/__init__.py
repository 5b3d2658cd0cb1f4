"""The ``npr`` command line. It stays thin: parse arguments, call one function, print, pick the exit status.

Exit statuses: 0 when the command ran (whatever it found), 2 for bad usage or unreadable input, 1 for an
unexpected failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from npr import __version__
from npr.cli.bench import add_bench
from npr.cli.common import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from npr.cli.evaluate import add_eval
from npr.cli.recipe import add_recipe
from npr.cli.serve import add_serve
from npr.cli.tools import add_format, add_tour_and_solve
from npr.cli.toy import add_toy
from npr.cli.train import add_train

__all__ = ["EXIT_BAD_INPUT", "EXIT_FAILED", "EXIT_OK", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="npr",
        description="Native Parallel Reasoner: parallel Map-Process-Reduce reasoning for LLMs.",
        epilog="Run `npr COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"npr {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    add_recipe(commands)
    add_tour_and_solve(commands)
    add_eval(commands)
    add_train(commands)
    add_serve(commands)
    add_bench(commands)
    add_toy(commands)
    add_format(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("npr: interrupted", file=sys.stderr)
        return 130
