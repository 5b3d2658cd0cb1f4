"""``npr distill``: Stage 2's rejection sampling, turning a Stage-1 model's own answers into an SFT corpus.

For each problem, samples are drawn one index at a time (sample ``s`` is only drawn when samples ``0..s-1`` were all
rejected), up to ``k``; the first sample that is correct and perfectly formatted is kept: :func:`npr.schema.validate`
finds nothing and it has at least one block (with ``require_parallel``, a block of two or more steps). Drawing in
waves costs about one sample per problem once the model is good, instead of ``k``, and keeps "the first" exact:
every sample's seed is derived from (seed, problem, index), so the kept sample does not depend on batching, on the
order samples finish in, or on interruptions.

A run lives in one folder:

* ``config.json``: the settings; a resumed run must match them (:data:`IDENTITY`);
* ``samples.jsonl``: one line per graded sample, appended as samples finish: its verdict and why it was rejected,
  and for the kept one the engine's own ids (``prompt_ids``, ``response_ids``), never re-tokenised;
* ``corpus.jsonl``: the kept samples in problem order (the SFT corpus), and ``summary.json``: the yield per problem
  and the reasons for rejection; both rebuilt from ``samples.jsonl`` at the end.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from npr.eval.item import Item
from npr.eval.records import ResultsFile
from npr.eval.runner import sample_seed

#: Settings that decide which samples a run draws; a resumed run must keep them.
IDENTITY = ("model", "data", "k", "mode", "require_parallel", "temperature", "top_p", "top_k", "max_tokens",
            "max_total_tokens", "max_branches", "seed", "prompt", "instruction", "question_field", "answer_field",
            "id_field", "kind", "limit")  # fmt: skip


@dataclass(frozen=True)
class DistillConfig:
    """One distillation run.

    Attributes:
        model: the Stage-1 model (folder or hub id).
        data: the problems: a JSONL of ``id``/``question``/``answer`` (what the pipeline writes), any data file or
            ``hf:`` dataset with the field mapping below, or a registered benchmark name.
        k: most samples per problem.
        mode: ``sequential`` (a Stage-1 model, trained on causal rollouts) or ``parallel``.
        require_parallel: also require a block with at least two steps.
        temperature, top_p, top_k, max_tokens, max_total_tokens, max_branches: sampling and budgets.
        seed: the root of every sample's seed.
        prompt, instruction: ``npr`` (ask for the format) or ``plain``, and an instruction in place of the standard
            one (the toy world asks in its own words).
        question_field, answer_field, id_field, kind: the field mapping and grader of ``data``.
        limit: the first N problems only.
        batch, kv_budget, grade_workers, grade_timeout, dtype, device: engine, model and grading resources (free to
            change on resume).
    """

    model: str
    data: str
    k: int = 8
    mode: Literal["sequential", "parallel"] = "sequential"
    require_parallel: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_tokens: int = 2048
    max_total_tokens: int | None = None
    max_branches: int = 8
    seed: int = 0
    prompt: Literal["npr", "plain"] = "npr"
    instruction: str | None = None
    question_field: str | None = None
    answer_field: str | None = None
    id_field: str | None = "id"
    kind: str | None = None
    limit: int | None = None
    batch: int = 64
    kv_budget: int = 65536
    grade_workers: int = 1
    grade_timeout: float = 10.0
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    device: str | None = None

    def __post_init__(self) -> None:
        if Path(self.model).exists():
            object.__setattr__(self, "model", str(Path(self.model).resolve()))
        if Path(self.data).is_file():
            object.__setattr__(self, "data", str(Path(self.data).resolve()))
        checks = [
            (self.k >= 1, f"k={self.k}: each problem needs at least one sample"),
            (self.mode in ("sequential", "parallel"), f"mode={self.mode!r}: use 'sequential' or 'parallel'"),
            (self.prompt in ("npr", "plain"), f"prompt={self.prompt!r}: use 'npr' or 'plain'"),
            (self.limit is None or self.limit >= 1, f"limit={self.limit}: take at least one problem"),
            (self.batch >= 1, f"batch={self.batch}: at least one request must be in flight"),
            (self.kv_budget > self.max_tokens, f"kv_budget={self.kv_budget} cannot hold one sample of max_tokens={self.max_tokens}"),
            (self.grade_workers >= 1 and self.grade_timeout > 0, "grade_workers must be >= 1 and grade_timeout > 0"),
        ]  # fmt: skip
        for ok, why in checks:
            if not ok:
                raise ValueError(why)
        self.sampling(0)  # SamplingParams checks the sampling values and budgets with its own reasons

    def sampling(self, seed: int):
        from npr.engine import SamplingParams

        return SamplingParams(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, seed=seed,
                              max_tokens=self.max_tokens, max_total_tokens=self.max_total_tokens,
                              max_branches=self.max_branches)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def check_resumable(self, folder: Path) -> None:
        """Refuse a folder whose samples were drawn with other identity settings."""
        samples = folder / "samples.jsonl"
        if not samples.exists() or samples.stat().st_size == 0:
            return
        try:
            old = json.loads((folder / "config.json").read_text())["run"]
        except (OSError, ValueError, KeyError, TypeError):
            raise ValueError(f"{folder} holds samples.jsonl but no readable config.json; pick another --out") from None
        diffs = [f"{k}: {old.get(k)!r} there, {getattr(self, k)!r} now" for k in IDENTITY if old.get(k) != getattr(self, k)]
        if diffs:
            raise ValueError(f"{folder} holds a distillation with other settings ({'; '.join(diffs)}): pass another "
                             "--out, or the same settings to resume it")  # fmt: skip

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, where: str = "") -> DistillConfig:
        """From a mapping, with the config loader's checks: unknown keys (with the closest name) and types."""
        from npr.train.config.loader import from_dict

        return from_dict(cls, d, where=where)


def verdict(text: str, finish_reason: str, correct: bool, *, require_parallel: bool) -> list[str]:
    """Why a sample is rejected, every reason it has; empty when it is kept.

    Reasons: ``cut_off`` (the budget ended it), ``wrong_answer``, each violation code of
    :func:`npr.schema.validate` (a response without any block is ``no_blocks``), and ``not_parallel`` (with
    ``require_parallel``, no block of two or more steps).
    """
    from npr.schema import parse, validate

    reasons = ["cut_off"] if finish_reason == "length" else []
    if not correct:
        reasons.append("wrong_answer")
    codes = sorted({v.code for v in validate(text)})
    reasons += codes
    if not codes and require_parallel and not any(len(b.steps) >= 2 for b in parse(text).blocks):
        reasons.append("not_parallel")
    return reasons


def load_problems(config: DistillConfig) -> tuple[str, list[Item]]:
    """The problems and their grader kind (files and ``hf:`` specs through ``npr eval``'s loader)."""
    from npr.eval.specs import resolve

    _, kind, items = resolve(config.data, limit=config.limit, question=config.question_field,
                             answer=config.answer_field, id=_id_field(config), kind=config.kind)  # fmt: skip
    if not items:
        raise ValueError(f"{config.data}: no problems to distill")
    return kind, items


def _id_field(config: DistillConfig) -> str | None:
    """The id field, when ``data`` is a file that has it (registered benchmarks know their own)."""
    from npr.eval.benchmarks import get_benchmark

    try:
        get_benchmark(config.data)
        return None
    except ValueError:
        pass
    if config.id_field == "id" and Path(config.data).is_file():
        from npr.eval.datafiles import read_records

        rows = read_records(Path(config.data))
        return "id" if rows and isinstance(rows[0], dict) and "id" in rows[0] else None
    return config.id_field


def run_distill(config: DistillConfig, out: str | Path, *, engine=None, progress: bool = True,
                log: Callable[[str], None] = print) -> dict[str, Any]:  # fmt: skip
    """Run (or resume) a distillation into ``out``; returns the summary (also ``out/summary.json``)."""
    from npr.rewards import GradePool

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    config.check_resumable(folder)
    kind, items = load_problems(config)
    samples = ResultsFile(folder / "samples.jsonl", key=lambda r: (str(r["problem_id"]), int(r["sample"])),
                          required=("kept", "reasons", "grade", "stats"))  # fmt: skip
    done = _by_problem(samples.load())
    known = {item.id for item in items}
    stray = sorted(set(done) - known)
    if stray:
        raise ValueError(f"{folder}/samples.jsonl holds problems the data no longer has ({stray[:3]}); pick another --out")
    (folder / "config.json").write_text(json.dumps({"run": config.to_dict(), "kind": kind}, indent=2) + "\n")
    todo = [item for item in items if _next_sample(done.get(item.id, []), config.k) is not None]
    if done:
        log(f"resuming {folder}: {sum(map(len, done.values()))} samples on disk, {len(todo)} problems to go")
    if todo:
        if engine is None:
            engine = load_engine(config.model, config.kv_budget, dtype=config.dtype, device=config.device)
        with GradePool(workers=config.grade_workers, timeout=config.grade_timeout) as pool:
            _draw(config, engine, kind, todo, done, samples, pool.map, progress)
    return write_outputs(folder, config, items, done)


def load_engine(model: str, kv_budget: int, *, dtype: str = "float32", device: str | None = None, **engine):
    """The engine over ``model``, or a ValueError that names the model (a missing folder, a device torch lacks)."""
    from npr.engine import Engine, EngineConfig

    try:
        return Engine.from_pretrained(model, EngineConfig(kv_budget=kv_budget, **engine), dtype=dtype, device=device)
    except (OSError, RuntimeError, AssertionError) as exc:
        raise ValueError(f"cannot load the model {model!r}: {exc}") from None


def _by_problem(records: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(records, key=lambda r: (r["problem_id"], r["sample"])):
        out.setdefault(r["problem_id"], []).append(dict(r))
    return out


def _next_sample(records: Sequence[Mapping[str, Any]], k: int) -> int | None:
    """The next index to draw for a problem, or None when it is settled (a sample kept, or all k rejected)."""
    if any(r["kept"] for r in records) or len(records) >= k:
        return None
    return len(records)


def _draw(config, engine, kind, todo, done, samples, grader, progress) -> None:
    """Keep ``config.batch`` samples in flight; a problem's next sample is queued once its last one is rejected."""
    from npr.eval.runner import keep_in_flight
    from npr.tokens import encode_prompt

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="distill", unit="problem", dynamic_ncols=True)
    prompts: dict[str, list[int]] = {}
    kept = 0

    def submit(item: Item) -> str:
        s = _next_sample(done.get(item.id, []), config.k)
        if item.id not in prompts:
            prompts[item.id] = encode_prompt(engine.tokenizer, item.question, mode=config.prompt,
                                             instruction=config.instruction)  # fmt: skip
        return engine.submit(prompts[item.id], config.sampling(sample_seed(config.seed, "distill", item.id, s)),
                             config.mode)  # fmt: skip

    def finish(finished: list) -> None:
        nonlocal kept
        grades = grader([(t.text, item.answer, _kind(item, kind), _options(item)) for item, t in finished])
        records = [_record(config, item, _next_sample(done.get(item.id, []), config.k), t, g)
                   for (item, t), g in zip(finished, grades)]  # fmt: skip
        samples.append(records)
        for r, (item, _) in zip(records, finished):
            done.setdefault(item.id, []).append(r)
            if _next_sample(done[item.id], config.k) is None:
                kept += r["kept"]
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix_str(f"kept={kept}")
            else:
                pending.append(item)

    pending = deque(todo)
    try:
        keep_in_flight(engine, pending, submit, finish, batch=config.batch)
    finally:
        if bar is not None:
            bar.close()


def _kind(item: Item, default: str) -> str:
    """A row's own grader kind (the pipeline's prompts file carries one per row), else the file's."""
    kind = item.meta.get("kind")
    return kind if isinstance(kind, str) else default


def _options(item: Item) -> dict[str, Any]:
    options = item.grade_options or item.meta.get("grade_options") or {}
    return dict(options) if isinstance(options, Mapping) else {}


def _record(config: DistillConfig, item: Item, sample: int, traj, grade) -> dict[str, Any]:
    reasons = verdict(traj.text, traj.finish_reason, bool(grade.correct), require_parallel=config.require_parallel)
    rec: dict[str, Any] = {
        "problem_id": item.id,
        "sample": sample,
        "model": config.model,
        "kept": not reasons,
        "reasons": reasons,
        "grade": grade.to_dict(),
        "finish_reason": traj.finish_reason,
        "stats": dict(traj.stats),
    }
    if not reasons:
        rec["prompt_ids"] = list(traj.prompt_ids)
        rec["response_ids"] = list(traj.response_ids)
        rec["response"] = traj.text
    return rec


def write_outputs(folder: Path, config: DistillConfig, items: Sequence[Item], done: Mapping[str, list]) -> dict:
    """``corpus.jsonl`` (kept samples, problem order) and ``summary.json`` from the samples on disk."""
    corpus, per_problem, reasons = [], {}, Counter()
    drawn = 0
    for item in items:
        records = done.get(item.id, [])
        drawn += len(records)
        for r in records:
            reasons.update(r["reasons"])
        keep = next((r for r in records if r["kept"]), None)
        per_problem[item.id] = {"samples": len(records), "kept_sample": keep["sample"] if keep else None}
        if keep is not None:
            corpus.append({
                "prompt_ids": keep["prompt_ids"], "response_ids": keep["response_ids"], "problem_id": item.id,
                "sample": keep["sample"], "model": keep["model"], "grade": keep["grade"], "stats": keep["stats"],
                "response": keep["response"],
            })  # fmt: skip
    settled = sum(1 for item in items if _next_sample(done.get(item.id, []), config.k) is None)
    tmp = folder / "corpus.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in corpus))
    tmp.replace(folder / "corpus.jsonl")
    summary = {
        "model": config.model,
        "problems": len(items),
        "settled": settled,
        "complete": settled == len(items),
        "kept": len(corpus),
        "yield": len(corpus) / len(items),
        "samples": drawn,
        "samples_per_kept": drawn / len(corpus) if corpus else None,
        "rejections": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "per_problem": per_problem,
    }
    tmp = folder / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    tmp.replace(folder / "summary.json")  # whole or absent: a kill never leaves a torn summary for a rerun to trip on
    return summary
