"""Training prompts for the recipe: where they come from, and the check that none of them is an evaluation problem.

A source is one of

* ``toy:FAMILY``: problems of a toy family's *training* split (:mod:`npr.eval.toy`), drawn with the run's seed;
* ``orz``: the ORZ math collection the paper trains on, from the hub (``Open-Reasoner-Zero/orz_math_57k_collection``)
  or, as ``orz:PATH``, a local copy of its JSON file;
* anything ``npr eval --benchmark`` reads: a local JSON / JSON Lines / Parquet file with a field mapping, or an
  ``hf:OWNER/NAME[:SPLIT]`` dataset (through :func:`npr.eval.specs.resolve`).

:func:`build_prompts` writes the chosen prompts to one JSONL file (``id``, ``question``, ``answer``, ``kind``), the
format the trainers and ``npr distill`` read, each row with its grader ``kind`` (and ``grade_options``). Before that, every question is compared with the configured
evaluation benchmarks after :func:`normalize_question`; an overlap is refused unless ``allow_overlap``, because a
model trained on its test problems measures nothing.
"""

from __future__ import annotations

import json
import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npr.eval.datafiles import BenchmarkError, items_from_records
from npr.eval.item import Item

ORZ_REPO = "Open-Reasoner-Zero/orz_math_57k_collection"
ORZ_FILE = "orz_math_57k_collection.json"


@dataclass(frozen=True)
class PromptSource:
    """One source of training prompts.

    Attributes:
        spec: ``toy:FAMILY``, ``orz``, ``orz:PATH``, a data file or ``hf:OWNER/NAME[:SPLIT]`` (see the module).
        n: how many prompts to take: the first ``n`` of a file or dataset; for a toy family, how many to draw
            (required there).
        question_field, answer_field, id_field, kind: the field mapping and grader of a file or ``hf:`` source.
    """

    spec: str
    n: int | None = None
    question_field: str | None = None
    answer_field: str | None = None
    id_field: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.spec, str):
            raise ValueError(f"a prompt source's spec must be text, got {self.spec!r}")
        if not self.spec.strip():
            raise ValueError("a prompt source has an empty spec: give toy:FAMILY, orz, a data file or hf:owner/name")
        if self.n is not None and self.n < 1:
            raise ValueError(f"prompt source {self.spec!r}: n={self.n} must be >= 1")
        if self.spec.startswith("toy:") and self.n is None:
            raise ValueError(f"prompt source {self.spec!r}: a toy family is drawn, not read; say how many with n")


def normalize_question(text: str) -> str:
    """The form in which questions are compared: NFKC, lower case, every run of whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).lower())


def load_source(source: PromptSource, *, seed: int = 0, offline: bool | None = None) -> tuple[str, list[Item]]:
    """The grader kind and items of one source (see the module docstring); a :class:`BenchmarkError` says what is
    wrong. An ``hf:`` source without a split reads ``train``: these are training prompts."""
    spec = source.spec.strip()
    if spec.startswith("hf:") and spec.count(":") == 1:
        spec += ":train"
    if spec.startswith("toy:"):
        from npr.eval.toy import get_task

        try:
            task = get_task(spec[len("toy:") :])
        except ValueError as exc:
            raise BenchmarkError(f"prompt source {spec!r}: {exc}") from None
        return "math", [p.item() for p in task.problems("train", source.n, seed=seed)]
    if spec == "orz" or spec.startswith("orz:"):
        kind, items = "math", _orz_items(spec[len("orz:") :] if spec.startswith("orz:") else None, offline=offline)
    else:
        from npr.eval.specs import resolve

        _, kind, items = resolve(spec, offline=offline, question=source.question_field, answer=source.answer_field,
                                 id=source.id_field, kind=source.kind)  # fmt: skip
    return kind, items if source.n is None else items[: source.n]


def _orz_items(path: str | None, *, offline: bool | None) -> list[Item]:
    """ORZ's JSON: a list of conversations ``[{"from": "human", "value": Q}, {"from": "assistant",
    "ground_truth": {"value": A}}]``; plain ``{"question", "answer"}`` rows are read as well."""
    if path is None:
        from npr.eval.hub import offline_default

        if offline if offline is not None else offline_default():
            raise BenchmarkError(
                f"the ORZ collection comes from the hub ({ORZ_REPO}), which is off limits (HF_HUB_OFFLINE); "
                f"download {ORZ_FILE} elsewhere and use the source orz:PATH"
            )
        from huggingface_hub import hf_hub_download

        try:
            path = hf_hub_download(ORZ_REPO, ORZ_FILE, repo_type="dataset")
        except Exception as exc:  # noqa: BLE001 - the hub library raises many kinds; all mean "not reachable"
            raise BenchmarkError(f"cannot fetch {ORZ_FILE} from {ORZ_REPO}: {exc}; or use orz:PATH") from None
    rows = []
    for index, row in enumerate(_json_list(Path(path))):
        if isinstance(row, list) and len(row) >= 2 and all(isinstance(t, dict) for t in row[:2]):
            truth = row[1].get("ground_truth")
            answer = truth.get("value") if isinstance(truth, dict) else None
            row = {"question": row[0].get("value"), "answer": answer}
        if not isinstance(row, dict):
            raise BenchmarkError(f"{path}: row {index} is neither an ORZ conversation nor a question/answer record")
        rows.append({"id": f"orz-{index}", **row})
    return items_from_records(rows, where=str(path), id="id")


def _json_list(path: Path) -> list[Any]:
    """ORZ's file: one JSON list (optionally gzip-compressed); its rows are lists, which ``read_records`` refuses."""
    import gzip

    if not path.is_file():
        raise BenchmarkError(f"ORZ file {str(path)!r} does not exist")
    raw = path.read_bytes()
    try:
        data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    except (ValueError, OSError) as exc:
        raise BenchmarkError(f"{path}: not a JSON file ({exc})") from None
    if not isinstance(data, list):
        raise BenchmarkError(f"{path}: expected a JSON list of conversations, got {type(data).__name__}")
    return data


def overlaps(items: Iterable[Item], benchmark_items: Iterable[tuple[str, Item]]) -> list[tuple[str, str, str]]:
    """``(training id, benchmark, benchmark id)`` for each training question equal to a benchmark question once
    normalised."""
    seen: dict[str, tuple[str, str]] = {}
    for bench, item in benchmark_items:
        seen.setdefault(normalize_question(item.question), (bench, item.id))
    return [(item.id, *seen[key]) for item in items if (key := normalize_question(item.question)) in seen]


def build_prompts(
    sources: Sequence[PromptSource],
    out: str | Path,
    *,
    benchmarks: Sequence[str] = (),
    allow_overlap: bool = False,
    seed: int = 0,
    data_dir: str | None = None,
    offline: bool | None = None,
) -> dict[str, Any]:
    """Load ``sources``, refuse overlaps with ``benchmarks`` (unless allowed), and write the prompts to ``out``.

    Ids become ``<source number>:<id>`` so that two sources cannot collide, and the prompts are shuffled with
    ``seed``. Returns what was written: the count per source and the overlaps found.
    """
    from npr.eval.specs import resolve

    chosen: list[tuple[int, Item, str]] = []
    counts = []
    for number, source in enumerate(sources):
        kind, items = load_source(source, seed=seed, offline=offline)
        if not items:
            raise BenchmarkError(f"prompt source {source.spec!r} gave no prompts")
        chosen += [(number, item, kind) for item in items]
        counts.append({"spec": source.spec, "prompts": len(items)})
    held = []
    for spec in benchmarks:
        name, _, items = resolve(spec, data_dir=data_dir, offline=offline)
        held += [(name, item) for item in items]
    found = overlaps([item for _, item, _ in chosen], held)
    if found and not allow_overlap:
        shown = "; ".join(f"{tid} = {bench} {bid}" for tid, bench, bid in found[:5])
        raise BenchmarkError(
            f"{len(found)} training prompts are evaluation problems ({shown}{' ...' if len(found) > 5 else ''}): "
            "a model trained on them cannot be measured on them. Remove them, or set prompts.allow_overlap: true"
        )
    rows = [
        {"id": f"{number}:{item.id}", "question": item.question, "answer": item.answer, "kind": kind,
         **({"grade_options": item.grade_options} if item.grade_options else {})}
        for number, item, kind in chosen
    ]  # fmt: skip
    # Sources are mixed in a seeded order, so that "the first N prompts" (a distillation limit) samples them all.
    random.Random(seed).shuffle(rows)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return {"prompts": len(rows), "sources": counts, "overlaps": len(found)}
