"""``npr pipeline``: the paper's recipe end to end, NPR-Zero -> self-distillation -> NPR-Beta -> PAPO (-> SR).

One output folder holds the whole run:

* ``pipeline.yaml``: the settings; a run is resumed only with the same ones;
* ``data/prompts.jsonl``: the training prompts (:mod:`npr.recipe.prompts`);
* ``seed/``: the base model's evaluations; ``zero/``, ``distill/``, ``sft/``, ``rl/``, ``sr/``: each stage's run
  (HF checkpoints, ``model/``, ``metrics.jsonl``, ``summary.json``; a corpus for ``distill``), and under it
  ``eval/<mode>/`` and ``speed/speed.json`` for the model it made;
* ``summary.json``, ``report.md`` and the plots (:mod:`npr.recipe.report`); ``times.json``, the seconds spent on
  each stage (with its evaluations) over every session.

A finished stage (its ``summary.json`` written) is skipped; a stage that was killed resumes from its last checkpoint
through its own command's resume rules, and evaluations resume sample by sample, so a killed pipeline run again
ends with the same files as one never stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from npr.recipe.config import MODEL_NAMES, PARENT, PipelineConfig
from npr.recipe.prompts import build_prompts

MODES = ("sequential", "parallel")


class PipelineError(ValueError):
    """The pipeline cannot go on; the message says why and what to do."""


def resolve_base(base: str, seed: int, *, progress: bool, log: Callable[[str], None]) -> str:
    """The folder of the base model: ``toy-seed`` (or ``toy-seed-small``) is built into the cache when missing."""
    if base in ("toy-seed", "toy-seed-small"):
        from npr.toy.seed import SMALL, SeedConfig, build_seed

        config = SeedConfig(seed=seed, **(SMALL if base.endswith("small") else {}))
        log(f"== base: the toy seed (seed {seed})")
        return build_seed(config, progress=progress, log=log)["path"]
    return base


def check_folder(out: Path, raw: dict[str, Any]) -> None:
    """Refuse a folder that holds a run with other settings (:func:`bind_folder` binds it once data is ready)."""
    saved = out / "pipeline.yaml"
    if saved.is_file():
        try:
            old = yaml.safe_load(saved.read_text())
        except yaml.YAMLError:
            old = None
        if not isinstance(old, dict):
            raise PipelineError(f"{saved} is unreadable: {out} cannot be resumed; pick another --out")
        if old != raw:
            changed = sorted(k for k in set(old) | set(raw) if old.get(k) != raw.get(k))
            raise PipelineError(f"{out} holds a pipeline run with other settings (changed: {', '.join(changed)}); "
                                "run it with the same config to resume, or pick another --out")  # fmt: skip


def bind_folder(out: Path, raw: dict[str, Any]) -> None:
    saved = out / "pipeline.yaml"
    if not saved.is_file():
        out.mkdir(parents=True, exist_ok=True)
        saved.write_text(yaml.safe_dump(raw, sort_keys=False))


class Pipeline:
    """Runs the stages of ``config`` into ``out``, evaluating the base and every model a stage makes."""

    def __init__(self, config: PipelineConfig, out: str | Path, raw: dict[str, Any], *, progress: bool = True,
                 log: Callable[[str], None] = print):  # fmt: skip
        self.config, self.out, self.raw = config, Path(out), raw
        self.progress, self.log = progress, log
        self.models: dict[str, str] = {}
        self.seconds: dict[str, float] = {}

    def run(self) -> dict[str, Any]:
        from npr.recipe.report import write_report

        check_folder(self.out, self.raw)
        cfg = self.config
        t0 = time.perf_counter()
        prompts = self.prompts()  # first: bad data or benchmarks stop the run before any model is built
        bind_folder(self.out, self.raw)
        self.spent("prompts", time.perf_counter() - t0)
        t0 = time.perf_counter()
        self.models["seed"] = resolve_base(cfg.base, cfg.seed, progress=self.progress, log=self.log)
        self.spent("base", time.perf_counter() - t0)
        self.evaluate("seed")
        for stage in cfg.order:
            t0 = time.perf_counter()
            self.log(f"== stage {stage}")
            if stage == "distill":
                self.distill(prompts)
            else:
                self.train(stage, prompts)
            self.spent(stage, time.perf_counter() - t0)
            if stage != "distill":
                self.evaluate(stage)
        return write_report(self.out, cfg, self.models, self.seconds)

    def spent(self, key: str, seconds: float) -> None:
        """Add ``seconds`` to ``key`` and to ``total`` in ``times.json`` as each piece of work ends, so that a resumed
        run reports the time of all its sessions (a piece of work that a kill interrupted counts once: its redo)."""
        path = self.out / "times.json"
        try:
            times = json.loads(path.read_text())
        except (OSError, ValueError):
            times = {}
        for name in (key, "total"):
            times[name] = float(times.get(name, 0.0)) + seconds
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(times, indent=2) + "\n")
        tmp.replace(path)
        self.seconds = times

    # ---- stages ------------------------------------------------------------------------------------------------

    def prompts(self) -> Path:
        path = self.out / "data" / "prompts.jsonl"
        if not path.is_file() or not (self.out / "pipeline.yaml").is_file():  # none yet, or not bound to this config
            cfg = self.config
            tmp = path.with_suffix(".jsonl.tmp")
            info = build_prompts(cfg.prompts.parsed, tmp, benchmarks=cfg.eval.benchmarks + cfg.speed.benchmarks,
                                 allow_overlap=cfg.prompts.allow_overlap, seed=cfg.seed)  # fmt: skip
            tmp.replace(path)
            self.log(f"== prompts: {info['prompts']} training prompts in {path}")
        return path

    def distill(self, prompts: Path) -> None:
        from npr.recipe.distill import run_distill

        folder = self.out / "distill"
        summary_file = folder / "summary.json"
        if not (summary_file.is_file() and json.loads(summary_file.read_text()).get("complete")):
            config = self.config.stage_config("distill", model=self.models[PARENT["distill"]], data=str(prompts))
            run_distill(config, folder, progress=self.progress, log=self.log)
        summary = json.loads(summary_file.read_text())
        if summary["kept"] == 0:
            raise PipelineError(
                f"the distilled corpus is empty: none of {summary['samples']} samples from {summary['problems']} "
                f"problems was both correct and well formatted (rejections: {summary['rejections']}). Stage 2 has "
                f"nothing to train on; see {folder}/samples.jsonl, and train Stage 1 longer or raise stages.distill.k"
            )
        self.log(f"   kept {summary['kept']} of {summary['problems']} problems ({summary['samples']} samples)")

    def train(self, stage: str, prompts: Path) -> None:
        from npr.train.run_summary import render_summary

        folder = self.out / stage
        if (folder / "summary.json").is_file() and (folder / "model").is_dir():
            self.models[stage] = str(folder / "model")
            self.log(f"   done before: {folder}/model")
            return
        data = self.out / "distill" / "corpus.jsonl" if stage == "sft" else prompts
        config = self.config.stage_config(stage, model=self.models[PARENT[stage]], data=str(data))
        resume = (folder / "config.yaml").is_file()
        command = f"npr pipeline ({stage})"
        if stage == "sft":
            from npr.train.sft import train_sft as run
        else:
            from npr.train.rl.trainer import train_rl as run
        summary = run(config, folder, resume=resume, command=command, progress=self.progress, log=self.log)
        self.models[stage] = str(folder / "model")
        self.log(render_summary("sft" if stage == "sft" else "rl", summary, str(folder)))

    # ---- measurements ------------------------------------------------------------------------------------------

    def evaluate(self, stage: str) -> None:
        """Both modes on the evaluation benchmarks, then the wall-clock check (:mod:`npr.recipe.speed`)."""
        from npr.eval.runner import run_eval

        cfg, model = self.config, self.models[stage]
        self.log(f"== evaluating {MODEL_NAMES[stage]} ({model})")
        t0 = time.perf_counter()
        quiet = lambda message: None  # noqa: E731 - the evaluations' own resume notes would only repeat ours
        for mode in MODES:
            run_eval(cfg.eval.config(model, mode, cfg.seed), self.out / stage / "eval" / mode, progress=self.progress,
                     log=quiet)  # fmt: skip
        if cfg.speed.benchmarks:
            from npr.recipe.speed import measure_speed

            measure_speed(model, cfg.speed.benchmarks, self.out / stage / "speed", limit=cfg.speed.limit,
                          seed=cfg.seed, temperature=cfg.eval.temperature, top_p=cfg.eval.top_p,
                          max_tokens=cfg.eval.max_tokens, max_branches=cfg.eval.max_branches,
                          kv_budget=cfg.eval.kv_budget, dtype=cfg.eval.dtype, device=cfg.eval.device,
                          progress=self.progress)
        self.spent("evaluation", time.perf_counter() - t0)


def run_pipeline(config: PipelineConfig, out: str | Path, raw: dict[str, Any], *, progress: bool = True,
                 log: Callable[[str], None] = print) -> dict[str, Any]:  # fmt: skip
    """Run (or resume) the pipeline into ``out``; returns the summary (also ``out/summary.json``)."""
    return Pipeline(config, out, raw, progress=progress, log=log).run()
