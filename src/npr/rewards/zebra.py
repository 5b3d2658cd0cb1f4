r"""Grading a ZebraLogic grid, cell by cell: :func:`grade_zebra`, the ``"zebra"`` kind.

The gold answer is the official ZebraLogic solution grid, a dict or its JSON string::

    {"header": ["House", "Name", "Color"], "rows": [["1", "Alice", "Red"], ["2", "Bob", "Blue"]]}

The response's grid is the last one of these in its text (by where it starts):

* a JSON object, anywhere, fenced or not: ``{"reasoning": ..., "solution": {"House 1": {"Name": "Alice", ...}}}``,
  or just the ``{"House 1": {...}, ...}`` mapping, or a ``"solution"`` that is a list of row objects with a
  ``"House"`` field. At most the last :data:`MAX_JSON_ATTEMPTS` opening braces are tried, reading at most
  :data:`MAX_JSON_SCAN` characters in all, which bounds the time;
* a Markdown table whose header row names the attributes, its first column being the house.

Houses are matched by their number (``"House 1"``, ``"1"`` and ``1`` are the same house); attribute names and cell
values are compared ignoring case and whitespace (Markdown ``**``/backticks and a trailing full stop are dropped from
values). ``score`` is the share of right cells, the house column excluded; missing houses and attributes are wrong
cells, extra ones are ignored. ``extracted`` is the parsed grid as canonical JSON
(``{"House 1": {"Color": "Red", "Name": "Alice"}, ...}``, keys sorted).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from npr.rewards.verdict import MATCH, MISMATCH, NO_ANSWER, PARTIAL, Grade, InvalidGold

__all__ = ["grade_zebra", "check_zebra_gold", "extract_grid", "canonical", "Grid", "MAX_JSON_ATTEMPTS", "MAX_JSON_SCAN"]

#: How many ``{`` positions, from the end of the response, are tried as the start of a JSON object.
MAX_JSON_ATTEMPTS = 2000
#: How many characters the JSON decoder may read in all those attempts together.
MAX_JSON_SCAN = 2_000_000

_DIGITS = re.compile(r"\d+")
_SEPARATOR_ROW = re.compile(r"\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?")
_CELL_DECORATION = re.compile(r"[*`]")

#: A grid: house number -> attribute (as written) -> value (as written).
Grid = dict[str, dict[str, str]]


@dataclass(frozen=True)
class _Gold:
    attributes: tuple[str, ...]
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (house number, values in attribute order)

    @property
    def cells(self) -> int:
        return len(self.rows) * len(self.attributes)


def _key(value: Any) -> str:
    """The comparison form of a name or value: no whitespace, no decoration, case-folded."""
    text = _CELL_DECORATION.sub("", str(value))
    return "".join(text.split()).casefold().rstrip(".")


def _house(label: Any) -> str:
    """A house's number as a string (``"House 3"`` -> ``"3"``), or its comparison form when it has no number."""
    digits = _DIGITS.search(str(label))
    return str(int(digits.group())) if digits is not None else _key(label)


def _gold_grid(answer: Any) -> _Gold:
    if isinstance(answer, str):
        try:
            answer = json.loads(answer)
        except ValueError as error:
            raise InvalidGold(f"zebra gold answer: not JSON ({error})") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("header"), list) or not isinstance(
        answer.get("rows"), list
    ):
        raise InvalidGold('zebra gold answer: expected {"header": [...], "rows": [[...], ...]}')
    header, rows = answer["header"], answer["rows"]
    if len(header) < 2 or not rows:
        raise InvalidGold("zebra gold answer: needs a house column, at least one attribute and one row")
    parsed = []
    for row in rows:
        if not isinstance(row, list) or len(row) != len(header):
            raise InvalidGold(f"zebra gold answer: every row must be a list of {len(header)} cells, got {row!r}")
        parsed.append((_house(row[0]), tuple(str(cell) for cell in row[1:])))
    return _Gold(tuple(str(name) for name in header[1:]), tuple(parsed))


def _tidy(value: str) -> str:
    """A cell as shown in ``extracted``: Markdown decoration dropped, whitespace collapsed (case kept)."""
    return " ".join(_CELL_DECORATION.sub("", value).split())


def _cell(value: Any) -> str | None:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return _tidy(str(value))
    if isinstance(value, list) and all(isinstance(item, (str, int, float)) for item in value):
        return _tidy(", ".join(str(item) for item in value))
    return None


def _row_cells(row: dict[str, Any], skip: str | None = None) -> dict[str, str]:
    cells = {}
    for name, value in row.items():
        text = _cell(value)
        if text is not None and name != skip:
            cells[str(name)] = text
    return cells


def _grid_from_json(obj: Any) -> Grid | None:
    """The grid an object holds, or ``None`` when it holds none."""
    if not isinstance(obj, dict):
        return None
    for name, value in obj.items():
        if isinstance(name, str) and _key(name) == "solution":
            return _grid_from_json(value) if isinstance(value, dict) else _grid_from_rows(value)
    grid: Grid = {}
    for name, value in obj.items():
        if isinstance(value, dict) and _DIGITS.search(str(name)) is not None:
            grid[_house(name)] = _row_cells(value)
    return grid or None


def _grid_from_rows(rows: Any) -> Grid | None:
    """A grid from a list of row objects that each name their house in a ``"House"`` field."""
    if not isinstance(rows, list):
        return None
    grid: Grid = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        house_field = next((name for name in row if _key(name) == "house"), None)
        if house_field is not None:
            grid[_house(row[house_field])] = _row_cells(row, skip=house_field)
    return grid or None


def _last_json_grid(text: str) -> tuple[int, Grid] | None:
    """The last JSON object in ``text`` that holds a grid, with where it starts."""
    decoder = json.JSONDecoder()
    position = len(text)
    budget = MAX_JSON_SCAN
    for _ in range(MAX_JSON_ATTEMPTS):
        position = text.rfind("{", 0, position)
        if position < 0 or budget <= 0:
            return None
        try:
            obj, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            budget -= error.pos - position + 1
            continue
        except (ValueError, RecursionError):
            budget -= len(text) - position
            continue
        budget -= end - position
        grid = _grid_from_json(obj)
        if grid is not None:
            return position, grid
    return None


def _table_cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [cell.strip() for cell in inner.split("|")]


def _last_table_grid(text: str) -> tuple[int, Grid] | None:
    """The last Markdown table in ``text`` whose first column is the house, with where it starts."""
    found: tuple[int, Grid] | None = None
    lines = text.splitlines(keepends=True)
    offset = 0
    index = 0
    while index < len(lines):
        start = offset
        if lines[index].lstrip().startswith("|") and index + 1 < len(lines) and _SEPARATOR_ROW.fullmatch(
            lines[index + 1].strip()
        ):
            header = _table_cells(lines[index])
            offset += len(lines[index]) + len(lines[index + 1])
            index += 2
            grid: Grid = {}
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                cells = _table_cells(lines[index])
                offset += len(lines[index])
                index += 1
                if cells and cells[0]:
                    grid[_house(_CELL_DECORATION.sub("", cells[0]))] = {
                        _tidy(name): _tidy(value) for name, value in zip(header[1:], cells[1:], strict=False) if name
                    }
            if grid and header and _key(header[0]).startswith("house"):
                found = (start, grid)
            continue
        offset += len(lines[index])
        index += 1
    return found


def extract_grid(response: str) -> Grid | None:
    """The response's grid, by the rules of the module docstring, or ``None``."""
    candidates = [found for found in (_last_json_grid(response), _last_table_grid(response)) if found is not None]
    if not candidates:
        return None
    return max(candidates, key=lambda found: found[0])[1]


def canonical(grid: Grid) -> str:
    """``grid`` as canonical JSON: ``{"House 1": {attribute: value, ...}, ...}``, keys sorted."""
    return json.dumps({f"House {house}": cells for house, cells in grid.items()}, sort_keys=True)


def check_zebra_gold(answer: Any) -> None:
    """Raise :class:`InvalidGold` unless ``answer`` is a ``{"header", "rows"}`` grid (or its JSON), as above."""
    _gold_grid(answer)


def grade_zebra(response: str, answer: Any, *, timeout: float | None = None) -> Grade:
    """Grade a ZebraLogic ``response`` cell by cell against the gold grid ``answer`` (``timeout``: unused; the work
    is bounded by :data:`MAX_JSON_ATTEMPTS` and linear otherwise)."""
    gold = _gold_grid(answer)
    grid = extract_grid(response)
    if grid is None:
        return Grade.wrong(None, f"{NO_ANSWER}: no solution grid (JSON or Markdown table) in the response")
    by_house = {house: {_key(name): _key(value) for name, value in cells.items()} for house, cells in grid.items()}
    right = 0
    for house, values in gold.rows:
        predicted = by_house.get(house, {})
        right += sum(predicted.get(_key(name)) == _key(value) for name, value in zip(gold.attributes, values))
    score = right / gold.cells
    extracted = canonical(grid)
    if right == gold.cells:
        return Grade(True, extracted, MATCH, 1.0)
    code = PARTIAL if right else MISMATCH
    return Grade(False, extracted, f"{code}: {right} of {gold.cells} cells right", score)
