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
* Minerva's gold is the last ``\boxed{}`` of its solution;
* OlympiadBench: a non-empty ``context`` is put before the question; a multi-answer problem's gold is a list of its
  answers (upstream holds one string joined by commas, ``'$69$,$84$'``, which is split at top-level commas as the
  grader splits responses), else its one string;
* ZebraLogic: the question is the puzzle followed by :func:`zebra_question`'s answer instruction; the gold is the
  ``{"header", "rows"}`` grid with every cell a string.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from npr.eval.datafiles import BenchmarkError, get_field, normalize_answer
from npr.eval.item import Item
from npr.rewards.answers import split_answers
from npr.schema import last_boxed

Row = Mapping[str, Any]
#: ``convert(row, index, where) -> Item``.
Converter = Callable[[Row, int, str], Item]


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
    return Item(
        id=str(get_field(row, "id", where=where, index=index)),
        question=_text(row, ("problem",), where=where, index=index),
        answer=normalize_answer(get_field(row, "answer", where=where, index=index), "math", where=where, index=index),
        meta=_meta(row, drop=("id", "problem", "question", "answer")),
    )


def matharena(row: Row, index: int, where: str) -> Item:
    """MathArena's AIME25 and HMMT25: ``problem_idx``, ``problem``, ``answer`` (the NPR repo's aime25.json has only
    ``question`` and ``answer``; its row i is problem ``i + 1``)."""
    key = row["problem_idx"] if "problem_idx" in row else index + 1
    return Item(
        id=str(key),
        question=_text(row, ("problem", "question"), where=where, index=index),
        answer=normalize_answer(get_field(row, "answer", where=where, index=index), "math", where=where, index=index),
        meta=_meta(row, drop=("problem_idx", "problem", "question", "answer")),
    )


def math500(row: Row, index: int, where: str) -> Item:
    """MATH500: ``unique_id`` (e.g. ``test/precalculus/807.json``), ``problem``, ``answer``, subject, level."""
    return Item(
        id=str(get_field(row, "unique_id", where=where, index=index)),
        question=_text(row, ("problem",), where=where, index=index),
        answer=normalize_answer(get_field(row, "answer", where=where, index=index), "math", where=where, index=index),
        meta=_meta(row, drop=("unique_id", "problem", "answer")),
    )


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
    return Item(
        id=str(row.get("idx", index)),
        question=_text(row, ("problem", "question"), where=where, index=index),
        answer=normalize_answer(gold, "math", where=where, index=index),
        meta=_meta(row, drop=("idx", "problem", "question", "answer")),
    )


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
    gold = final if row.get("is_multiple_answer") else final[0]
    if row.get("is_multiple_answer") and len(final) == 1:
        # The set joins a problem's answers into one string ('$69$,$84$', '(1,2), (3,4)'): split it the way the
        # grader splits a response, with the $ delimiters gone, so that each answer is matched on its own.
        parts = split_answers(str(final[0]).replace("$", ""))
        gold = parts if len(parts) > 1 else final[0]
    if not row.get("is_multiple_answer") and len(final) != 1:
        raise BenchmarkError(f"{where}: row {index}: one answer expected, final_answer holds {len(final)}")
    return Item(
        id=str(get_field(row, "id", where=where, index=index)),
        question=question,
        answer=normalize_answer(gold, "math", where=where, index=index),
        meta=_meta(row, drop=("id", "question", "final_answer")),
    )


def gsm8k(row: Row, index: int, where: str) -> Item:
    """GSM8K test: ``idx``, ``question``, ``answer`` (the worked solution, ending ``#### <number>``)."""
    solution = get_field(row, "answer", where=where, index=index)
    if not isinstance(solution, str) or "####" not in solution:
        raise BenchmarkError(f"{where}: row {index}: the answer must end with '#### <number>', got {solution!r}")
    return Item(
        id=str(row.get("idx", index)),
        question=_text(row, ("question",), where=where, index=index),
        answer=normalize_answer(solution.rsplit("####", 1)[1], "math", where=where, index=index),
        meta={**_meta(row, drop=("idx", "question", "answer")), "solution": solution},
    )


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
    return Item(
        id=str(get_field(row, "id", where=where, index=index)),
        question=zebra_question(puzzle, grid["header"], len(grid["rows"])),
        answer=grid,
        meta={**_meta(row, drop=("id", "puzzle", "solution")), "puzzle": puzzle},
    )
