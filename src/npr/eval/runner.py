"""``npr eval``: run benchmarks through the engine, grade every sample, and write the results and the summary.

A run lives in one output folder:

* ``config.json`` - the settings (:class:`~npr.eval.config.EvalConfig`) and the machine;
* ``results.jsonl`` - one line per sample (:mod:`npr.eval.records`), appended as samples finish;
* ``summary.json``, ``report.md`` and the plots - rebuilt from ``results.jsonl`` at the end (:mod:`npr.eval.report`).

Running the same command again resumes: samples already in ``results.jsonl`` are not redone, and because every
sample's seed is derived from its identity (not from batching or order), the resumed run ends with the same samples
an uninterrupted one would have produced.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from npr.eval.config import EvalConfig, machine_info
from npr.eval.item import Item
from npr.eval.records import ResultsFile, format_fields, record_key


#: Seconds between refreshes of the progress bar's live figures while no sample finishes.
PROGRESS_REFRESH_S = 1.0
#: Bytes of the SHA-256 digest that make a sample seed (56 bits: distinct for any practical number of samples).
SEED_BYTES = 7


@dataclass(frozen=True)
class Task:
    """One resolved benchmark: its display name, grader kind and problems."""

    name: str
    kind: str
    items: list[Item]
    instructions: Mapping[str, str] | None = None  # by prompt mode, when the benchmark asks in its own words


def keep_in_flight(
    engine,
    pending: deque,
    submit: Callable[[Any], str],
    finish: Callable[[list[tuple[Any, Any]]], None],
    *,
    batch: int,
    on_step: Callable[[list, bool], None] | None = None,
) -> None:
    """Drive ``engine`` until ``pending`` is empty and nothing is in flight, with at most ``batch`` requests in it.

    ``submit(job)`` queues one job's request and returns its id; ``finish([(job, trajectory), ...])`` receives the
    jobs that finished in one step (it may append follow-up jobs to ``pending``); ``on_step(events, finishing)``
    sees every step's events. Requests still in flight when this stops (an interrupt, an error in ``finish``) are
    aborted, so the engine is free for whoever uses it next; their jobs are simply not finished.
    """
    inflight: dict[str, Any] = {}
    try:
        while pending or inflight:
            while pending and len(inflight) < batch:
                job = pending.popleft()
                inflight[submit(job)] = job
            events = engine.step()
            ids = [e.request_id for e in events if e.kind == "finish" and e.request_id in inflight]
            if on_step is not None:
                on_step(events, bool(ids))
            if ids:
                finish([(inflight.pop(rid), engine.take(rid)) for rid in ids])
    finally:
        for rid in list(inflight):
            engine.abort(rid)


def sample_seed(seed: int, benchmark: str, item_id: str, sample: int) -> int:
    """The seed of one sample: fixed by what the sample is, so batching and resuming cannot change it."""
    digest = hashlib.sha256(f"{seed}\x1f{benchmark}\x1f{item_id}\x1f{sample}".encode()).digest()
    return int.from_bytes(digest[:SEED_BYTES], "big")


def resolve_tasks(config: EvalConfig) -> list[Task]:
    """Load every benchmark of ``config`` (before any model is loaded, so a typo fails fast)."""
    from npr.eval.benchmarks import instructions_for
    from npr.eval.specs import resolve

    tasks = []
    for spec in config.benchmarks:
        name, kind, items = resolve(
            spec, limit=config.limit, data_dir=config.data_dir, question=config.question_field,
            answer=config.answer_field, id=config.id_field, kind=config.kind,
        )  # fmt: skip
        if not items:
            raise ValueError(f"benchmark {spec!r} has no problems")
        tasks.append(Task(name, kind, items, instructions_for(spec)))
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError(f"two benchmarks resolve to the same name: {names}")
    return tasks


def write_config(config: EvalConfig, folder: Path, tasks: Sequence[Task]) -> None:
    from npr import __version__

    path = folder / "config.json"
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):  # none yet, or left unreadable by a run that never made a sample
        old = {}
    if not isinstance(old, dict):
        old = {}
    doc = {
        "run": config.to_dict(),
        "benchmarks": {t.name: {"kind": t.kind, "problems": len(t.items)} for t in tasks},
        "npr_version": __version__,
        "created": old.get("created") or datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")


class Evaluator:
    """Drives one engine over the pending samples of each task, keeping ``config.batch`` requests in flight.

    Args:
        config: the run.
        engine: an :class:`npr.engine.Engine`; loaded from ``config.model`` when None.
        progress: show a progress bar per benchmark (with the running accuracy).
    """

    def __init__(self, config: EvalConfig, engine=None, *, progress: bool = True):
        self.config = config
        self._engine = engine
        self.progress = progress

    @property
    def engine(self):
        if self._engine is None:
            from npr.engine import Engine, EngineConfig

            cfg = self.config
            try:
                self._engine = Engine.from_pretrained(
                    cfg.model, EngineConfig(kv_budget=cfg.kv_budget), dtype=cfg.dtype, device=cfg.device
                )
            except (OSError, RuntimeError, AssertionError) as exc:  # a missing folder, a device torch lacks, ...
                where = f" on device {cfg.device!r}" if cfg.device else ""
                raise ValueError(f"cannot load the model {cfg.model!r}{where}: {exc}") from None
        return self._engine

    def run_task(self, task: Task, results: ResultsFile, done: dict, session: int, grader) -> int:
        """Generate, grade and append every missing sample of ``task``; returns how many were added."""
        from npr.tokens import encode_prompt

        cfg = self.config
        pending = deque(
            (item, s, sample_seed(cfg.seed, task.name, item.id, s))
            for item in task.items for s in range(cfg.k) if (task.name, item.id, s) not in done
        )  # fmt: skip
        if not pending:
            return 0
        engine = self.engine
        prompts: dict[str, list[int]] = {}
        ids = {item.id for item in task.items}
        scope = [r for r in done.values() if r["benchmark"] == task.name and r["item_id"] in ids]
        graded, correct = len(scope), sum(bool(r["grade"]["correct"]) for r in scope)
        added = 0
        bar = _bar(len(pending), task.name, self.progress)
        start = shown = time.perf_counter()
        grading = 0.0  # seconds spent grading, which the engine sat out: not generation time
        tokens = 0  # tokens generated in this session, all branches, for the live rate

        def submit(job: tuple[Item, int, int]) -> str:
            item, _, seed = job
            if item.id not in prompts:
                instruction = (task.instructions or {}).get(cfg.prompt)  # None: the standard one
                prompts[item.id] = encode_prompt(engine.tokenizer, item.question, mode=cfg.prompt,
                                                 instruction=instruction)  # fmt: skip
            return engine.submit(prompts[item.id], cfg.sampling(seed), cfg.mode)

        def on_step(events, finishing: bool) -> None:
            nonlocal tokens, shown
            tokens += sum(e.kind == "token" for e in events)
            now = time.perf_counter()
            if bar is not None and (finishing or now - shown > PROGRESS_REFRESH_S):
                shown = now
                acc = f"acc={correct / graded:.3f} " if graded else ""
                bar.set_postfix_str(f"{acc}{tokens / (now - start - grading):.0f} tok/s", refresh=not finishing)

        def finish(finished: list) -> None:
            nonlocal grading, added, graded, correct, tokens
            if getattr(engine, "remote", False):  # engines on actors report no token events, only trajectories
                tokens += sum(t.stats["total_tokens"] for _, t in finished)
            now = time.perf_counter()
            elapsed = now - start - grading
            grades = grader([(t.text, item.answer, task.kind, dict(item.grade_options))
                             for (item, _, _), t in finished])  # fmt: skip
            records = [
                self._record(task, item, s, seed, traj, grade, session, elapsed)
                for ((item, s, seed), traj), grade in zip(finished, grades)
            ]
            results.append(records)
            grading += time.perf_counter() - now
            for r in records:
                done[record_key(r)] = r
            added += len(records)
            graded += len(records)
            correct += sum(bool(r["grade"]["correct"]) for r in records)
            if bar is not None:
                bar.set_postfix_str(f"acc={correct / graded:.3f} {tokens / elapsed:.0f} tok/s", refresh=False)
                bar.update(len(records))

        try:
            keep_in_flight(engine, pending, submit, finish, batch=cfg.batch, on_step=on_step)
        finally:
            if bar is not None:
                bar.close()
        return added

    def _record(self, task: Task, item: Item, sample: int, seed: int, traj, grade, session: int, elapsed: float):
        stats = dict(traj.stats)
        rec: dict[str, Any] = {
            "benchmark": task.name,
            "item_id": item.id,
            "sample": sample,
            "seed": seed,
            "kind": task.kind,
            "item_fingerprint": item.fingerprint(),
            "answer": item.answer,
            "response": traj.text,
            "finish_reason": traj.finish_reason,
            "grade": grade.to_dict(),
            "format": format_fields(traj.text, stats.get("branches_per_block")),
            "stats": stats,
            "session": session,
            "elapsed": round(elapsed, 4),
        }
        if self.config.save_trajectories:
            rec["trajectory"] = traj.to_dict()
        return rec


def check_fingerprints(tasks: Sequence[Task], done: dict, k: int) -> None:
    """Refuse to resume over samples whose problem has changed since (other data, another field mapping)."""
    for task in tasks:
        for item in task.items:
            mark = item.fingerprint()
            stale = [
                s for s in range(k)
                if (r := done.get((task.name, item.id, s))) is not None and r.get("item_fingerprint", mark) != mark
            ]  # fmt: skip
            if stale:
                raise ValueError(
                    f"{task.name} problem {item.id!r} has changed since its samples {stale[:3]} were made (its "
                    "question, answer or grading options differ): these results cannot be resumed - pick another --out"
                )


def _bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample", dynamic_ncols=True)


def run_eval(
    config: EvalConfig,
    out: str | Path,
    *,
    engine=None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run (or resume) an evaluation into folder ``out`` and return its summary (also written to disk)."""
    from npr.eval.report import write_outputs
    from npr.rewards import GradePool

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    config.check_resumable(folder)
    tasks = resolve_tasks(config)
    results = ResultsFile(folder / "results.jsonl")
    existing = results.load()
    done = {record_key(r): r for r in existing}
    check_fingerprints(tasks, done, config.k)
    session = 1 + max((int(r.get("session") or 0) for r in existing), default=0)
    write_config(config, folder, tasks)
    todo = sum(1 for t in tasks for i in t.items for s in range(config.k) if (t.name, i.id, s) not in done)
    if existing:
        log(f"resuming {folder}: {len(existing)} samples on disk, {todo} to go")
    if todo:
        evaluator = Evaluator(config, engine, progress=progress)
        with GradePool(workers=config.grade_workers, timeout=config.grade_timeout) as pool:
            for task in tasks:
                evaluator.run_task(task, results, done, session, pool.map)
    return write_outputs(folder, config, tasks, list(done.values()))
