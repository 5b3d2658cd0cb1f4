"""The toy seed model: the miniature world's counterpart of an instruction-tuned base, trained from scratch.

Stage 1 assumes a base that solves problems step by step and follows the tag format only sometimes. The seed is
built to be that: a tiny Qwen3 (:data:`MODEL`) pretrained causally with the SFT trainer on a corpus that is

* mostly step-by-step solutions (:meth:`~npr.eval.toy.ToyTask.sequential`), asked with either instruction;
* a minority of attempts at the tag format under the parallel instruction, some imperfect
  (:func:`imperfect`: a step missing, the takeaway missing, or a step that uses a sibling's result).

:func:`build_seed` writes the model and its tokenizer (:func:`npr.toy.tokenizer.toy_tokenizer`) into the cache
(``$NPR_CACHE/toy/seed-<key>``, the key a hash of :class:`SeedConfig`, the architecture and the world), or
returns the folder when it is already there, and measures the seed's format validity and accuracy on held-out
problems.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from npr.eval.toy import INSTRUCTIONS, TASKS, ToyProblem, ToyTask, get_task
from npr.schema import parse, render, validate
from npr.schema.structure import Block, Response, Step
from npr.tokens import encode_prompt, load_tokenizer
from npr.tokens.loading import cache_root
from npr.toy.tokenizer import toy_tokenizer

#: The seed's architecture: about 0.5M parameters, the size that learns fastest per CPU minute.
MODEL = dict(model_type="qwen3", hidden_size=96, intermediate_size=384, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, head_dim=24, max_position_embeddings=512, tie_word_embeddings=True)  # fmt: skip


#: ``npr toy seed --quick``: a corpus small enough for a smoke run (the test suite's), not a usable seed.
QUICK = dict(problems=256, batch_size=64, epochs=1.0)
#: ``npr demo --quick``'s base (``toy-seed-small``): under a minute of training on two families, all of it asked in
#: the tag format, so that a few of its answers are already valid and right and every stage has data. Its figures
#: are a smoke test's (about 13% valid), not a seed's.
SMALL = dict(problems=2400, batch_size=16, parallel_share=1.0, format_share=0.8, imperfect_share=0.0,
             families=("pick", "largest"))


@dataclass(frozen=True)
class SeedConfig:
    """What the seed is trained on and how; its hash names the cache folder.

    Attributes:
        seed: problems, corpus mix and weights.
        problems: training examples (one response each).
        parallel_share: the share of examples asked with the parallel instruction.
        format_share: among those, the share answered in the tag format (the rest step by step).
        imperfect_share: among tag-format answers, the share that is imperfect.
        epochs, batch_size, lr: the SFT run.
        families: the toy families mixed in equal parts.
    """

    seed: int = 0
    problems: int = 38_000
    parallel_share: float = 0.5
    format_share: float = 0.5
    imperfect_share: float = 0.3
    epochs: float = 1.0
    batch_size: int = 32
    lr: float = 3e-3
    families: tuple[str, ...] = field(default_factory=lambda: tuple(TASKS))

    def __post_init__(self) -> None:
        for name in ("parallel_share", "format_share", "imperfect_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name}={getattr(self, name)} must be in [0, 1]")
        if self.problems < self.batch_size:
            raise ValueError(f"problems={self.problems} must be at least batch_size={self.batch_size}")
        for name in self.families:
            get_task(name)

    def key(self) -> str:
        """The cache key: these settings, the architecture, and the world they train on (:func:`world_digest`)."""
        blob = json.dumps({**asdict(self), "model": MODEL, "world": world_digest(self.families)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def world_digest(families: tuple[str, ...]) -> str:
    """A hash of what the toy world looks like: the tokenizer's vocabulary and, per family, both written solutions
    of a few problems of each split. A change to a family or to the tokenizer changes it, so a cached seed
    trained on an older world is never reused."""
    tokenizer = toy_tokenizer()
    h = hashlib.sha256(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    for name in families:
        task = get_task(name)
        for split in ("train", "test"):
            for problem in task.problems(split, 3, seed=0):
                h.update(f"{problem.question}\x1f{task.sequential(problem)}\x1f{task.parallel(problem)}".encode())
    return h.hexdigest()[:16]


def imperfect(task: ToyTask, problem: ToyProblem, rng: random.Random) -> str:
    """A flawed attempt at the tag format: a step missing, the takeaway missing, or a step using a sibling's result."""
    good = task.parallel(problem)
    flaw = rng.choice(("missing_step", "missing_takeaway", "sibling"))
    [block] = parse(good).blocks
    if flaw == "missing_step":
        block = Block(block.plans, block.steps[:-1], block.takeaway)
    elif flaw == "missing_takeaway":
        block = Block(block.plans, block.steps, None)
    else:  # step 2 starts from step 1's line, as a sequential solver would
        steps = list(block.steps)
        steps[1] = Step(2, f"{steps[0].text}, {steps[1].text}")
        block = Block(block.plans, tuple(steps), block.takeaway)
    return render(Response(blocks=(block,), conclusion=f"\\boxed{{{problem.answer}}}"))


def corpus(config: SeedConfig, tokenizer) -> list[dict[str, list[int]]]:
    """The seed's training examples as ``{"prompt_ids", "response_ids"}`` (responses end with EOS)."""
    rng = random.Random(config.seed)
    per_family = -(-config.problems // len(config.families))
    rows = []
    for name in config.families:
        task = get_task(name)
        for problem in task.problems("train", per_family, seed=config.seed):
            parallel = rng.random() < config.parallel_share
            if parallel and rng.random() < config.format_share:
                response = imperfect(task, problem, rng) if rng.random() < config.imperfect_share else task.parallel(problem)
            else:
                response = task.sequential(problem)
            instruction = INSTRUCTIONS["npr" if parallel else "plain"]
            rows.append({
                "prompt_ids": encode_prompt(tokenizer, problem.question, instruction=instruction),
                "response_ids": tokenizer.encode(response, add_special_tokens=False) + [tokenizer.eos_token_id],
            })  # fmt: skip
    rng.shuffle(rows)
    return rows[: config.problems]


def seed_dir(config: SeedConfig, cache: str | Path | None = None) -> Path:
    return (Path(cache) if cache is not None else cache_root()) / "toy" / f"seed-{config.key()}"


def build_seed(config: SeedConfig = SeedConfig(), *, cache: str | Path | None = None, progress: bool = True,
               log=print) -> dict[str, Any]:  # fmt: skip
    """Train the seed (or find it in the cache) and measure it; returns the figures, also in ``seed.json``."""
    from npr.train.config import SFTConfig
    from npr.train.config.loader import from_dict
    from npr.train.sft import train_sft

    folder = seed_dir(config, cache)
    if (folder / "seed.json").is_file():
        return {**json.loads((folder / "seed.json").read_text()), "cached": True, "path": str(folder)}
    folder.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tokenizer = toy_tokenizer()
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{folder.name}-") as tmp:
        work = Path(tmp)
        tokenizer.save_pretrained(work / "tokenizer")
        rows = corpus(config, tokenizer)
        (work / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        sft = from_dict(SFTConfig, {
            "model": {"init": dict(MODEL), "tokenizer": str(work / "tokenizer")},
            "data": {"path": str(work / "corpus.jsonl"), "parallel": False},
            "seed": config.seed, "epochs": config.epochs, "batch_size": config.batch_size, "lr": config.lr,
            "lr_scheduler": "cosine", "warmup_ratio": 0.02, "save_steps": 10_000, "save_total_limit": 1,
            "logging_steps": 20,
        })  # fmt: skip
        summary = train_sft(sft, work / "run", progress=progress, log=log)
        train_seconds = time.perf_counter() - t0
        figures = measure(work / "run" / "model", config)
        result = {
            "config": asdict(config), "model": MODEL,
            "train_seconds": round(train_seconds, 1), "final_loss": summary["final_loss"],
            "trained_tokens": summary["trained_tokens"], **figures,
            "build_seconds": round(time.perf_counter() - t0, 1),
        }  # fmt: skip
        shutil.copytree(work / "run" / "model", work / "seed")
        (work / "seed" / "seed.json").write_text(json.dumps(result, indent=2) + "\n")
        (work / "seed").rename(folder)
    return {**result, "cached": False, "path": str(folder)}


def measure(model_dir: str | Path, config: SeedConfig, n: int = 100) -> dict[str, Any]:
    """Format validity and accuracy of ``model_dir`` on ``n`` held-out problems per family, asked with the parallel
    instruction and decoded sequentially at temperature 1 (as ``npr eval --mode sequential`` does)."""
    from npr.engine import Engine, EngineConfig, SamplingParams

    engine = Engine.from_pretrained(str(model_dir), EngineConfig(kv_budget=1 << 16))
    tok = load_tokenizer(model_dir)
    out: dict[str, Any] = {"parameters": sum(p.numel() for p in engine.model.parameters())}
    for name in config.families:
        task = get_task(name)
        problems = task.problems("test", n, seed=0)
        prompts = [encode_prompt(tok, p.question, instruction=INSTRUCTIONS["npr"]) for p in problems]
        params = [SamplingParams(seed=i, max_tokens=200) for i in range(n)]
        rids = [engine.submit(pr, sp, "sequential") for pr, sp in zip(prompts, params)]
        while engine.has_work():
            engine.step()
        texts = [engine.take(r).text for r in rids]
        out[name] = {
            "format_valid": sum(not validate(t) for t in texts) / n,
            "accuracy": sum(task.correct(t, p) for t, p in zip(texts, problems)) / n,
        }
    return out


def render_figures(result: dict[str, Any]) -> str:
    """The seed's figures for the terminal."""
    lines = [
        f"toy seed: {result['path']}" + (" (from the cache)" if result.get("cached") else ""),
        f"  built in {result['build_seconds']} s (training {result['train_seconds']} s, "
        f"{result['trained_tokens']} trained tokens, final loss {result['final_loss']:.3f})",
    ]
    for name in result["config"]["families"]:
        f = result[name]
        lines.append(f"  {name}: format validity {f['format_valid']:.0%}, accuracy {f['accuracy']:.0%} "
                     "(held-out, parallel instruction, sequential decoding)")  # fmt: skip
    return "\n".join(lines)
