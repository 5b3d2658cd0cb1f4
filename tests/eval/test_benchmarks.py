"""The benchmark registry: bundled sets offline, non-bundled sets from a data folder, names, aliases and specs.

No test here touches the network: the hub is switched off (HF_HUB_OFFLINE) and its two entry points are replaced by
functions that fail the test if called, except where a test puts a fake hub in their place.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import pytest

from npr.eval import hub
from npr.eval.benchmarks import (
    ALIASES,
    BENCHMARKS,
    Benchmark,
    BenchmarkError,
    get_benchmark,
    load_benchmark,
)
from npr.eval.specs import resolve

SHARED = Path(__file__).resolve().parents[3] / "shared" / "benchmarks"
NAMES = ["aime24", "aime25", "hmmt25", "olympiadbench", "minerva", "zebralogic", "amc23", "math500", "gsm8k"]
# name -> (count, first id, first answer)
BUNDLED = {
    "gsm8k": (1319, "0", "18"),
    "math500": (500, "test/precalculus/807.json", r"\left( 3, \frac{\pi}{2} \right)"),
    "olympiadbench": (675, "1606", "2"),
    "aime24": (30, "60", "204"),
    "amc23": (40, "0", "27"),
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline by default, no data folder from the environment, and a hub that fails the test if reached."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("NPR_BENCHMARK_DIR", raising=False)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test reached the Hugging Face hub")

    monkeypatch.setattr(hub, "_list_files", forbidden)
    monkeypatch.setattr(hub, "_download", forbidden)


def test_registry_names() -> None:
    generated = {"zebralogic-gen", "toy-products", "toy-pick", "toy-largest", "toy-products-4", "toy-pick-4",
                 "toy-largest-4"}
    assert set(BENCHMARKS) == set(NAMES) | generated
    for name, bench in BENCHMARKS.items():
        assert isinstance(bench, Benchmark) and bench.name == name
        assert bench.kind in ("math", "choice", "zebra")
        assert bench.description and bench.source and bench.licence
    assert {n for n, b in BENCHMARKS.items() if b.bundled} == set(BUNDLED) | generated
    assert BENCHMARKS["zebralogic"].kind == BENCHMARKS["zebralogic-gen"].kind == "zebra"


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_sets_load_offline(name: str) -> None:
    count, first_id, first_answer = BUNDLED[name]
    items = load_benchmark(name, offline=True)
    assert len(items) == count
    assert len({i.id for i in items}) == count
    assert all(isinstance(i.id, str) for i in items)
    assert all(i.question.strip() for i in items)
    assert all(i.answer for i in items)
    assert (items[0].id, items[0].answer) == (first_id, first_answer)


def test_bundled_details() -> None:
    gsm = load_benchmark("gsm8k")
    assert gsm[0].meta["solution"].endswith("#### 18")
    assert any(i.answer == "2,125" for i in gsm)  # thousands separators as given
    olympiad = {i.id: i for i in load_benchmark("olympiadbench")}
    assert olympiad["1664"].answer == ["69", "84"]  # multi-answer: upstream's '$69$,$84$' split into its answers
    assert olympiad["1606"].meta["answer_type"] == "Numerical"
    multi = [i for i in olympiad.values() if i.meta["is_multiple_answer"]]
    assert len(multi) == 94
    # Two of them hold one tuple upstream ("(1/4, 1/27)"): a single answer, kept as a string. A third describes a
    # family of functions in words (id 1965), whose clauses are not answers: kept whole as well.
    assert sum(isinstance(i.answer, list) and len(i.answer) >= 2 for i in multi) == 91
    assert olympiad["1965"].answer.startswith("$f(x)=a x+b$, where $b$ is an arbitrary integer")
    assert olympiad["2045"].answer == "$(0,4]$"  # upstream "$t(0,4]$": the interval, without its variable
    assert olympiad["1970"].answer == r"$(-\infty, 0) \cup\{1\}$"  # a trailing full stop dropped
    # The one row with an error tolerance grades with it; the others have no grade options.
    assert olympiad["2592"].grade_options == {"tolerance": 0.1} and olympiad["2592"].answer == "4.2"
    assert sum(bool(i.grade_options) for i in olympiad.values()) == 1
    math500 = load_benchmark("math500")
    assert math500[0].meta["subject"] == "Precalculus" and math500[0].meta["level"] == 2
    aime = load_benchmark("aime24")
    assert aime[0].question.startswith("Every morning Aya goes for a $9$-kilometer-long walk")
    assert all(i.answer.lstrip("-").isdigit() for i in load_benchmark("amc23"))  # 27.0 -> "27"


def test_bundled_files_are_package_resources() -> None:
    data = files("npr") / "eval" / "data"
    names = {entry.name for entry in data.iterdir()}
    assert {"gsm8k.jsonl.gz", "math500.json.gz", "olympiadbench.jsonl.gz", "aime24.jsonl", "amc23.jsonl"} <= names
    assert "SOURCES.md" in names
    for licensed in ("aime25", "hmmt", "minerva"):
        assert not any(n.startswith(licensed) for n in names), f"{licensed} must not be bundled"
    for entry in data.iterdir():
        if entry.name.endswith((".json", ".jsonl")):
            assert len(entry.read_bytes()) <= 200_000, f"{entry.name}: compress files over 200 kB"


# --- non-bundled sets: synthetic files in each source's format -----------------------------------------------------


def write_sources(folder: Path) -> Path:
    """Tiny stand-ins for the files of the four non-bundled sets, in their real formats."""
    (folder / "aime25.json").write_text(
        json.dumps([{"question": "Find 1+1.", "answer": "2"}, {"question": "Find 2+3.", "answer": "5"}])
    )
    hmmt = [
        {"problem_idx": 1, "problem": "Compute $x$.", "answer": "\\frac{1}{2}", "problem_type": ["Algebra"]},
        {"problem_idx": 2, "problem": "Compute $y$.", "answer": "3", "problem_type": ["Geometry"]},
    ]
    (folder / "hmmt_feb_2025.json").write_text(json.dumps(hmmt))
    minerva = [
        {"problem": "Find $s$.", "solution": "So $s=\\boxed{1.6}$ cm, not \\boxed{2}... \\boxed{1.6}", "type": "A",
         "idx": 0},
        {"problem": "Find $L$.", "solution": "$L \\simeq \\boxed{4.5e33}$ erg/s", "type": "B", "idx": 1},
    ]
    (folder / "minerva_math.jsonl").write_text("".join(json.dumps(r) + "\n" for r in minerva))
    zebra = {
        "id": "lgp-test-2x2-1",
        "size": "2*2",
        "puzzle": "There are 2 houses...\n\n## Clues:\n1. Eric lives in house 1.",
        "solution": {"header": ["House", "Name", "Pet"], "rows": [["1", "Eric", "cat"], ["2", "Arnold", "dog"]]},
        "created_at": "2024-07-11",
    }
    (folder / "zebralogic.jsonl").write_text(json.dumps(zebra) + "\n")
    return folder


def test_non_bundled_sets_from_data_dir(tmp_path: Path) -> None:
    folder = write_sources(tmp_path)
    aime = load_benchmark("aime25", data_dir=folder)
    assert [(i.id, i.question, i.answer) for i in aime] == [("1", "Find 1+1.", "2"), ("2", "Find 2+3.", "5")]
    hmmt = load_benchmark("hmmt25", data_dir=folder)
    assert [(i.id, i.answer) for i in hmmt] == [("1", "\\frac{1}{2}"), ("2", "3")]
    assert hmmt[0].meta["problem_type"] == ["Algebra"]
    minerva = load_benchmark("minerva", data_dir=str(folder))
    assert [(i.id, i.answer, i.question) for i in minerva] == [("0", "1.6", "Find $s$."), ("1", "4.5e33", "Find $L$.")]
    assert minerva[0].meta["type"] == "A"


def test_minerva_golds_are_tidied(tmp_path: Path) -> None:
    solutions = ["so $\\boxed{-1./3}$", "so $\\boxed{4.}$", "so $\\boxed{np.arcsin(10/13)}$", "so $\\boxed{2.5}$"]
    rows = [{"problem": f"Find {i}.", "solution": text, "type": "A", "idx": i} for i, text in enumerate(solutions)]
    (tmp_path / "minerva_math.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    answers = [i.answer for i in load_benchmark("minerva", data_dir=tmp_path)]
    assert answers == ["-1/3", "4", "\\arcsin(10/13)", "2.5"]


def test_malformed_olympiad_tolerance_is_refused(tmp_path: Path) -> None:
    row = {"id": 1, "question": "Q?", "final_answer": ["4.2"], "is_multiple_answer": False, "error": "a lot"}
    (tmp_path / "olympiadbench.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(BenchmarkError, match="error must be a non-negative number"):
        load_benchmark("olympiadbench", data_dir=tmp_path)


def test_zebralogic_from_data_dir(tmp_path: Path) -> None:
    (item,) = load_benchmark("zebralogic", data_dir=write_sources(tmp_path))
    assert item.id == "lgp-test-2x2-1"
    assert item.answer == {"header": ["House", "Name", "Pet"], "rows": [["1", "Eric", "cat"], ["2", "Arnold", "dog"]]}
    assert item.question.startswith("There are 2 houses")
    assert '"solution": {"House 1": {"Name": "___", "Pet": "___"}, "House 2"' in item.question
    assert '"reasoning"' in item.question
    assert item.meta["size"] == "2*2"


def test_zebralogic_from_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    row = json.loads((write_sources(tmp_path) / "zebralogic.jsonl").read_text())
    (tmp_path / "zebralogic.jsonl").unlink()
    pq.write_table(pa.Table.from_pylist([row]), tmp_path / "zebralogic.parquet")
    (item,) = load_benchmark("zebralogic", data_dir=tmp_path)
    assert item.answer["rows"][1] == ["2", "Arnold", "dog"]


def test_data_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NPR_BENCHMARK_DIR", str(write_sources(tmp_path)))
    assert len(load_benchmark("aime25")) == 2


def test_data_dir_overrides_bundled_copy(tmp_path: Path) -> None:
    row = {"id": 1, "problem": "Own problem.", "question": "Own problem.", "answer": "7", "url": ""}
    (tmp_path / "aime24.jsonl").write_text(json.dumps(row) + "\n")
    assert [(i.id, i.answer) for i in load_benchmark("aime24", data_dir=tmp_path)] == [("1", "7")]
    assert len(load_benchmark("amc23", data_dir=tmp_path)) == 40  # not in the folder: the bundled copy


@pytest.mark.parametrize(
    ("name", "file"),
    [("aime25", "aime25.json"), ("hmmt25", "hmmt_feb_2025.json"), ("minerva", "minerva_math.jsonl")],
)
def test_non_bundled_offline_without_data_says_what_to_do(name: str, file: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError) as err:
        load_benchmark(name)
    message = str(err.value)
    assert f"{name} is not bundled (licence CC BY-NC-SA 4.0)" in message
    assert f"--data-dir DIR containing {file}" in message and "go online" in message
    with pytest.raises(BenchmarkError, match="not bundled"):
        load_benchmark(name, data_dir=tmp_path, offline=True)  # an empty folder does not help either


def test_zebralogic_offline_points_to_generator() -> None:
    with pytest.raises(BenchmarkError, match="zebralogic-gen"):
        load_benchmark("zebralogic")


def test_missing_data_dir(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="is not a folder"):
        load_benchmark("aime25", data_dir=tmp_path / "absent")


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared benchmark files are not here")
def test_shared_benchmark_files() -> None:
    counts = {"aime25": 30, "hmmt25": 30, "minerva": 272}
    for name, count in counts.items():
        items = load_benchmark(name, data_dir=SHARED)
        assert len(items) == count and len({i.id for i in items}) == count
        assert all(i.question.strip() and i.answer for i in items)
    minerva = {i.id: i.answer for i in load_benchmark("minerva", data_dir=SHARED)}
    assert minerva["0"] == "1.6"
    assert (minerva["38"], minerva["49"], minerva["5"]) == ("-1/3", "-3/2", r"\arcsin(10/13)")  # tidied
    assert load_benchmark("aime25", data_dir=SHARED)[0].answer == "70"
    # The shared copies of the bundled sets are the same data.
    for name in BUNDLED:
        assert load_benchmark(name, data_dir=SHARED) == load_benchmark(name)


# --- names, aliases, limit ------------------------------------------------------------------------------------------


def test_unknown_name_suggests() -> None:
    with pytest.raises(ValueError, match=r"unknown benchmark 'aime2024'\. Did you mean 'aime24'") as err:
        get_benchmark("aime2024")
    assert "Known: aime24, aime25, hmmt25" in str(err.value)
    with pytest.raises(BenchmarkError, match="Did you mean 'gsm8k'"):
        load_benchmark("gsm8")


def test_aliases() -> None:
    assert get_benchmark("hmmt_feb_2025").name == "hmmt25"
    assert get_benchmark("math").name == "math500"
    assert get_benchmark("minerva_math").name == "minerva"
    assert get_benchmark("zebra").name == "zebralogic-gen"
    assert get_benchmark(" GSM8K ").name == "gsm8k"
    assert all(target in BENCHMARKS for target in ALIASES.values())


def test_limit() -> None:
    full = load_benchmark("math500")
    assert load_benchmark("math500", limit=7) == full[:7]
    assert load_benchmark("math500", limit=0) == []
    assert len(load_benchmark("aime24", limit=1000)) == 30
    with pytest.raises(BenchmarkError, match="limit"):
        load_benchmark("math500", limit=-1)


def test_zebralogic_gen() -> None:
    pytest.importorskip("npr.eval.zebra")
    items = load_benchmark("zebralogic-gen", limit=3)
    assert len(items) == 3 and len({i.id for i in items}) == 3
    assert items == load_benchmark("zebra", limit=3)  # seed 0: the same puzzles every time
    assert all(isinstance(i.answer, dict) and i.answer["header"][0] == "House" for i in items)


# --- resolve --------------------------------------------------------------------------------------------------------


def test_resolve_registered_name(tmp_path: Path) -> None:
    name, kind, items = resolve("math", limit=2)
    assert (name, kind, len(items)) == ("math500", "math", 2)
    assert resolve("zebralogic", data_dir=write_sources(tmp_path))[:2] == ("zebralogic", "zebra")


def test_resolve_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps({"prompt": "Pick one.", "gold": "c", "n": 5}) + "\n")
    name, kind, items = resolve(str(path), question="prompt", answer="gold", id="n", kind="choice")
    assert (name, kind) == ("mine", "choice")
    assert [(i.id, i.question, i.answer) for i in items] == [("5", "Pick one.", "C")]


def test_resolve_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="does not exist"):
        resolve(str(tmp_path / "absent.jsonl"))
    with pytest.raises(BenchmarkError, match="Did you mean 'minerva'.*hf:owner/name"):
        resolve("minervaa")
    with pytest.raises(BenchmarkError, match="only apply to data files"):
        resolve("gsm8k", answer="x")
    with pytest.raises(BenchmarkError, match="empty benchmark spec"):
        resolve("  ")
    with pytest.raises(BenchmarkError, match="bad hub spec"):
        resolve("hf:no-slash")
    with pytest.raises(BenchmarkError, match="not available offline"):
        resolve("hf:owner/name:test")
