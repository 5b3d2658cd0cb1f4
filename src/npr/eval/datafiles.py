"""Reading evaluation data from local files: JSON, JSON Lines and Parquet, optionally gzip-compressed.

Three layers, each usable alone:

* :func:`read_records` turns one file into a list of row dicts, whatever its format;
* :func:`items_from_records` maps rows to :class:`~npr.eval.item.Item` s through field names (dotted paths such as
  ``"meta.x"`` reach into nested objects) and normalises the gold answer for the grader kind;
* :func:`load_file` does both, for a user's own benchmark file (``npr eval --benchmark path/to/file.jsonl``).

Every problem with the input is reported as a :class:`BenchmarkError` (a ``ValueError``) that names the file, the
row or line, and what to do about it.
"""

from __future__ import annotations

import gzip
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from npr.eval.item import Item
from npr.rewards import check_gold

#: The grader kinds of :func:`npr.rewards.grade`; they decide how a gold answer is normalised.
KINDS = ("math", "choice", "zebra")
#: File name endings :func:`read_records` understands (each may be followed by ``.gz``).
SUFFIXES = (".json", ".jsonl", ".ndjson", ".parquet")


class BenchmarkError(ValueError):
    """Benchmark data that cannot be found, read or understood; the message says why and what to do."""


class Readable(Protocol):
    """What :func:`read_records` needs of a file: a name and its bytes (a ``Path`` or an ``importlib`` resource)."""

    @property
    def name(self) -> str: ...

    def read_bytes(self) -> bytes: ...


def data_suffix(name: str) -> str | None:
    """The data format of a file name (``".json"``, ``".jsonl"``, ``".ndjson"``, ``".parquet"``), or ``None``."""
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[: -len(".gz")]
    return next((s for s in SUFFIXES if lower.endswith(s)), None)


def read_records(source: str | Path | Readable) -> list[dict[str, Any]]:
    """All rows of a JSON, JSON Lines or Parquet file (``.gz`` allowed), in file order.

    JSON may be a list of objects or an object holding the list under ``"data"``. A ``.json`` file that is really
    JSON Lines (common on the hub) is read as such.
    """
    if isinstance(source, str):
        source = Path(source)
    where = str(source)
    suffix = data_suffix(source.name)
    if suffix is None:
        raise BenchmarkError(
            f"{where}: unknown data format; name the file with one of {', '.join(SUFFIXES)} (optionally + .gz)"
        )
    try:
        raw = source.read_bytes()
    except FileNotFoundError:
        raise BenchmarkError(f"{where}: no such file") from None
    except OSError as exc:
        raise BenchmarkError(f"{where}: cannot be read ({exc.strerror or exc})") from None
    if source.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise BenchmarkError(f"{where}: not a valid gzip file ({exc}); decompress it or drop the .gz") from None
    if suffix == ".parquet":
        rows = _parquet_rows(raw, where)
    else:
        text = _decode(raw, where)
        if not text.strip():
            raise BenchmarkError(f"{where}: the file is empty; it must hold at least one record")
        rows = _json_rows(text, where) if suffix == ".json" else _jsonl_rows(text, where)
    if not rows:
        raise BenchmarkError(f"{where}: holds no records")
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BenchmarkError(
                f"{where}: record {index} is a {type(row).__name__}, not an object; each record must be a JSON "
                "object with named fields"
            )
    return rows


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BenchmarkError(f"{where}: not UTF-8 text ({exc}); save the file as UTF-8") from None


def _json_rows(text: str, where: str) -> list[Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # Many ".json" files on the hub are JSON Lines; accept them if every line parses.
        try:
            return _jsonl_rows(text, where)
        except BenchmarkError:
            raise BenchmarkError(
                f"{where}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
            ) from None
    if isinstance(data, dict):
        if isinstance(data.get("data"), list):
            return data["data"]
        raise BenchmarkError(
            f"{where}: a JSON object must hold the records as a list under \"data\"; its keys are "
            f"{_names(data)}"
        )
    if isinstance(data, list):
        return data
    raise BenchmarkError(f"{where}: JSON must be a list of records or {{\"data\": [...]}}, not a {type(data).__name__}")


def _jsonl_rows(text: str, where: str) -> list[Any]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise BenchmarkError(
                f"{where}: line {number} is not valid JSON ({exc.msg} at column {exc.colno}); each line must hold "
                "one JSON object"
            ) from None
    return rows


def _parquet_rows(raw: bytes, where: str) -> list[Any]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BenchmarkError(f"{where}: reading Parquet needs pyarrow; pip install pyarrow") from None
    try:
        table = pq.read_table(io.BytesIO(raw))
    except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
        raise BenchmarkError(f"{where}: not a readable Parquet file ({exc})") from None
    return table.to_pylist()


def _names(row: Mapping[str, Any]) -> str:
    return ", ".join(repr(k) for k in row) or "(none)"


def get_field(row: Mapping[str, Any], path: str, *, where: str, index: int) -> Any:
    """The value at ``path`` in ``row``: a key, or a dotted path (``"meta.x"``) through nested objects.

    A key that itself contains dots is matched whole first. A missing field raises :class:`BenchmarkError` naming
    the file, the row and the field, and listing the fields the row does have.
    """
    if path in row:
        return row[path]
    node: Any = row
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise BenchmarkError(
                f"{where}: row {index} has no field {path!r}; its fields are {_names(row)}. Map the question, "
                "answer and id to the file's own field names"
            )
        node = node[part]
    return node


def normalize_answer(value: Any, kind: str, *, where: str, index: int) -> Any:
    """The gold answer in the shape the grader of ``kind`` expects.

    * ``math``: a string; whole floats such as ``27.0`` become ``"27"``; a list stays a list of strings (every one
      of several answers must be given);
    * ``choice``: the letter, stripped and upper-cased;
    * ``zebra``: a ``{"header": [...], "rows": [[...], ...]}`` grid with every cell a string.
    """
    if kind not in KINDS:
        raise BenchmarkError(f"unknown grader kind {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "zebra":
        return _grid(value, where=where, index=index)
    if kind == "math" and isinstance(value, (list, tuple)):
        answers = [_scalar(v, where=where, index=index) for v in value]
        if not answers:
            raise BenchmarkError(f"{where}: row {index} has an empty list as its answer")
        return answers
    text = _scalar(value, where=where, index=index)
    return text.upper() if kind == "choice" else text


def _scalar(value: Any, *, where: str, index: int) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list, tuple)):
        raise BenchmarkError(
            f"{where}: row {index} has answer {value!r}; an answer must be a non-empty string or number"
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BenchmarkError(f"{where}: row {index} has answer {value!r}, which is not a finite number")
        # Sources store integer answers as floats (AMC23: 27.0); the grader should see "27".
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        text = str(value).strip()
    if not text:
        raise BenchmarkError(f"{where}: row {index} has an empty answer")
    return text


def _grid(value: Any, *, where: str, index: int) -> dict[str, list[Any]]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    header = value.get("header") if isinstance(value, Mapping) else None
    rows = value.get("rows") if isinstance(value, Mapping) else None
    if not isinstance(header, Sequence) or isinstance(header, str) or not isinstance(rows, Sequence) or not rows:
        raise BenchmarkError(
            f"{where}: row {index}: a zebra answer must be {{\"header\": [...], \"rows\": [[...], ...]}}, got "
            f"{type(value).__name__}"
        )
    grid_rows = [[str(cell) for cell in row] for row in rows]
    if any(len(row) != len(header) for row in grid_rows):
        raise BenchmarkError(f"{where}: row {index}: every solution row must have {len(header)} cells, like the header")
    return {"header": [str(h) for h in header], "rows": grid_rows}


def check_unique_ids(items: Iterable[Item], *, where: str) -> None:
    """Raise :class:`BenchmarkError` if two items share an id (results are resumed and compared by id)."""
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.id in seen:
            raise BenchmarkError(
                f"{where}: rows {seen[item.id]} and {index} share the id {item.id!r}; ids must be unique (choose "
                "another id field, or none to number the rows)"
            )
        seen[item.id] = index


def items_from_records(
    rows: Sequence[Mapping[str, Any]],
    *,
    where: str,
    question: str = "question",
    answer: str = "answer",
    id: str | None = None,
    kind: str = "math",
) -> list[Item]:
    """Map rows to items: the named fields become question, answer and id; every other top-level field goes to meta.

    Without an ``id`` field the id is the row index (``"0"``, ``"1"``, ...). Ids are always strings and must be
    unique.
    """
    if kind not in KINDS:
        raise BenchmarkError(f"unknown grader kind {kind!r}; use one of {', '.join(KINDS)}")
    mapped = {question, answer} | ({id} if id else set())
    items = []
    for index, row in enumerate(rows):
        text = get_field(row, question, where=where, index=index)
        if not isinstance(text, str) or not text.strip():
            raise BenchmarkError(f"{where}: row {index}: the question ({question!r}) must be non-empty text")
        gold = normalize_answer(get_field(row, answer, where=where, index=index), kind, where=where, index=index)
        try:
            check_gold(gold, kind)  # a malformed gold fails here, before any sample is generated for it
        except ValueError as exc:
            raise BenchmarkError(f"{where}: row {index}: {exc}") from None
        key = str(get_field(row, id, where=where, index=index)) if id else str(index)
        meta = {k: v for k, v in row.items() if k not in mapped}
        items.append(Item(id=key, question=text, answer=gold, meta=meta))
    check_unique_ids(items, where=where)
    return items


def load_file(
    path: str | Path,
    *,
    question: str = "question",
    answer: str = "answer",
    id: str | None = None,
    kind: str = "math",
    name: str | None = None,
) -> list[Item]:
    """The items of a local JSON, JSON Lines or Parquet file (``.gz`` allowed), in file order.

    Args:
        path: the file. JSON is a list of records or ``{"data": [...]}``; JSON Lines is one record per line.
        question, answer, id: the fields holding each; dotted paths (``"meta.x"``) reach into nested objects. The
            id defaults to the row index.
        kind: the grader kind (``"math"``, ``"choice"`` or ``"zebra"``), which decides how answers are normalised
            (see :func:`normalize_answer`).
        name: how to call the data in error messages (default: the path).

    Raises:
        BenchmarkError: the file is missing, empty or malformed, a row lacks a field (the message lists the row's
            fields), or two rows share an id.
    """
    path = Path(path)
    where = name if name else str(path)
    if path.is_dir():
        raise BenchmarkError(f"{where}: is a directory; pass a data file ({', '.join(SUFFIXES)})")
    return items_from_records(read_records(path), where=where, question=question, answer=answer, id=id, kind=kind)
