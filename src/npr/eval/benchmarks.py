"""The benchmark registry: the paper's eight evaluation sets plus GSM8K and generated ZebraLogic puzzles, by name.

``npr eval --benchmark SPEC`` goes through :func:`npr.eval.specs.resolve`, which takes a registered name (or alias), a local data
file, or ``hf:owner/name[:split]``. Registered sets load, in this order:

1. from a data folder (the ``data_dir`` argument, else the ``NPR_BENCHMARK_DIR`` environment variable) holding the
   set's file under its usual name (``aime25.json``, ``hmmt_feb_2025.json``, ``minerva_math.jsonl``, ...; a ``.gz``
   copy works too); such a file also overrides a bundled copy;
2. from the copy bundled with the package, where the licence allows (GSM8K, MATH500, OlympiadBench, AIME24, AMC23);
3. from the Hugging Face hub, unless offline (``HF_HUB_OFFLINE``);
4. otherwise a :class:`~npr.eval.datafiles.BenchmarkError` says what to do.

No network is touched when a local copy exists. ``src/npr/eval/data/SOURCES.md`` records every set's origin, licence
and field mapping; :mod:`npr.eval.sets` holds the per-set conversions.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path

from npr.eval import sets
from npr.eval.datafiles import BenchmarkError, check_unique_ids, load_file, read_records
from npr.eval.hub import hub_records, offline_default
from npr.eval.item import Item

__all__ = [
    "ALIASES",
    "BENCHMARKS",
    "Benchmark",
    "BenchmarkError",
    "get_benchmark",
    "load_benchmark",
    "load_file",
]

#: The environment variable naming the default data folder.
DATA_DIR_ENV = "NPR_BENCHMARK_DIR"
#: How many puzzles ``zebralogic-gen`` generates without a ``limit`` (a limit sets the number, above or below).
GENERATED_PUZZLES = 100


@dataclass(frozen=True)
class Benchmark:
    """A registered benchmark.

    Attributes:
        name: the registry name (``"aime24"``).
        kind: the grader kind for :func:`npr.rewards.grade`: ``"math"``, ``"choice"`` or ``"zebra"``.
        description: one line on what the set is.
        source: where the data comes from.
        licence: the upstream licence, which decided whether it is bundled.
        bundled: whether a copy ships with the package (loads offline with no setup).
        loader: ``loader(*, limit=None, data_dir=None, offline=None) -> list[Item]``; use :func:`load_benchmark`.
        instructions: the instruction to ask with, by prompt mode (``"npr"``, ``"plain"``), when the set needs its
            own (the toy sets, whose tiny tokenizer makes the standard one thousands of tokens long); None: the
            standard ones of :mod:`npr.tokens`.
    """

    name: str
    kind: str
    description: str
    source: str
    licence: str
    bundled: bool
    loader: Callable[..., list[Item]]
    instructions: Mapping[str, str] | None = None


@dataclass(frozen=True)
class _Origin:
    """Where a registered set's data lives and how its rows become items."""

    files: tuple[str, ...]  # looked for in a data folder; the first is the name from SOURCES.md
    convert: sets.Converter
    bundled: str | None = None  # file name under npr/eval/data
    hub: str | None = None
    split: str = "test"
    config: str | None = None
    why: str = ""  # why it is not bundled, when not for its licence
    extra: str = ""  # appended to the can't-load error


def bundled_file(name: str) -> Traversable:
    """A data file bundled with the package (works from a wheel or a zip, through ``importlib.resources``)."""
    return files("npr") / "eval" / "data" / name


def check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise BenchmarkError(f"limit must be a whole number >= 0 or None, got {limit!r}")


def _data_dir(data_dir: str | Path | None) -> Path | None:
    """The data folder to search: the argument, else ``$NPR_BENCHMARK_DIR``, else none. It must exist."""
    origin = "data_dir"
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or None
        origin = f"${DATA_DIR_ENV}"
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise BenchmarkError(f"{origin} {str(path)!r} is not a folder; create it or point it at the benchmark files")
    return path


def _local_file(folder: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _load_registered(
    name: str,
    licence: str,
    origin: _Origin,
    *,
    limit: int | None = None,
    data_dir: str | Path | None = None,
    offline: bool | None = None,
) -> list[Item]:
    check_limit(limit)
    folder = _data_dir(data_dir)
    local = _local_file(folder, origin.files) if folder is not None else None
    if local is not None:
        where = str(local)
        rows = read_records(local)
    elif origin.bundled is not None:
        where = f"bundled {origin.bundled}"
        rows = read_records(bundled_file(origin.bundled))
    else:
        how = f"pass --data-dir DIR containing {origin.files[0]} (or set {DATA_DIR_ENV}=DIR)"
        if offline is None:
            offline = offline_default()
            state = " (HF_HUB_OFFLINE is set)"
        else:
            state = " (offline was requested)"
        if offline or origin.hub is None:
            why = origin.why or f"licence {licence}"
            online = f" or go online{state}" if origin.hub is not None else ""
            raise BenchmarkError(f"{name} is not bundled ({why}); {how}{online}{origin.extra}")
        where = f"{origin.hub}:{origin.split}"
        rows = hub_records(
            origin.hub, split=origin.split, config=origin.config, offline=False, hint=f"or {how}{origin.extra}"
        )
    items = [origin.convert(row, index, where) for index, row in enumerate(rows)]
    check_unique_ids(items, where=where)
    return items if limit is None else items[:limit]


def _load_generated(
    *, limit: int | None = None, data_dir: str | Path | None = None, offline: bool | None = None
) -> list[Item]:
    """``zebralogic-gen``: puzzles made on the spot (seed 0), so ``data_dir`` and ``offline`` do not matter."""
    check_limit(limit)
    n = GENERATED_PUZZLES if limit is None else limit  # a larger --limit asks for more puzzles: generate them
    if n == 0:
        return []
    from npr.eval.zebra import puzzle_items  # generator code is only needed when asked for

    return puzzle_items(n=n, seed=0)


def _load_toy(
    family: str, parts: tuple[int, ...] | None = None, *, limit: int | None = None,
    data_dir: str | Path | None = None, offline: bool | None = None,
) -> list[Item]:  # fmt: skip
    """``toy-<family>``: the family's held-out test split, drawn on the spot (``data_dir``/``offline`` unused);
    ``toy-<family>-4``: its problems with 4 parts only."""
    check_limit(limit)
    from npr.eval.toy import TEST_SIZE, heldout_items

    return heldout_items(family, TEST_SIZE if limit is None else limit, parts=parts)


def _toy(family: str, what: str, parts: int | None = None) -> Benchmark:
    from npr.eval.toy import INSTRUCTIONS, TEST_SEED, TEST_SIZE

    name, what = (f"toy-{family}", what) if parts is None else (f"toy-{family}-{parts}", f"{what}, {parts} parts each")
    return Benchmark(
        name, "math", f"{TEST_SIZE} held-out toy problems: {what} (test split, seed {TEST_SEED})",
        "generated by npr.eval.toy", "Apache-2.0 (this package)", True,
        partial(_load_toy, family, None if parts is None else (parts,)), INSTRUCTIONS,
    )  # fmt: skip


def _registered(
    name: str, kind: str, description: str, source: str, licence: str, origin: _Origin
) -> Benchmark:
    loader = partial(_load_registered, name, licence, origin)
    return Benchmark(name, kind, description, source, licence, origin.bundled is not None, loader)


_QWEN = "Qwen2.5-Math evaluation data (github.com/QwenLM/Qwen2.5-Math, evaluation/data)"
_NOT_BUNDLED = "CC BY-NC-SA 4.0"

#: The registry, by name. Each set's file names, fields and licence are recorded in src/npr/eval/data/SOURCES.md.
BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        _registered(
            "aime24", "math", "AIME 2024 I and II: 30 problems, integer answers",
            f"{_QWEN}; problem statements by the MAA", "Apache-2.0",
            _Origin(("aime24.jsonl",), sets.qwen_math, bundled="aime24.jsonl"),
        ),
        _registered(
            "aime25", "math", "AIME 2025 I and II: 30 problems, integer answers",
            "MathArena/aime_2025 on the hub (the NPR reference repository's aime25.json locally)", _NOT_BUNDLED,
            _Origin(("aime25.json", "aime25.jsonl", "aime25.parquet"), sets.matharena,
                    hub="MathArena/aime_2025", split="train"),
        ),
        _registered(
            "hmmt25", "math", "HMMT February 2025: 30 problems, LaTeX answers",
            "MathArena/hmmt_feb_2025 on the hub", _NOT_BUNDLED,
            _Origin(("hmmt_feb_2025.json", "hmmt25.json", "hmmt25.jsonl", "hmmt25.parquet"), sets.matharena,
                    hub="MathArena/hmmt_feb_2025", split="train"),
        ),
        _registered(
            "olympiadbench", "math",
            "OlympiadBench, text-only English competition maths (OE_TO_maths_en_COMP): 675 problems",
            f"OpenBMB/OlympiadBench via the {_QWEN}", "Apache-2.0",
            _Origin(("olympiadbench.jsonl",), sets.olympiadbench, bundled="olympiadbench.jsonl.gz"),
        ),
        _registered(
            "minerva", "math", "Minerva-Math (OCWCourses): 272 undergraduate science problems, MIT OpenCourseWare",
            f"{_QWEN} (minerva_math); hub fallback math-ai/minervamath, best effort", _NOT_BUNDLED,
            _Origin(("minerva_math.jsonl", "minerva.jsonl", "minerva.json"), sets.minerva,
                    hub="math-ai/minervamath", split="test"),
        ),
        _registered(
            "zebralogic", "zebra", "ZebraLogicBench, grid mode: logic grid puzzles graded cell by cell",
            "allenai/ZebraLogicBench-private on the hub (gated), config grid_mode, split test",
            "gated on the hub: accept its terms; not redistributed",
            _Origin(("zebralogic.jsonl", "zebralogic.json", "zebralogic.parquet"), sets.zebralogic,
                    hub="allenai/ZebraLogicBench-private", split="test", config="grid_mode",
                    why="the official set is gated on the Hugging Face hub",
                    extra="; without access, use zebralogic-gen (generated puzzles of the same kind)"),
        ),
        _registered(
            "amc23", "math", "AMC 12 2023 A and B: 40 problems, numeric answers",
            f"{_QWEN}; problem statements by the MAA", "Apache-2.0",
            _Origin(("amc23.jsonl",), sets.qwen_math, bundled="amc23.jsonl"),
        ),
        _registered(
            "math500", "math", "MATH500: the 500-problem MATH test subset of PRM800K",
            "MATH (Hendrycks et al.) via openai/prm800k", "MIT",
            _Origin(("math500.json", "math500.jsonl"), sets.math500, bundled="math500.json.gz"),
        ),
        _registered(
            "gsm8k", "math", "GSM8K test: 1,319 grade-school word problems",
            f"openai/grade-school-math via the {_QWEN}", "MIT",
            _Origin(("gsm8k.jsonl",), sets.gsm8k, bundled="gsm8k.jsonl.gz"),
        ),
        Benchmark(
            "zebralogic-gen", "zebra",
            f"{GENERATED_PUZZLES} generated ZebraLogic-style grid puzzles with unique solutions (seed 0)",
            "generated by npr.eval.zebra", "Apache-2.0 (this package)", True, _load_generated,
        ),
        _toy("products", "sums of 2-4 independent products"),
        _toy("pick", "the one of 2-4 candidates x for which a*x+b ends in 0"),
        _toy("largest", "the largest of 2-4 expressions a*b+c"),
        _toy("products", "sums of independent products", parts=4),
        _toy("pick", "the one candidate x for which a*x+b ends in 0", parts=4),
        _toy("largest", "the largest of expressions a*b+c", parts=4),
    )
}

#: Other names accepted for registered benchmarks (lower case).
ALIASES: dict[str, str] = {
    "aime_2024": "aime24",
    "aime_2025": "aime25",
    "hmmt_feb_2025": "hmmt25",
    "math": "math500",
    "math-500": "math500",
    "minerva_math": "minerva",
    "minerva-math": "minerva",
    "olympiad_bench": "olympiadbench",
    "zebra": "zebralogic-gen",
    "zebralogic_gen": "zebralogic-gen",
}


def lookup(name: str) -> Benchmark | None:
    key = name.strip().lower()
    return BENCHMARKS.get(ALIASES.get(key, key))


def instructions_for(spec: str) -> Mapping[str, str] | None:
    """The instructions, by prompt mode, of the registered benchmark ``spec`` names; None for the standard ones
    (and for data files and hub specs)."""
    bench = lookup(spec)
    return bench.instructions if bench is not None else None


def get_benchmark(name: str) -> Benchmark:
    """The registered benchmark called ``name`` (or an alias of it; case does not matter).

    Raises:
        BenchmarkError: unknown name; the message suggests the closest names and lists them all.
    """
    found = lookup(name)
    if found is None:
        raise BenchmarkError(unknown_name(name))
    return found


def unknown_name(name: str) -> str:
    """The unknown-name message: the closest known names, then all of them."""
    known = list(BENCHMARKS) + list(ALIASES)
    close = difflib.get_close_matches(name.strip().lower(), known, n=3, cutoff=0.6)
    guesses = " or ".join(repr(c) for c in dict.fromkeys(ALIASES.get(c, c) for c in close))
    guess = f" Did you mean {guesses}?" if close else ""
    return f"unknown benchmark {name!r}.{guess} Known: {', '.join(BENCHMARKS)}."


def load_benchmark(
    name: str,
    *,
    limit: int | None = None,
    data_dir: str | Path | None = None,
    offline: bool | None = None,
) -> list[Item]:
    """The items of a registered benchmark, in the source's order.

    Args:
        name: a registry name or alias (see :data:`BENCHMARKS`, :data:`ALIASES`).
        limit: keep only the first ``limit`` items (in file order, so always the same ones).
        data_dir: a folder with benchmark files, searched before the bundled copy and the hub (default:
            ``$NPR_BENCHMARK_DIR``).
        offline: never use the hub (default: ``HF_HUB_OFFLINE``). The hub is only tried when no local copy exists.

    Raises:
        BenchmarkError: unknown name, bad ``limit``, data not available (the message says how to get it), or
            malformed data.
    """
    return get_benchmark(name).loader(limit=limit, data_dir=data_dir, offline=offline)
