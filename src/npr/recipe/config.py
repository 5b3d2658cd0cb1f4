"""Settings of ``npr pipeline``: :class:`PipelineConfig`, read from YAML and checked whole before any compute.

The file names a base model, the training prompts, how every model is evaluated, and one section per stage. A
stage's section is the config of the command that runs it (``npr train zero|sft|rl``, ``npr distill``) without
the model and data, which the pipeline fills in: each stage starts from the model of the stage before and trains
on the prompts (or, for ``sft``, on the distilled corpus). Each section is built into its command's own config
with placeholder paths on load, so an unknown key or a bad value anywhere stops the run before a model loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from npr.recipe.prompts import PromptSource
from npr.train.config.loader import ConfigError, deep_merge, from_dict, read_yaml

#: The recipe's stages in order; ``sr`` (sequential RL from NPR-Beta, the paper's SR baseline) is optional.
STAGES = ("zero", "distill", "sft", "rl", "sr")
REQUIRED = ("zero", "distill", "sft", "rl")
#: The model each stage starts from.
PARENT = {"zero": "seed", "distill": "zero", "sft": "zero", "rl": "sft", "sr": "sft"}
#: What each RL stage is, under the file's settings (the file wins).
RL_DEFAULTS: dict[str, dict[str, Any]] = {
    "zero": {"algorithm": {"name": "dapo"}, "reward": {"format_aware": True}, "rollout": {"mode": "sequential"}},
    "rl": {"algorithm": {"name": "papo"}, "rollout": {"mode": "parallel"}},
    "sr": {"algorithm": {"name": "papo"}, "rollout": {"mode": "sequential"}},
}
#: The name of each evaluated model in tables: the seed, then the model each training stage writes.
MODEL_NAMES = {"seed": "seed", "zero": "zero", "sft": "beta", "rl": "rl", "sr": "sr"}
PLACEHOLDER = "<set by the pipeline>"


@dataclass
class PromptsSection:
    """Training prompts (:mod:`npr.recipe.prompts`).

    Attributes:
        sources: where they come from (each ``{spec, n, question_field, answer_field, id_field, kind}``; a file
            path is taken relative to the config file's folder when it exists there).
        instruction: the instruction after each training question, in the RL stages and distillation (null: the
            standard one). Evaluations ask each benchmark in its own words (the toy benchmarks use the toy
            world's instruction).
        allow_overlap: train even on prompts that are also evaluation problems.
    """

    sources: list[dict[str, Any]] = field(default_factory=list)
    instruction: str | None = None
    allow_overlap: bool = False

    def __post_init__(self) -> None:
        if not self.sources:
            raise ValueError("prompts.sources is empty: name where the training prompts come from (toy:FAMILY, "
                             "orz, a data file or hf:owner/name)")  # fmt: skip
        self.parsed = [self._source(i, s) for i, s in enumerate(self.sources)]

    @staticmethod
    def _source(index: int, raw: Any) -> PromptSource:
        if "spec" not in raw:
            raise ValueError(f"prompts.sources[{index}] needs a spec (toy:FAMILY, orz, a data file or hf:owner/name)")
        try:
            return from_dict(PromptSource, raw, where=f"prompts.sources[{index}].")
        except ConfigError:
            raise
        except ValueError as exc:
            raise ValueError(f"prompts.sources[{index}]: {exc}") from None


@dataclass
class EvalSection:
    """How each model is evaluated: the benchmarks, in both modes.

    Attributes:
        benchmarks: ``npr eval`` benchmark specs.
        limit: problems per benchmark; k: samples per problem.
        temperature, top_p, max_tokens, max_branches: sampling and budgets.
        batch, kv_budget, dtype, device: requests in flight, the engine's KV store, and how the model is loaded.
    """

    benchmarks: list[str] = field(default_factory=list)
    limit: int | None = None
    k: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 2048
    max_branches: int = 8
    batch: int = 64
    kv_budget: int = 65536
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    device: str | None = None

    def __post_init__(self) -> None:
        if not self.benchmarks:
            raise ValueError("eval.benchmarks is empty: name the benchmarks every stage is measured on")
        self.config(PLACEHOLDER, "parallel")  # EvalConfig checks k, limit, budgets and duplicates with its reasons

    def config(self, model: str, mode: str, seed: int = 0):
        """The ``npr eval`` settings of one model in one mode."""
        from npr.eval.config import EvalConfig

        return EvalConfig(model=model, benchmarks=tuple(self.benchmarks), k=self.k, mode=mode, limit=self.limit,
                          temperature=self.temperature, top_p=self.top_p, seed=seed, max_tokens=self.max_tokens,
                          max_branches=self.max_branches, batch=self.batch, kv_budget=self.kv_budget,
                          dtype=self.dtype, device=self.device, save_trajectories=False)  # fmt: skip


@dataclass
class SpeedSection:
    """The wall-clock check: the same problems decoded one at a time, sequentially and in parallel.

    Attributes:
        benchmarks: where the problems come from (problems with several independent parts show the gain).
        limit: problems per benchmark.
    """

    benchmarks: list[str] = field(default_factory=list)
    limit: int = 20

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"speed.limit={self.limit} must be >= 1")


@dataclass
class PipelineConfig:
    """The whole recipe.

    Attributes:
        base: the model Stage 1 starts from: a folder or hub id, or ``toy-seed`` (the toy world's seed, built when
            missing; ``toy-seed-small`` is the smoke-sized variant of ``npr demo --quick``).
        seed: the seed of every stage, the prompts drawn and the evaluations.
        prompts, eval, speed: see their sections.
        stages: one section per stage (:data:`STAGES`); ``zero``, ``distill``, ``sft`` and ``rl`` are required.
    """

    base: str
    prompts: PromptsSection
    eval: EvalSection
    stages: dict[str, dict[str, Any]]
    speed: SpeedSection = field(default_factory=SpeedSection)
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise ValueError(f"stages: unknown stage {unknown[0]!r}; the stages are {', '.join(STAGES)}")
        missing = [s for s in REQUIRED if s not in self.stages]
        if missing:
            raise ValueError(f"stages: {', '.join(missing)} missing; the recipe runs {' -> '.join(REQUIRED)} "
                             "(and optionally sr)")  # fmt: skip
        for name, section in self.stages.items():
            if not isinstance(section, dict):
                raise ValueError(f"stages.{name} must be a mapping of that stage's settings (may be empty: {{}})")
            for key in ("seed", *(("model", "data") if name == "distill" else ())):
                if key in section:
                    raise ValueError(f"stages.{name}.{key} is set by the pipeline (the run's seed; the model before "
                                     "it; the training prompts)")  # fmt: skip
            model, data = section.get("model"), section.get("data")
            if isinstance(model, dict) and {"path", "init", "tokenizer"} & set(model):
                raise ValueError(f"stages.{name}.model.{sorted({'path', 'init', 'tokenizer'} & set(model))[0]} "
                                 "is set by the pipeline: each stage starts from the model before it")  # fmt: skip
            if isinstance(data, dict) and "path" in data:
                raise ValueError(f"stages.{name}.data.path is set by the pipeline")
        for name in self.stages:
            config = self.stage_config(name, model=PLACEHOLDER, data=PLACEHOLDER)
            lora = getattr(getattr(config, "model", None), "lora_r", 0)
            if lora and not config.model.merge_lora:
                raise ValueError(f"stages.{name}.model: with LoRA the next stage needs full weights; set "
                                 "merge_lora: true")  # fmt: skip

    @property
    def order(self) -> list[str]:
        return [s for s in STAGES if s in self.stages]

    def stage_config(self, name: str, *, model: str, data: str):
        """The config of stage ``name`` as its command takes it, starting from ``model`` and reading ``data``."""
        section = self.stages[name]
        where = f"stages.{name}."
        try:
            if name == "distill":
                from npr.recipe.distill import DistillConfig

                settings = {"seed": self.seed, "instruction": self.prompts.instruction, **section}
                return DistillConfig.from_dict({**settings, "model": model, "data": data})
            extra = {"model": {**section.get("model", {}), "path": model},
                     "data": {**section.get("data", {}), "path": data}, "seed": self.seed}  # fmt: skip
            if self.prompts.instruction is not None:
                extra["data"].setdefault("instruction", self.prompts.instruction)
            if name == "sft":
                from npr.train.config import SFTConfig

                return from_dict(SFTConfig, {**section, **extra}, where=where)
            from npr.train.config import RLConfig

            return from_dict(RLConfig, deep_merge(RL_DEFAULTS[name], {**section, **extra}), where=where)
        except ConfigError:
            raise
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where.rstrip('.')}: {exc}") from None


def load_pipeline(path: str | Path, overrides: list[str] | None = None) -> PipelineConfig:
    """Read and check a pipeline YAML file (``overrides`` as ``key=value``, e.g. ``stages.rl.max_steps=5``).

    ``base`` and the prompt sources' file paths, when relative, are taken from the config file's folder if something
    exists there (so a config works from any working directory); otherwise they are kept as given.
    """
    from npr.train.config.loader import apply_overrides

    data = apply_overrides(read_yaml(path), overrides or [])
    here = Path(path).parent
    if isinstance(data.get("base"), str):
        data["base"] = _near(data["base"], here)
    sources = (data.get("prompts") or {}).get("sources") if isinstance(data.get("prompts"), dict) else None
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict) and isinstance(source.get("spec"), str):
            spec = source["spec"]
            prefix = "orz:" if spec.startswith("orz:") else ""
            source["spec"] = prefix + _near(spec[len(prefix) :], here)
    return pipeline_from_dict(data, base_dir=here)


def _near(value: str, folder: Path) -> str:
    candidate = folder / value
    return str(candidate) if value and not Path(value).is_absolute() and candidate.exists() else value


def pipeline_from_dict(data: dict[str, Any], *, base_dir: Path | None = None) -> PipelineConfig:
    try:
        return from_dict(PipelineConfig, data, base_dir=base_dir)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
