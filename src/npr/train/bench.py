"""Training benchmarks (``npr bench train``, ``bench/train.py``): ratios measured side by side in one run.

* ``sft``: forward + backward of one batch of NPR trajectories, four ways - packed rows as long as the longest
  trajectory (the default), packed rows of 2048 tokens, one padded row per trajectory in one forward, and one
  forward per trajectory (how the reference trains). Tokens/s counts real tokens; the summed losses must agree.
* ``rl_update``: :class:`~npr.train.rl.update.PolicyUpdate` on the same trajectories as engine rollouts, packed
  into one forward (``micro_batch_tokens`` large) against one trajectory per forward (``micro_batch_tokens=1``).
* ``rl_step``: a few real RL steps (:class:`~npr.train.rl.trainer.RLTrainer`), split into rollout and update time.

The trajectories are steered through the engine along NPR shapes (k = 1, 2, 4 branches), so they carry real
forced headers, forks and joins. Timings are best-of-``repeats``; each figure carries the load other processes
put on the machine (``machine.other_busy_cores``).
"""

from __future__ import annotations

import copy
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from npr.engine import Engine, EngineConfig, SamplingParams
from npr.engine.bench_machine import OtherLoad, machine_info, timed
from npr.tokens import encode_prompt
from npr.train.forward import score
from npr.train.packing import LONGEST, Sample, pack_samples

TINY = dict(model_type="qwen3", hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, max_position_embeddings=4096, tie_word_embeddings=True)  # fmt: skip
SHAPES = [[[12]], [[10, 14]], [[8, 12, 9, 15]], [[20, 6], [11, 13]], [[30]], [[5, 9, 7, 12], [16]]]


def _log(progress: bool, msg: str) -> None:
    if progress:
        print(f"npr bench train: {msg}", flush=True, file=sys.stderr)


def trajectories(model, tokenizer, n: int) -> list:
    """``n`` NPR trajectories steered through real decode steps along :data:`SHAPES`."""
    engine = Engine(model, tokenizer, EngineConfig(kv_budget=1 << 16))
    prompt = encode_prompt(tokenizer, "Compute 7 * 8 + 12 * 3.", instruction="Answer in parallel reasoning blocks.")
    words = tokenizer.encode(" seven times eight is fifty six and twelve times three is thirty six", add_special_tokens=False)
    rids = [engine.submit(prompt, SamplingParams(seed=i, max_tokens=512),
                          steer=engine.shape_steer(SHAPES[i % len(SHAPES)], words=words)) for i in range(n)]  # fmt: skip
    while engine.has_work():
        engine.step()
    return [engine.take(r) for r in rids]


def _sft_pass(model, tags, samples, how: str) -> float:
    """One forward + backward of ``samples``; returns the summed NLL."""
    groups = [[s] for s in samples] if how == "per_trajectory" else [samples]
    row_tokens = {"packed": LONGEST, "packed_2048": 2048}.get(how)
    total = 0.0
    for group in groups:
        batch = pack_samples(group, tags, row_tokens=row_tokens).to(next(model.parameters()).device)
        loss = -score(model, batch).logp.sum()
        loss.backward()
        total += float(loss.detach())
    model.zero_grad(set_to_none=True)
    return total


def bench_sft(model, tags, trajs, repeats: int, device: str, progress: bool) -> dict[str, Any]:
    samples = [Sample(t.token_ids, t.prompt_len) for t in trajs]
    tokens = sum(len(s.token_ids) for s in samples)
    out: dict[str, Any] = {"trajectories": len(samples), "tokens": tokens}
    for how in ("packed", "packed_2048", "padded", "per_trajectory"):
        best, loss = float("inf"), None
        for _ in range(repeats):
            loss, sec = timed(device, lambda: _sft_pass(model, tags, samples, how))
            best = min(best, sec)
        out[how] = {"seconds": best, "tokens_per_s": tokens / best, "summed_nll": loss}
        _log(progress, f"sft {how}: {tokens / best:.0f} tok/s")
    out["packed_vs_per_trajectory"] = out["packed"]["tokens_per_s"] / out["per_trajectory"]["tokens_per_s"]
    out["padded_vs_per_trajectory"] = out["padded"]["tokens_per_s"] / out["per_trajectory"]["tokens_per_s"]
    out["max_loss_difference"] = max(abs(out[h]["summed_nll"] - out["packed"]["summed_nll"])
                                     for h in ("packed_2048", "padded", "per_trajectory"))  # fmt: skip
    return out


def bench_rl_update(model, tags, trajs, repeats: int, progress: bool) -> dict[str, Any]:
    from accelerate import Accelerator

    from npr.train.config import RLConfig
    from npr.train.config.loader import from_dict
    from npr.train.rl.update import PolicyUpdate, TrainItem

    tokens = sum(len(t.token_ids) for t in trajs)
    out: dict[str, Any] = {"trajectories": len(trajs), "tokens": tokens}
    acc = Accelerator(cpu=not torch.cuda.is_available())
    for how, budget in (("packed", 8192), ("per_trajectory", 1)):
        best = float("inf")
        for _ in range(repeats):
            m = copy.deepcopy(model)
            cfg = from_dict(RLConfig, {"model": {"init": {"model_type": "qwen3"}, "tokenizer": "-"}, "data": {"path": "-"},
                                       "rollout": {"prompts_per_step": 1, "group_size": len(trajs)},
                                       "algorithm": {"name": "papo"}, "micro_batch_tokens": budget})  # fmt: skip
            opt = torch.optim.SGD(m.parameters(), lr=0.0)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)
            upd = PolicyUpdate(accelerator=acc, model=m, optimizer=opt, scheduler=sched, tags=tags, config=cfg, pad_id=0)
            items = [TrainItem.from_trajectory(t, 0, 1.0 if k % 2 else -1.0) for k, t in enumerate(trajs)]
            t0 = time.perf_counter()
            metrics = upd.run(items, step=1)
            best = min(best, time.perf_counter() - t0)
        out[how] = {"seconds": best, "tokens_per_s": tokens / best, "logprob_mismatch_max": metrics["logprob_mismatch_max"]}
        _log(progress, f"rl update {how}: {tokens / best:.0f} tok/s")
    out["packed_vs_per_trajectory"] = out["packed"]["tokens_per_s"] / out["per_trajectory"]["tokens_per_s"]
    return out


def bench_rl_step(model_cfg: dict[str, Any], steps: int, progress: bool) -> dict[str, Any]:
    from npr.train.config import RLConfig
    from npr.train.config.loader import from_dict
    from npr.train.rl.trainer import RLTrainer

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "prompts.jsonl"
        data.write_text("".join(json.dumps({"id": str(i), "question": f"Compute {i + 3} * 7 + {i + 5} * 4.",
                                            "answer": str((i + 3) * 7 + (i + 5) * 4)}) + "\n" for i in range(32)))  # fmt: skip
        cfg = from_dict(RLConfig, {
            "model": model_cfg, "data": {"path": str(data), "instruction": "Answer in parallel reasoning blocks."},
            "rollout": {"prompts_per_step": 4, "group_size": 4, "max_tokens": 96, "kv_budget": 16384},
            "algorithm": {"name": "papo", "filters": []}, "max_steps": steps, "save_steps": 10_000, "lr": 1e-4,
        })  # fmt: skip
        trainer = RLTrainer(cfg, Path(tmp) / "run", progress=False, log=lambda m: None)
        records = [trainer.step() for _ in range(steps)]
    roll = sum(r["rollout_seconds"] for r in records)
    upd = sum(r["update_seconds"] for r in records)
    _log(progress, f"rl step: rollout {roll:.1f} s, update {upd:.1f} s over {steps} steps")
    return {
        "steps": steps, "rollouts_per_step": 16, "max_tokens": 96,
        "rollout_seconds": roll, "update_seconds": upd, "rollout_share": roll / (roll + upd),
        "rollout_tokens_per_s": sum(r["rollout_tokens_per_s"] for r in records) / steps,
        "update_tokens_per_s": sum(r["update_tokens_per_s"] for r in records) / steps,
        "logprob_mismatch_max": max(r["logprob_mismatch_max"] or 0.0 for r in records),
    }


def run_train_bench(model_path: str | None = None, tokenizer_dir: str | None = None, quick: bool = False,
                    progress: bool = True) -> dict[str, Any]:  # fmt: skip
    """Every training benchmark on one model; a JSON-ready dict.

    Args:
        model_path: an HF model folder; or None for a tiny random Qwen3 built from :data:`TINY`.
        tokenizer_dir: the tiny model's tokenizer (e.g. the real Qwen3 one, whose 151k-row head then dominates the
            cost); by default the engine benchmark's byte-level tokenizer (265 tokens), so that the figures measure
            the layers, where packing acts.
        quick: few trajectories, one repeat, one RL step: a smoke run, not figures to quote.
    """
    with tempfile.TemporaryDirectory() as tmp:
        if model_path is None and tokenizer_dir is None:
            from npr.engine.bench import tiny_tokenizer

            tokenizer_dir = str(Path(tmp) / "byte-tokenizer")
            tiny_tokenizer().save_pretrained(tokenizer_dir)
        return _run(model_path, tokenizer_dir, quick, progress)


def _run(model_path: str | None, tokenizer_dir: str | None, quick: bool, progress: bool) -> dict[str, Any]:
    from npr.train.config import ModelConfig
    from npr.train.model import load_policy

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model_cfg = {"path": model_path} if model_path else {"init": dict(TINY), "tokenizer": tokenizer_dir}
    t0, others = time.perf_counter(), OtherLoad()
    model, tok, tags = load_policy(ModelConfig(**model_cfg))
    model = model.to(device).eval()
    name = Path(model_path).name if model_path else f"tiny-qwen3-random-vocab{len(tok)}"
    n, repeats = (6, 1) if quick else (24, 3)
    _log(progress, f"{name} on {device}: steering {n} trajectories")
    trajs = trajectories(model, tok, n)
    result = {
        "model": name, "device": device, "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "parameters": sum(p.numel() for p in model.parameters()), "quick": quick,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sft": bench_sft(model, tags, trajs, repeats, device, progress),
        "rl_update": bench_rl_update(model, tags, trajs, repeats, progress),
        "rl_step": bench_rl_step(model_cfg, 1 if quick else 3, progress),
    }
    result["seconds"] = round(time.perf_counter() - t0, 1)
    result["machine"] = {**machine_info(), "other_busy_cores": others.cores(), "threads": torch.get_num_threads(),
                         "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}  # fmt: skip
    return result


def summary(result: dict[str, Any]) -> str:
    s, u, r = result["sft"], result["rl_update"], result["rl_step"]
    return "\n".join([
        f"{result['model']} on {result['device']} ({result['parameters'] / 1e6:.1f}M parameters), {result['seconds']} s",
        f"SFT forward+backward, {s['trajectories']} trajectories / {s['tokens']} tokens:",
        f"  packed {s['packed']['tokens_per_s']:.0f} tok/s (2048-token rows {s['packed_2048']['tokens_per_s']:.0f}), "
        f"padded {s['padded']['tokens_per_s']:.0f} tok/s, "
        f"one per forward {s['per_trajectory']['tokens_per_s']:.0f} tok/s -> packed {s['packed_vs_per_trajectory']:.2f}x "
        f"(losses agree within {s['max_loss_difference']:.1e})",
        f"RL update: packed {u['packed']['tokens_per_s']:.0f} tok/s, one per forward "
        f"{u['per_trajectory']['tokens_per_s']:.0f} tok/s -> {u['packed_vs_per_trajectory']:.2f}x",
        f"RL step: {r['rollout_share']:.0%} of the time in rollouts ({r['rollout_seconds']:.1f} s) and the rest in "
        f"updates ({r['update_seconds']:.1f} s); logprob mismatch {r['logprob_mismatch_max']:.1e}",
    ])  # fmt: skip
