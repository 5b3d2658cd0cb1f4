r"""How each registered benchmark's rows become :class:`~npr.eval.item.Item` s: one converter per source format.

A converter takes a row, its index and a label for error messages, and returns the item. Where a set can come from
a local file or from the hub in a different shape (AIME25, HMMT25, Minerva), its converter accepts both.

Decisions worth knowing (also in ``src/npr/eval/data/SOURCES.md``):

* ids are the source's own where it has one, as strings; otherwise the row index;
* AIME25 from the local file has no ids: row i gets ``str(i + 1)``, the problem number that MathArena's
  ``problem_idx`` gives the same problem (AIME I 1-15, then AIME II as 16-30), so ids agree whichever source loaded it;
* AMC23 answers are floats (``27.0``): whole ones become ``"27"``;
* GSM8K's ``answer`` field is the worked solution ending in ``#### 18``: the gold is what follows ``####``, as given
  (thousands separators kept: ``"2,125"``); the solution goes to ``meta["solution"]``;
* Minerva's gold is the last ``\boxed{}`` of its solution, tidied (:func:`tidy_gold`): ``-1./3`` (numpy's float
  literal, meaning -1/3) becomes ``-1/3``, a trailing full stop (``4.``) goes, ``np.arcsin(10/13)`` becomes
  ``\arcsin(10/13)``;
* OlympiadBench: a non-empty ``context`` is put before the question; a multi-answer problem's gold is a list of its
  answers (upstream holds one string joined by commas, ``'$69$,$84$'``, which is split at top-level commas as the
  grader splits responses) when every piece reads as mathematics, else its one string (id 1965 describes a family of
  functions in words: split, its clauses would be "answers"); golds are tidied as Minerva's, and an interval gold
  prefixed by its variable (``t(0,4]``, id 2045) loses the variable. The ``error`` field (a numeric tolerance, id
  2592: ``"1e-1"``) becomes ``grade_options={"tolerance": 0.1}``, the math grader's absolute tolerance;
* every gold is checked by :func:`npr.rewards.check_gold` with the item's grade options; a malformed one is a
  :class:`~npr.eval.datafiles.BenchmarkError`;
* ZebraLogic: the question is the puzzle followed by :func:`zebra_question`'s answer instruction; the gold is the
  ``{"header", "rows"}`` grid with every cell a string.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from npr.eval.datafiles import BenchmarkError, get_field, normalize_answer
from npr.eval.item import Item
from npr.rewards import check_gold
from npr.rewards.answers import split_answers
from npr.rewards.math import readable
from npr.schema import last_boxed

Row = Mapping[str, Any]
#: ``convert(row, index, where) -> Item``.
Converter = Callable[[Row, int, str], Item]

_NUMPY_FRACTION = re.compile(r"(\d)\./(?=\d)")
_TRAILING_STOP = re.compile(r"(?<=[\d$)\]}])\s*\.\s*$")
_NUMPY_FUNCTION = re.compile(r"\bnp\.(arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|exp|log|ln|pi)\b")
# A variable before an interval: t(0,4], x[1, 2).
_NAMED_INTERVAL = re.compile(r"^(\$?)\s*[A-Za-z]\s*(?=[(\[][^()\[\]]*,[^()\[\]]*[)\]]\s*\$?$)")
# A run of two or more letters that is not a LaTeX command's name: prose, which needs a closer look.
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")


def tidy_gold(text: str) -> str:
    r"""A gold answer without the source's slips: ``-1./3`` -> ``-1/3``, ``4.`` -> ``4``, ``np.arcsin`` ->
    ``\arcsin``."""
    text = _NUMPY_FRACTION.sub(r"\1/", text)
    text = _NUMPY_FUNCTION.sub(r"\\\1", text)
    return _TRAILING_STOP.sub("", text)


def _tidy(answer: str | list[str]) -> str | list[str]:
    return [tidy_gold(part) for part in answer] if isinstance(answer, list) else tidy_gold(answer)


def _all_math(pieces: Sequence[str]) -> bool:
    """Whether every piece reads as mathematics; only pieces with words in them are worth parsing."""
    return all(_WORD.search(piece) is None or readable(piece) for piece in pieces)


def _checked(item: Item, kind: str, *, where: str, index: int) -> Item:
    """``item``, once :func:`check_gold` accepts its gold answer and grade options."""
    try:
        check_gold(item.answer, kind, **item.grade_options)
    except ValueError as error:
        raise BenchmarkError(f"{where}: row {index}: {error}") from None
    return item


def _text(row: Row, keys: Sequence[str], *, where: str, index: int) -> str:
    """The first of ``keys`` present in ``row``, as non-empty text."""
    key = next((k for k in keys if k in row), keys[0])
    value = get_field(row, key, where=where, index=index)
    if not isinstance(value, str) or not value.strip():
        raise BenchmarkError(f"{where}: row {index}: {key!r} must be non-empty text, got {value!r}")
    return value


def _meta(row: Row, *, drop: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in drop}


def qwen_math(row: Row, index: int, where: str) -> Item:
    """Qwen2.5-Math's aime24.jsonl and amc23.jsonl: ``id``, ``problem`` (= ``question``), ``answer``, ``url``."""
    item = Item(
        id=str(get_field(row, "id", where=where, index=index)),
        question=_text(row, ("problem",), where=where, index=index),
        answer=normalize_answer(get_field(row, "answer", where=where, index=index), "math", where=where, index=index),
        meta=_meta(row, drop=("id", "problem", "question", "answer")),
    )
    return _checked(item, "math", where=where, index=index)


def matharena(row: Row, index: int, where: str) -> Item:
    """MathArena's AIME25 and HMMT25: ``problem_idx``, ``problem``, ``answer`` (the NPR repo's aime25.json has only
    ``question`` and ``answer``; its row i is problem ``i + 1``)."""
    key = row["problem_idx"] if "problem_idx" in row else index + 1
    item = Item(
        id=str(key),
        question=_text(row, ("problem", "question"), where=where, index=index),
        answer=normalize_answer(get_field(row, "answer", where=where, index=index), "math", where=where, index=index),
        meta=_meta(row, drop=("problem_idx", "problem", "question", "answer")),
    )
    return _checked(item, "math", where=where, index=index)


def math500(row: Row, index: int, where: str) -> Item:
    """MATH500: ``unique_id`` (e.g. ``test/precalculus/807.json``), ``problem``, ``answer``, subject, level."""
    item = Item(
        id=str(get_field(row, "unique_id", where=where, index=index)),
        question=_text(row, ("problem",), where=where, index=index),
        answer=normalize_answer(get_field(row, "answer", where=where, index=index), "math", where=where, index=index),
        meta=_meta(row, drop=("unique_id", "problem", "answer")),
    )
    return _checked(item, "math", where=where, index=index)


def minerva(row: Row, index: int, where: str) -> Item:
    r"""Minerva-Math: Qwen2.5-Math's ``idx``, ``problem``, ``solution`` (gold: its last ``\boxed{}``), ``type``; or a
    hub copy with ``question`` and ``answer``."""
    if "answer" in row:
        gold: Any = row["answer"]
    else:
        solution = get_field(row, "solution", where=where, index=index)
        gold = last_boxed(solution) if isinstance(solution, str) else None
        if not gold:
            raise BenchmarkError(f"{where}: row {index}: the solution has no \\boxed{{}} answer")
    item = Item(
        id=str(row.get("idx", index)),
        question=_text(row, ("problem", "question"), where=where, index=index),
        answer=_tidy(normalize_answer(gold, "math", where=where, index=index)),
        meta=_meta(row, drop=("idx", "problem", "question", "answer")),
    )
    return _checked(item, "math", where=where, index=index)


def olympiadbench(row: Row, index: int, where: str) -> Item:
    """OlympiadBench (text-only English maths): ``id``, ``question``, ``context``, ``final_answer`` (a list),
    ``is_multiple_answer``, ``unit``, ``answer_type``, ``error`` (a numeric tolerance, once), ``subfield``."""
    question = _text(row, ("question",), where=where, index=index)
    context = row.get("context")
    if isinstance(context, str) and context.strip():
        question = f"{context.strip()}\n\n{question}"
    final = get_field(row, "final_answer", where=where, index=index)
    if not isinstance(final, list) or not final:
        raise BenchmarkError(f"{where}: row {index}: final_answer must be a non-empty list, got {final!r}")
    if not row.get("is_multiple_answer") and len(final) != 1:
        raise BenchmarkError(f"{where}: row {index}: one answer expected, final_answer holds {len(final)}")
    gold: Any = final if row.get("is_multiple_answer") else final[0]
    if row.get("is_multiple_answer") and len(final) == 1:
        # The set joins a problem's answers into one string ('$69$,$84$', '(1,2), (3,4)'): split it the way the
        # grader splits a response, with the $ delimiters gone, so that each answer is matched on its own.
        parts = split_answers(str(final[0]).replace("$", ""))
        gold = parts if len(parts) > 1 and _all_math(parts) else final[0]
    answer = _tidy(normalize_answer(gold, "math", where=where, index=index))
    if isinstance(answer, str) and row.get("answer_type") == "Interval":
        answer = _NAMED_INTERVAL.sub(r"\1", answer)
    item = Item(
        id=str(get_field(row, "id", where=where, index=index)),
        question=question,
        answer=answer,
        meta=_meta(row, drop=("id", "question", "final_answer")),
        grade_options=_olympiad_options(row, where=where, index=index),
    )
    return _checked(item, "math", where=where, index=index)


def _olympiad_options(row: Row, *, where: str, index: int) -> dict[str, Any]:
    """The grade options of an OlympiadBench row: its ``error`` field, when set, as an absolute ``tolerance``."""
    error = row.get("error")
    if error is None or (isinstance(error, str) and not error.strip()):
        return {}
    try:
        tolerance = float(error)
    except (TypeError, ValueError):
        tolerance = math.nan
    if not math.isfinite(tolerance) or tolerance < 0:
        raise BenchmarkError(f"{where}: row {index}: error must be a non-negative number, got {error!r}")
    return {"tolerance": tolerance}


def gsm8k(row: Row, index: int, where: str) -> Item:
    """GSM8K test: ``idx``, ``question``, ``answer`` (the worked solution, ending ``#### <number>``)."""
    solution = get_field(row, "answer", where=where, index=index)
    if not isinstance(solution, str) or "####" not in solution:
        raise BenchmarkError(f"{where}: row {index}: the answer must end with '#### <number>', got {solution!r}")
    item = Item(
        id=str(row.get("idx", index)),
        question=_text(row, ("question",), where=where, index=index),
        answer=normalize_answer(solution.rsplit("####", 1)[1], "math", where=where, index=index),
        meta={**_meta(row, drop=("idx", "question", "answer")), "solution": solution},
    )
    return _checked(item, "math", where=where, index=index)


def zebra_question(puzzle: str, header: Sequence[str], houses: int) -> str:
    """The puzzle followed by the instruction to answer with a JSON solution whose shape is shown, blanks included.

    ``header`` is the solution's column names, the first being the house number column.
    """
    attributes = list(header[1:])
    template = {
        "reasoning": "...",
        "solution": {f"House {h}": {a: "___" for a in attributes} for h in range(1, houses + 1)},
    }
    return (
        f"{puzzle.rstrip()}\n\n"
        "Work out the value of every attribute in every house. Finish with your answer as one JSON object of the "
        "form below, with your reasoning under \"reasoning\" and each ___ replaced by the right value:\n"
        f"{json.dumps(template)}"
    )


def zebralogic(row: Row, index: int, where: str) -> Item:
    """ZebraLogicBench grid mode: ``id``, ``size`` (e.g. ``"3*4"``), ``puzzle``, ``solution`` {header, rows}."""
    grid = normalize_answer(get_field(row, "solution", where=where, index=index), "zebra", where=where, index=index)
    puzzle = _text(row, ("puzzle",), where=where, index=index)
    item = Item(
        id=str(get_field(row, "id", where=where, index=index)),
        question=zebra_question(puzzle, grid["header"], len(grid["rows"])),
        answer=grid,
        meta={**_meta(row, drop=("id", "puzzle", "solution")), "puzzle": puzzle},
    )
    return _checked(item, "zebra", where=where, index=index)
