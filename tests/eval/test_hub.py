"""Loading from the Hugging Face hub (npr.eval.hub), against a fake hub: no test here touches the network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from npr.eval import hub
from npr.eval.benchmarks import load_benchmark
from npr.eval.specs import resolve
from npr.eval.datafiles import BenchmarkError
from npr.eval.hub import load_hub, split_files


class FakeHub:
    """A hub holding one repository whose files are local paths; it records what was downloaded."""

    def __init__(self, repo: str, files: dict[str, Path]) -> None:
        self.repo, self.files, self.downloaded = repo, files, []

    def list_files(self, repo_id: str) -> list[str]:
        assert repo_id == self.repo
        return [*self.files, "README.md", ".gitattributes"]

    def download(self, repo_id: str, filename: str) -> Path:
        self.downloaded.append(filename)
        return self.files[filename]


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch):
    """Put a :class:`FakeHub` in place of the real one and allow the network (which it never uses)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("NPR_BENCHMARK_DIR", raising=False)

    def put(fake: FakeHub) -> FakeHub:
        monkeypatch.setattr(hub, "_list_files", fake.list_files)
        monkeypatch.setattr(hub, "_download", fake.download)
        return fake

    return put


def parquet(path: Path, rows: list[dict]) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_split_files() -> None:
    files = [
        "README.md",
        "data/train-00000-of-00001.parquet",
        "data/test-00000-of-00002.parquet",
        "data/test-00001-of-00002.parquet",
        "test.jsonl",
        "validation/0000.parquet",
    ]
    assert split_files(files, split="train") == ["data/train-00000-of-00001.parquet"]
    assert split_files(files, split="validation") == ["validation/0000.parquet"]
    with pytest.raises(BenchmarkError, match="several folders"):
        split_files(files, split="test")
    configs = ["grid_mode/test-00000-of-00001.parquet", "mc_mode/test-00000-of-00001.parquet"]
    assert split_files(configs, split="test", config="grid_mode") == ["grid_mode/test-00000-of-00001.parquet"]


def test_load_hub(tmp_path: Path, install) -> None:
    rows = [{"problem": f"Q{i}", "solution": {"value": str(i)}} for i in range(3)]
    fake = install(FakeHub("me/set", {"data/test-00000-of-00001.parquet": parquet(tmp_path / "t.parquet", rows)}))
    items = load_hub("me/set", question="problem", answer="solution.value")
    assert [(i.id, i.question, i.answer) for i in items] == [("0", "Q0", "0"), ("1", "Q1", "1"), ("2", "Q2", "2")]
    assert fake.downloaded == ["data/test-00000-of-00001.parquet"]


def test_resolve_hub_spec(tmp_path: Path, install) -> None:
    path = tmp_path / "dev.jsonl"
    path.write_text("".join(json.dumps({"question": f"Q{i}", "answer": "A"}) + "\n" for i in range(4)))
    install(FakeHub("me/set", {"cfg/dev.jsonl": path}))
    name, kind, items = resolve("hf:me/set:cfg:dev", limit=2, kind="choice")
    assert (name, kind, [i.answer for i in items]) == ("me/set:cfg:dev", "choice", ["A", "A"])  # config named


def test_registered_set_from_hub(tmp_path: Path, install) -> None:
    rows = [{"problem_idx": i, "problem": f"Problem {i}", "answer": str(i * 7)} for i in (1, 2)]
    files = {"data/train-00000-of-00001.parquet": parquet(tmp_path / "a.parquet", rows)}
    install(FakeHub("MathArena/aime_2025", files))
    items = load_benchmark("aime25")
    assert [(i.id, i.question, i.answer) for i in items] == [("1", "Problem 1", "7"), ("2", "Problem 2", "14")]


def test_local_copy_means_no_network(tmp_path: Path, install) -> None:
    install(FakeHub("MathArena/aime_2025", {}))  # would fail on any download
    (tmp_path / "aime25.json").write_text(json.dumps([{"question": "Q", "answer": "1"}]))
    assert [i.id for i in load_benchmark("aime25", data_dir=tmp_path)] == ["1"]


def test_gated_repository(install, monkeypatch: pytest.MonkeyPatch) -> None:
    errors = pytest.importorskip("huggingface_hub.errors")

    def gated(repo_id: str) -> list[str]:
        error = errors.GatedRepoError.__new__(errors.GatedRepoError)
        Exception.__init__(error, "403 gated")
        raise error

    install(FakeHub("x/y", {}))
    monkeypatch.setattr(hub, "_list_files", gated)
    with pytest.raises(BenchmarkError) as err:
        load_benchmark("zebralogic")
    message = str(err.value)
    assert "is gated" in message and "HF_TOKEN" in message and "accept its terms" in message
    assert "zebralogic-gen" in message and "--data-dir" in message


def test_network_failure(install, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(repo_id: str) -> list[str]:
        raise ConnectionError("name resolution failed")

    install(FakeHub("x/y", {}))
    monkeypatch.setattr(hub, "_list_files", down)
    with pytest.raises(BenchmarkError, match=r"download failed \(ConnectionError: name resolution failed\), or pass"):
        load_benchmark("hmmt25")


def test_missing_split(install) -> None:
    install(FakeHub("me/set", {"data/train-0.parquet": Path("unused")}))
    with pytest.raises(BenchmarkError, match="no data files for this split.*data/train-0.parquet"):
        load_hub("me/set", split="test")


def test_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NPR_BENCHMARK_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BenchmarkError, match="not available offline"):
        load_hub("me/set")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    with pytest.raises(BenchmarkError, match="offline was requested"):
        load_benchmark("minerva", offline=True)
