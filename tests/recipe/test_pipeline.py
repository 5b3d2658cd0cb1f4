"""npr pipeline and npr demo: bad configs stop before compute, the quick demo runs every stage end to end, and a
pipeline killed mid-stage resumes to the same files as one never stopped."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from npr.cli import main
from npr.recipe import CONFIGS
from npr.recipe.config import load_pipeline
from npr.train.config.loader import ConfigError

ROW_KEYS = {"name", "format_validity", "accuracy_sequential", "accuracy_parallel", "parallel_rate", "mean_branches",
            "total_tokens", "critical_path_tokens", "ideal_speedup", "measured_speedup"}  # fmt: skip


def toy_config(tmp_path, **changes):
    data = yaml.safe_load((CONFIGS / "toy-cpu.yaml").read_text())
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_shipped_configs_load():
    assert load_pipeline(CONFIGS / "qwen3-4b-8gpu.yaml").order == ["zero", "distill", "sft", "rl", "sr"]
    config = load_pipeline(CONFIGS / "toy-cpu.yaml")
    assert config.order == ["zero", "distill", "sft", "rl"]
    assert config.stage_config("zero", model="m", data="d").algorithm.name == "dapo"
    assert config.stage_config("zero", model="m", data="d").rollout.mode == "sequential"
    assert config.stage_config("rl", model="m", data="d").algorithm.name == "papo"
    assert config.stage_config("sft", model="m", data="d").data.parallel is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stages__zero__lrr": 1.0}, "did you mean 'lr'"),
        ({"evall": {}}, "evall"),
        ({"stages__sft": None}, "sft missing"),
        ({"stages__zero__rollout": {"group_size": 1}}, "group_size=1"),
        ({"stages__rl__model": {"path": "elsewhere"}}, "set by the pipeline"),
        ({"stages__distill__k": 0}, "k=0"),
        ({"stages__polish": {}}, "unknown stage 'polish'"),
        ({"prompts__sources": []}, "prompts.sources is empty"),
        ({"prompts__sources": [{"spec": "missing.jsonl"}]}, "does not exist"),
        ({"prompts__sources": [{"spec": "toy:nope", "n": 3}]}, "unknown toy task 'nope'"),
        ({"eval__benchmarks": ["no-such-benchmark"]}, "no-such-benchmark"),
        ({"eval__k": 0}, "k=0"),
        ({"eval__benchmarks": ["toy-pick", "toy-pick"]}, "name one benchmark twice"),
        ({"stages__rl__seed": 3}, "stages.rl.seed is set by the pipeline"),
        ({"stages__distill__model": "elsewhere"}, "stages.distill.model is set by the pipeline"),
        ({"stages__sft__model": {"lora_r": 8}}, "merge_lora: true"),
        ({"prompts__sources": [{"spec": 3}]}, "prompts.sources[0]"),
    ],
)
def test_bad_configs_stop_before_compute(tmp_path, capsys, monkeypatch, changes, message):
    monkeypatch.setenv("NPR_CACHE", str(tmp_path / "cache"))  # a seed built by mistake would land here
    assert main(["pipeline", "--config", str(toy_config(tmp_path, **changes)), "--out", str(tmp_path / "out")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "cache").exists(), "nothing was built"
    assert not (tmp_path / "out" / "pipeline.yaml").exists(), "the folder is not bound to a refused config"


def test_training_prompts_that_are_evaluation_problems_are_refused(tmp_path, capsys):
    from npr.eval.toy import heldout_items

    leak = tmp_path / "leak.jsonl"
    leak.write_text("".join(json.dumps({"question": i.question.upper(), "answer": i.answer}) + "\n"
                            for i in heldout_items("pick", 3)))  # fmt: skip
    path = toy_config(tmp_path, prompts__sources=[{"spec": str(leak)}])
    assert main(["pipeline", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "3 training prompts are evaluation problems" in capsys.readouterr().err


def test_an_empty_distilled_corpus_stops_before_sft(tmp_path, capsys, toy_model_dir):
    path = toy_config(
        tmp_path, base=str(toy_model_dir), speed__benchmarks=[], eval__limit=2, eval__max_tokens=16,
        prompts__sources=[{"spec": "toy:pick", "n": 4}],
        stages__zero={"rollout": {"prompts_per_step": 2, "group_size": 2, "max_tokens": 16}, "max_steps": 1,
                      "algorithm": {"dynamic_sampling": False}},
        stages__distill={"k": 1, "max_tokens": 16},
    )  # fmt: skip
    assert main(["pipeline", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "the distilled corpus is empty" in err and "samples.jsonl" in err
    assert not (tmp_path / "out" / "sft").exists()


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One `npr demo --quick --json` run (with its own cache, so the seed is built as on a fresh machine)."""
    root = tmp_path_factory.mktemp("demo")
    mp = pytest.MonkeyPatch()
    mp.setenv("NPR_CACHE", str(root / "cache"))
    import io
    from contextlib import redirect_stdout

    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["demo", "--quick", "--json", "--out", str(root / "out")])
    mp.undo()
    return root, code, buf.getvalue()


def test_quick_demo_runs_every_stage_end_to_end(quick_demo):
    root, code, stdout = quick_demo
    assert code == 0
    result = json.loads(stdout)
    assert set(result) == {"stages", "seconds", "seed"} and result["seed"] == 0 and result["seconds"] > 0
    assert [s["name"] for s in result["stages"]] == ["seed", "zero", "beta", "rl"]
    for row in result["stages"]:
        assert set(row) == ROW_KEYS
        for key in ("accuracy_sequential", "accuracy_parallel", "format_validity", "parallel_rate"):
            assert 0 <= row[key] <= 1, (row["name"], key)
        assert row["critical_path_tokens"] <= row["total_tokens"] and row["measured_speedup"] > 0
    out = root / "out"
    for stage in ("zero", "sft", "rl"):
        assert (out / stage / "model" / "config.json").is_file(), f"{stage} wrote no model"
        assert list((out / stage / "checkpoints").iterdir()), f"{stage} wrote no checkpoint"
    assert (out / "distill" / "corpus.jsonl").read_text().strip()
    for name in ("report.md", "summary.json", "rewards.png", "stages.png", "speedups.png"):
        assert (out / name).is_file(), name
    report = (out / "report.md").read_text()
    assert "| beta |" in report and "Seed 0" in report


def test_a_pipeline_killed_mid_stage_resumes_to_the_same_files(quick_demo, tmp_path, monkeypatch):
    root, code, _ = quick_demo
    assert code == 0
    monkeypatch.setenv("NPR_CACHE", str(root / "cache"))  # the seed is built already
    from npr.train.rl.trainer import RLTrainer

    real_save, calls = RLTrainer.save, []

    def save_then_die(self):
        path = real_save(self)
        calls.append(self.out.name)
        if self.out.name == "rl" and calls.count("rl") == 1:
            raise KeyboardInterrupt  # killed right after the first checkpoint of stage rl
        return path

    monkeypatch.setattr(RLTrainer, "save", save_then_die)
    argv = ["demo", "--quick", "--json", "--out", str(tmp_path / "out")]
    assert main(argv) == 130
    assert not (tmp_path / "out" / "rl" / "summary.json").exists()
    assert main(argv) == 0
    whole, cut = root / "out", tmp_path / "out"
    assert (whole / "data/prompts.jsonl").read_text() == (cut / "data/prompts.jsonl").read_text()
    # The corpus names its model by path, and its stats carry wall times: the rest must match exactly.
    kept = lambda f: [{k: v for k, v in json.loads(x).items() if k not in ("model", "stats")}  # noqa: E731
                      for x in (f / "distill/corpus.jsonl").read_text().splitlines()]
    assert kept(whole) == kept(cut) and kept(whole)
    steps = lambda f: [json.loads(x)["step"] for x in f.read_text().splitlines()]  # noqa: E731
    assert steps(cut / "rl" / "metrics.jsonl") == steps(whole / "rl" / "metrics.jsonl") == [1, 2]
    a = json.loads((whole / "summary.json").read_text())
    b = json.loads((cut / "summary.json").read_text())
    keys = ROW_KEYS - {"measured_speedup"}  # wall-clock: differs between any two runs
    assert [{k: r[k] for k in keys} for r in a["stages"]] == [{k: r[k] for k in keys} for r in b["stages"]]
    assert a["distill"] == b["distill"]
