"""`npr format check` end to end: the real console script, its output and its exit statuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parents[1] / "fixtures" / "trajectories.jsonl"


def npr(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("npr", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "npr.cli"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120)


def test_fixture_verdicts_match_expectations():
    out = npr("format", "check", str(FIXTURE), "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    records = report["records"]
    expected = [json.loads(line) for line in FIXTURE.read_text().splitlines() if line.strip()]
    assert len(records) == len(expected) == 12
    for rec, exp in zip(records, expected):
        assert rec["id"] == exp["id"]
        assert rec["valid"] is exp["expect_valid"], (exp["id"], rec["violations"])
        if not exp["expect_valid"]:
            assert rec["violations"], exp["id"]
    assert report["summary"]["n"] == 12


def test_text_output_and_plain_text_file(tmp_path):
    answer = tmp_path / "answer.txt"
    answer.write_text("<guideline>\n<plan>1: Add.</plan>\n</guideline>\n<step>\n1: 1+1=2.\n</step>\n"
                      "<takeaway>\n2.\n</takeaway>\n\\boxed{2}\n")  # fmt: skip
    out = npr("format", "check", str(answer))
    assert out.returncode == 0, out.stderr
    assert "valid" in out.stdout.lower()
    out = npr("format", "check", str(answer), "--json")
    report = json.loads(out.stdout)
    assert [r["valid"] for r in report["records"]] == [True]


def test_invalid_records_still_exit_zero(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"response": "no blocks here"}\nnot json at all\n{"other": 1}\n')
    out = npr("format", "check", str(f), "--json")
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)["records"]
    assert len(records) == 3
    assert records[0]["valid"] is False
    assert records[1].get("error") and records[2].get("error")


@pytest.mark.parametrize("make_path", [lambda d: d / "missing.jsonl", lambda d: d])
def test_unreadable_input_exits_two_with_a_message(tmp_path, make_path):
    out = npr("format", "check", str(make_path(tmp_path)))
    assert out.returncode == 2
    assert "npr format check:" in out.stderr
    assert "Traceback" not in out.stderr


def test_help_explains_commands():
    out = npr("--help")
    assert out.returncode == 0
    assert "demo" in out.stdout and "format" in out.stdout
    out = npr("format", "check", "--help")
    assert "JSONL" in out.stdout and "exit" in out.stdout.lower()
