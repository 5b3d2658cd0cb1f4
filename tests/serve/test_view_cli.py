"""``npr view FILE``: the viewer on saved results, as a process; and ``npr serve``'s refusals before it loads."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import requests

from npr.cli import main

REC = {"benchmark": "toy", "item_id": "1", "sample": 0, "answer": "6", "grade": {"correct": True},
       "response": "<guideline>\n<plan>1: a</plan>\n<plan>2: b</plan>\n</guideline>\n<step>\n1: x\n</step>\n<step>\n"
                   "2: y\n</step>\n<takeaway>\nz\n</takeaway>\n\\boxed{6}"}  # fmt: skip


def test_npr_view_serves_the_trees_of_a_results_file(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(REC) + "\n{broken\n")
    proc = subprocess.Popen([sys.executable, "-m", "npr.cli", "view", str(path), "--no-browser"],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        lines = []
        end = time.monotonic() + 60
        while time.monotonic() < end:
            line = proc.stderr.readline()
            lines.append(line)
            m = re.search(r"at (http://\S+)", line)
            if m:
                break
        assert m, lines
        assert any("line 2" in x for x in lines)  # the broken line is reported
        data = requests.get(m.group(1) + "/npr/preloaded", timeout=10).json()
        [item] = data["items"]
        assert item["tree"]["answer"] == "6" and [b["text"] for b in item["tree"]["blocks"][0]["branches"]] == ["1: x", "2: y"]
        assert requests.get(m.group(1) + "/", timeout=10).text.startswith("<!doctype html>")
        assert requests.get(m.group(1) + "/npr/info", timeout=10).json()["mode"] == "view"
    finally:
        proc.terminate()
        proc.wait(30)


def test_npr_view_refuses_files_without_records(tmp_path, capsys):
    assert main(["view", str(tmp_path / "missing.jsonl"), "--no-browser"]) == 2
    empty = tmp_path / "empty.jsonl"
    empty.write_text("nothing here\n")
    assert main(["view", str(empty), "--no-browser"]) == 2
    assert "holds no record" in capsys.readouterr().err


def test_npr_serve_refuses_a_folder_without_a_model(tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no model" in err and "config.json" in err
    assert main(["serve", "--model", str(tmp_path / "nope")]) == 2
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert main(["serve", "--model", str(tmp_path), "--api-key", "short"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
