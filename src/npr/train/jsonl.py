"""Reading training data files line by line, with every error naming the file and the line."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """Training data that cannot be used; the message names the file, the line and what is wrong."""


def read_jsonl(path: str | Path, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line of a JSONL file (``.gz`` allowed).

    ``what`` names the file's role in messages ("SFT corpus", "RL prompts"). A missing file, a line that is not
    a JSON object, and a file with no records at all raise :class:`DataError`.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"{what} {str(file)!r} does not exist (relative paths in a config file are taken from its folder)")
    opener = gzip.open if file.suffix == ".gz" else open
    count = 0
    try:
        with opener(file, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{what} {str(file)!r}, line {number}: not valid JSON ({exc.msg})") from None
                if not isinstance(record, dict):
                    raise DataError(
                        f"{what} {str(file)!r}, line {number}: expected a JSON object, got {type(record).__name__}"
                    )
                count += 1
                yield number, record
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{what} {str(file)!r} cannot be read: {exc}") from None
    if count == 0:
        raise DataError(f"{what} {str(file)!r} is empty: it holds no records")
