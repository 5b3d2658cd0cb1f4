"""``npr eval --score FILE --benchmark NAME``: grade responses produced elsewhere, with the same metrics.

``FILE`` is JSONL, one object per problem or per sample::

    {"id": "7", "response": "..."}                      one sample
    {"id": "7", "responses": ["...", "..."]}            several samples of one problem
    {"id": "7", "response": "...", "forked": true}      the producing engine ran its parallel blocks as real forks

The id field may be ``id``, ``item_id``, ``idx``, ``problem_idx`` or ``unique_id`` (or ``--id-field``); the response
field ``response``, ``output``, ``completion``, ``generated_text`` or ``text`` (or ``--response-field``).

Text from a sequential engine forks nothing, so its parallel rate is 0 by definition, whatever its format: only a
record that says ``"forked": true`` counts its parallel blocks as forked. Token counts come from ``total_tokens`` and
``critical_path_tokens`` fields when present, else from ``--tokenizer`` (the critical path is then measured with the
parallel topology of :mod:`npr.topology`), else they are left out.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from npr.eval.records import ResultsFile, format_fields

ID_FIELDS = ("id", "item_id", "idx", "problem_idx", "unique_id")
RESPONSE_FIELDS = ("response", "output", "completion", "generated_text", "text")


class ScoreInputError(ValueError):
    """A file of outside responses that cannot be scored as it is."""


@dataclass(frozen=True)
class ScoreConfig:
    """What a scoring run records as its config (the summary's ``config``)."""

    source: str
    benchmark: str
    k: int
    tokenizer: str | None = None
    mode: str = "scored"
    model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_responses(path: Path, id_field: str | None, response_field: str | None) -> dict[str, list[dict]]:
    """{item id: [{"response", "forked", token fields...}, ...]} in file order."""
    if not path.exists():
        raise ScoreInputError(f"{path} does not exist")
    out: dict[str, list[dict]] = defaultdict(list)
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as exc:
            raise ScoreInputError(f"{path}:{number}: not JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise ScoreInputError(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
        idf = id_field or next((f for f in ID_FIELDS if f in obj), None)
        if idf is None or idf not in obj:
            raise ScoreInputError(
                f"{path}:{number}: no id field (looked for {id_field or ', '.join(ID_FIELDS)}; the line has "
                f"{', '.join(obj) or 'no fields'}); name it with --id-field"
            )
        if response_field:
            texts = obj.get(response_field)
        elif "responses" in obj:
            texts = obj["responses"]
        else:
            texts = next((obj[f] for f in RESPONSE_FIELDS if f in obj), None)
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ScoreInputError(
                f"{path}:{number}: no response text (looked for {response_field or 'responses, ' + ', '.join(RESPONSE_FIELDS)}"
                f"; the line has {', '.join(obj)}); name it with --response-field"
            )
        forked = obj.get("forked", False)
        if not isinstance(forked, bool):
            raise ScoreInputError(f"{path}:{number}: forked must be true or false, got {forked!r}")
        for t in texts:
            out[str(obj[idf])].append({
                "response": t, "forked": forked,
                "total_tokens": obj.get("total_tokens"), "critical_path_tokens": obj.get("critical_path_tokens"),
            })  # fmt: skip
    if not out:
        raise ScoreInputError(f"{path} holds no responses")
    return out


class TokenCounter:
    """Total and critical-path tokens of a response, with a tokenizer that knows the eight tags."""

    def __init__(self, tokenizer_path: str):
        from transformers import AutoTokenizer

        from npr.tokens import add_tags

        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path)
        self.tags = add_tags(None, self.tokenizer)

    def __call__(self, text: str) -> tuple[int, int]:
        from npr.topology import TopologyError, layout

        ids = self.tokenizer.encode(text, add_special_tokens=False)
        if not ids:
            return 0, 0
        try:
            pos = layout(ids, self.tags, 0).position_ids
            return len(ids), int(pos.max()) + 1
        except TopologyError:  # not laid out as parallel: every token is on the path
            return len(ids), len(ids)


def claim_folder(folder: Path) -> None:
    """Make ``folder`` ready for a score run's outputs, refusing one that holds anything else's results."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.json"
    if (folder / "results.jsonl").exists() or config.exists():
        try:
            ours = "score" in json.loads(config.read_text())
        except (OSError, ValueError, TypeError):
            ours = False
        if not ours:
            raise ScoreInputError(
                f"{folder} holds results that --score did not write (an npr eval run?); scoring would replace "
                "them - pick another --out"
            )


def score_file(
    path: str | Path,
    benchmark: str,
    out: str | Path | None = None,
    *,
    id_field: str | None = None,
    response_field: str | None = None,
    tokenizer: str | None = None,
    data_dir: str | None = None,
    grade_workers: int = 1,
    grade_timeout: float = 10.0,
) -> dict[str, Any]:
    """Grade every response of ``path`` against ``benchmark``; write results/summary/report/plots into ``out``."""
    from npr.eval.specs import resolve
    from npr.eval.report import in_scope, summarize, write_outputs
    from npr.eval.runner import Task
    from npr.rewards import GradePool

    path = Path(path)
    if out is not None:
        claim_folder(Path(out))  # before any work: a folder we may not write to fails fast
    responses = read_responses(path, id_field, response_field)
    name, kind, items = resolve(benchmark, data_dir=data_dir)
    by_id = {str(i.id): i for i in items}
    unknown = [i for i in responses if i not in by_id]
    if unknown:
        raise ScoreInputError(
            f"{len(unknown)} ids of {path} are not problems of {name}: {unknown[:5]} (its ids look like "
            f"{list(by_id)[:3]}); check --benchmark and --id-field"
        )
    counter = TokenCounter(tokenizer) if tokenizer else None
    jobs, metas = [], []
    for item_id, samples in responses.items():
        item = by_id[item_id]
        for s, sample in enumerate(samples):
            jobs.append((sample["response"], item.answer, kind, dict(item.grade_options)))
            metas.append((item, s, sample))
    with GradePool(workers=grade_workers, timeout=grade_timeout) as pool:
        grades = pool.map(jobs)
    records = []
    for (item, s, sample), grade in zip(metas, grades):
        total, crit = sample["total_tokens"], sample["critical_path_tokens"]
        if (total is None or crit is None) and counter is not None:
            total, crit = counter(sample["response"])
        fmt = format_fields(sample["response"])
        if sample["forked"]:
            fmt["forked_parallel_blocks"] = fmt["parallel_blocks"]
        records.append({
            "benchmark": name, "item_id": item.id, "sample": s, "seed": None, "kind": kind, "answer": item.answer,
            "response": sample["response"], "finish_reason": None, "grade": grade.to_dict(), "format": fmt,
            "stats": {"total_tokens": total, "critical_path_tokens": crit}, "session": None, "elapsed": None,
        })  # fmt: skip
    k = max(len(v) for v in responses.values())
    config = ScoreConfig(str(path), name, k, tokenizer)
    task = Task(name, kind, [by_id[i] for i in responses])
    if out is None:
        return summarize(in_scope(records, {name: set(responses)}, k), k, config.to_dict())
    folder = Path(out)
    results = folder / "results.jsonl"
    if results.exists():
        results.unlink()  # a score run is recomputed from its input, never resumed
    (folder / "config.json").write_text(json.dumps({"score": config.to_dict()}, indent=2) + "\n")
    ResultsFile(results).append(records)
    return write_outputs(folder, config, [task], records, title=f"npr eval --score {path.name}")
