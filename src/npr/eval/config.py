"""The settings of one ``npr eval`` run, checked up front and stored beside its results."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

#: Settings that decide what a sample is. A run can only be resumed (or extended with more benchmarks, or a higher
#: --limit) when these match what its folder already holds.
IDENTITY = (
    "model", "k", "mode", "prompt", "temperature", "top_p", "top_k", "seed", "max_tokens", "max_total_tokens",
    "max_branches", "dtype", "question_field", "answer_field", "id_field", "kind",
)  # fmt: skip


def machine_info() -> dict[str, Any]:
    """Where a run was timed: throughput figures compare only between runs on the same machine."""
    import os
    import platform

    return {
        "platform": platform.platform(), "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
    }  # fmt: skip


class ConfigMismatch(ValueError):
    """An output folder holds a run made with other settings."""


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation run.

    Attributes:
        model: HF model folder or hub id.
        benchmarks: registry names, local files or ``hf:`` specs (:func:`npr.eval.specs.resolve`).
        k: samples per problem (avg@k, pass@k, best@k).
        mode: "parallel" decodes blocks as real forks; "sequential" decodes the same format causally.
        prompt: "npr" asks for the NPR format; "plain" for a plain boxed answer (the sequential baseline).
        limit: the first N problems of each benchmark (None: all).
        temperature, top_p, top_k, seed: sampling; sample s of problem i gets a seed derived from (seed, benchmark,
            i, s), so results do not depend on batching, order or interruptions.
        max_tokens: critical-path budget per sample; max_total_tokens: budget over all branches (None: 8×).
        max_branches: most branches one block may fork.
        batch: requests kept in flight in the engine.
        kv_budget: the engine's KV store, in tokens.
        dtype, device: how the model is loaded.
        data_dir: a folder with benchmark files that are not bundled (see ``npr eval --help``).
        question_field, answer_field, id_field, kind: for benchmarks given as local files or ``hf:`` specs, the
            fields holding the question, the gold answer and the id, and the grader ("math", "choice", "zebra").
        grade_workers, grade_timeout: grading processes and the hard time limit per answer, in seconds.
        save_trajectories: keep each sample's full trajectory (token ids, positions, log-probs) in results.jsonl.
    """

    model: str
    benchmarks: tuple[str, ...]
    k: int = 8
    mode: str = "parallel"
    prompt: str = "npr"
    limit: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    max_tokens: int = 2048
    max_total_tokens: int | None = None
    max_branches: int = 8
    batch: int = 32
    kv_budget: int = 65536
    dtype: str = "float32"
    device: str | None = None
    data_dir: str | None = None
    question_field: str | None = None
    answer_field: str | None = None
    id_field: str | None = None
    kind: str | None = None
    grade_workers: int = 1
    grade_timeout: float = 10.0
    save_trajectories: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "benchmarks", tuple(self.benchmarks))
        if Path(self.model).exists():  # one folder, one identity, however it was spelled
            object.__setattr__(self, "model", str(Path(self.model).resolve()))
        checks = [
            (bool(self.benchmarks), "benchmarks is empty: name at least one benchmark"),
            (self.k >= 1, f"k={self.k}: each problem needs at least one sample"),
            (self.mode in ("parallel", "sequential"), f"mode={self.mode!r}: use 'parallel' or 'sequential'"),
            (self.prompt in ("npr", "plain"), f"prompt={self.prompt!r}: use 'npr' (NPR format) or 'plain'"),
            (self.limit is None or self.limit >= 1, f"limit={self.limit}: take at least one problem (or no limit)"),
            (self.batch >= 1, f"batch={self.batch}: at least one request must be in flight"),
            (self.grade_workers >= 1, f"grade_workers={self.grade_workers}: grading needs a worker process"),
            (self.grade_timeout > 0, f"grade_timeout={self.grade_timeout}: the time limit must be positive"),
            (
                self.kv_budget > self.max_tokens,
                f"kv_budget={self.kv_budget} is not above max_tokens={self.max_tokens}: one sample's critical path "
                "alone would not fit in the KV store",
            ),
            (self.dtype in ("float32", "bfloat16", "float16"), f"dtype={self.dtype!r}: float32, bfloat16 or float16"),
        ]
        for ok, why in checks:
            if not ok:
                raise ValueError(why)
        self.sampling(seed=0)  # SamplingParams checks temperature, top-p/k and the budgets with its own reasons
        if len(set(self.benchmarks)) != len(self.benchmarks):
            raise ValueError(f"benchmarks {list(self.benchmarks)} name one benchmark twice")

    def sampling(self, seed: int):
        """The engine's :class:`~npr.engine.SamplingParams` for one sample with ``seed``."""
        from npr.engine import SamplingParams

        return SamplingParams(
            temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, seed=seed, max_tokens=self.max_tokens,
            max_total_tokens=self.max_total_tokens, max_branches=self.max_branches,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["benchmarks"] = list(self.benchmarks)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def check_resumable(self, folder: Path) -> None:
        """Raise :class:`ConfigMismatch` when ``folder`` holds samples made with other identity settings.

        A folder without samples (a run that failed before its first one, e.g. on a mistyped option) binds nothing.
        """
        path = folder / "config.json"
        results = folder / "results.jsonl"
        if not results.exists() or results.stat().st_size == 0:
            return
        if not path.exists():
            raise ConfigMismatch(f"{folder} holds {results.name} but no config.json; pick another --out")
        try:
            old = json.loads(path.read_text())["run"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigMismatch(
                f"{path} is not the config of an npr eval run ({type(exc).__name__}: {exc}); pick another --out"
            ) from None
        diffs = [f"{k}: {old.get(k)!r} there, {getattr(self, k)!r} now" for k in IDENTITY if old.get(k) != getattr(self, k)]
        if diffs:
            raise ConfigMismatch(
                f"{folder} holds a run with other settings ({'; '.join(diffs)}). Its samples cannot be mixed with "
                "these: pass another --out, or the same settings to resume it"
            )
