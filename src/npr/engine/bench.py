"""Engine benchmarks (DESIGN §4, "Performance"): every figure is a ratio of two timings taken side by side in one run.

* ``decode``: the engine's sequential decoding against ``transformers`` ``generate`` on the same model and the same
  tokens (HF's greedy output is teacher-forced through the engine token by token, so both run one forward per token),
  at batch 1 and batch 16.
* ``parallel``: NPR-shaped trajectories with k branches, steered token by token (:meth:`Engine.shape_steer`), against
  ``mode="sequential"`` decoding of the very same tokens; the ideal speedup is total / critical-path tokens.
* ``concurrency``: throughput of 1..64 concurrent requests against ``generate`` called one request at a time.
* ``kv``: peak KV slots in use against the unique tokens held by the requests in flight (prefix cache off).
* ``parity``: the engine's log-probs of the parallel trajectories against one HF forward with the topology's mask.

Run it with ``npr bench engine`` (``--tiny`` for a tiny random model, ``--quick`` for a smoke run) or
``python bench/engine.py``; docs/PERFORMANCE.md holds the figures. Nothing here asserts a timing.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from npr.engine.bench_machine import OtherLoad, machine_info, timed
from npr.engine.config import EngineConfig, SamplingParams
from npr.engine.engine import Engine
from npr.engine.trajectory import Trajectory
from npr.tokens import TagIds, add_tags, encode_prompt
from npr.topology import layout


@dataclass(frozen=True)
class Settings:
    """What one run measures. ``new_tokens`` per request for decode and concurrency; parallel shapes are
    ``blocks`` blocks of k branches that write ``step_words`` words each; timings are the best of ``repeats``."""

    new_tokens: int
    batches: tuple[int, ...]
    branches: tuple[int, ...]
    step_words: int
    blocks: int
    requests: tuple[int, ...]
    hf_sample: int  # prompts that generate() decodes one by one for the concurrency baseline
    kv_requests: int
    repeats: int


FULL = Settings(32, (1, 16), (2, 4, 8), 16, 2, (1, 2, 4, 8, 16, 32, 64), 4, 8, 3)
TINY = replace(FULL, new_tokens=64, step_words=32, repeats=5)  # a tiny model is fast: more tokens, less noise
QUICK = Settings(8, (1, 16), (2, 4, 8), 4, 1, (1, 4, 16), 2, 4, 1)
TINY_DIMS = dict(hidden_size=128, intermediate_size=256, num_hidden_layers=4, num_attention_heads=4,
                 num_key_value_heads=2, head_dim=32, max_position_embeddings=4096)  # fmt: skip


def _log(progress: bool, msg: str) -> None:
    if progress:
        print(f"npr bench: {msg}", file=sys.stderr, flush=True)


# ---- models -----------------------------------------------------------------------------------------------------


def tiny_tokenizer():
    """A self-contained byte-level tokenizer (256 bytes + EOS + the eight tags): no files, no network."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tk.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    add_tags(None, tok)
    return tok


def load_model(model_path: str | None, tiny: bool, device: str) -> tuple[Any, Any, str]:
    """(model, tokenizer with the tags, name). ``tiny``: a random 4-layer Llama (seed 0) over :func:`tiny_tokenizer`."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    if tiny:
        tok = tiny_tokenizer()
        cfg = LlamaConfig(vocab_size=len(tok), eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                          bos_token_id=None, **TINY_DIMS)  # fmt: skip
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa", dtype=torch.float32)
        name = "tiny-llama-random"
    else:
        if model_path is None:
            raise ValueError("model_path is required unless tiny=True")
        tok = AutoTokenizer.from_pretrained(model_path)
        model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32, attn_implementation="sdpa")
        name = Path(model_path).name
    add_tags(model, tok)
    return model.to(device).eval(), tok, name


def prompts(tok, n: int) -> list[list[int]]:
    """``n`` distinct short questions of (nearly) equal length, in the plain chat prompt."""
    return [encode_prompt(tok, f"What is {11 + i} * {37 + 2 * i}?", mode="plain") for i in range(n)]


# ---- running the engine -----------------------------------------------------------------------------------------


def run_requests(engine: Engine, requests, on_step=None) -> tuple[list[Trajectory], int]:
    """Submit ``(prompt, params, mode, steer)`` tuples, step until idle; returns their trajectories and the steps."""
    rids = [engine.submit(p, params, mode, steer=steer) for p, params, mode, steer in requests]
    steps = 0
    while engine.has_work():
        engine.step()
        steps += 1
        if on_step is not None:
            on_step(engine)
    return [engine.take(r) for r in rids], steps


def replay_steer(response: list[int], eos: int):
    """A steer that writes ``response`` token by token (every token a real decode step), then EOS."""
    return lambda role, block, branch, tokens: response[len(tokens)] if len(tokens) < len(response) else eos


def hf_generate(model, batch: list[list[int]], n: int, pad: int, eos: int) -> list[list[int]]:
    """Greedy ``generate`` of exactly ``n`` new tokens per prompt (left-padded batch, with an attention mask)."""
    dev = next(model.parameters()).device
    width = max(map(len, batch))
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in batch], device=dev)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch], device=dev)
    out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                         pad_token_id=pad, eos_token_id=eos)  # fmt: skip
    return out[:, width:].tolist()


def engine_replay(engine: Engine, batch: list[list[int]], responses: list[list[int]], mode: str = "sequential"):
    """Decode each prompt's given response through the engine, all requests at once; checks the tokens came out."""
    eos = engine.shape_steer([[1]]).eos
    reqs = [(p, SamplingParams(temperature=0, max_tokens=len(r)), mode, replay_steer(r, eos))
            for p, r in zip(batch, responses)]  # fmt: skip
    trajs, steps = run_requests(engine, reqs)
    for t, r in zip(trajs, responses):
        if t.response_ids[: len(r)] != r:
            raise RuntimeError(f"{t.request_id}: the engine did not decode the tokens it was steered along")
    return trajs, steps


def _engine(model, tok, kv_budget: int, **kw) -> Engine:
    return Engine(model, tok, EngineConfig(kv_budget=kv_budget, prefix_cache=False, **kw))


# ---- the benchmarks ---------------------------------------------------------------------------------------------


def bench_decode(model, tok, s: Settings, device: str, progress: bool) -> dict[str, Any]:
    """Tokens/s of the engine and of ``generate`` on the same tokens, per batch size; plus a greedy cross-check."""
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    out: dict[str, Any] = {}
    for b in s.batches:
        batch = prompts(tok, b)
        engine = _engine(model, tok, kv_budget=b * (max(map(len, batch)) + s.new_tokens + 8), max_running=max(b, 1))
        responses = hf_generate(model, batch, s.new_tokens, pad, tok.eos_token_id)  # warm-up, and the tokens
        engine_replay(engine, batch, responses)  # warm-up
        hf_t, en_t, load = [], [], OtherLoad()
        for _ in range(s.repeats):  # interleaved, so both see the same machine state
            hf_t.append(timed(device, lambda: hf_generate(model, batch, s.new_tokens, pad, tok.eos_token_id))[1])
            (_, steps), dt = timed(device, lambda: engine_replay(engine, batch, responses))
            en_t.append(dt)
        n = b * s.new_tokens
        row = {"hf_tokens_per_s": n / min(hf_t), "engine_tokens_per_s": n / min(en_t), "hf_s": min(hf_t),
               "engine_s": min(en_t), "tokens": n, "engine_forwards": steps, "other_busy_cores": load.cores()}
        row["speedup"] = row["engine_tokens_per_s"] / row["hf_tokens_per_s"]
        if b == 1:  # the engine's own greedy tokens against generate()'s, up to the EOS that min_new_tokens hides
            [g] = engine.generate(batch, SamplingParams(temperature=0, max_tokens=s.new_tokens), mode="sequential")
            got = g.response_ids[:-1] if g.finish_reason == "stop" else g.response_ids
            same = next((i for i, (x, y) in enumerate(zip(got, responses[0])) if x != y), None)
            row["greedy_compared_tokens"] = min(len(got), len(responses[0]))
            row["greedy_matching_prefix"] = row["greedy_compared_tokens"] if same is None else same
        out[f"batch{b}"] = row
        _log(progress, f"decode batch {b}: engine {row['engine_tokens_per_s']:.1f} tok/s, generate "
                       f"{row['hf_tokens_per_s']:.1f} tok/s, {row['speedup']:.2f}x")  # fmt: skip
    return out


def bench_parallel(model, tok, s: Settings, device: str, progress: bool) -> tuple[list[dict], list[Trajectory]]:
    """Steered k-branch trajectories: parallel wall-clock against sequential decoding of the same tokens."""
    [prompt] = prompts(tok, 1)
    words = tok.encode(" one two three four five six seven eight nine ten", add_special_tokens=False)
    rows, trajs = [], []
    for k in s.branches:
        shape = [[s.step_words] * k for _ in range(s.blocks)]
        engine = _engine(model, tok, kv_budget=len(prompt) + 2 * s.blocks * k * (s.step_words + 16) + 256)
        steer = engine.shape_steer(shape, words=words)
        params = SamplingParams(temperature=0, max_tokens=4096)
        par = lambda: run_requests(engine, [(prompt, params, "parallel", steer)])  # noqa: E731
        [[traj], _] = par()  # warm-up, and the tokens
        response = traj.response_ids
        seq = lambda: engine_replay(engine, [prompt], [response])  # noqa: E731
        par_t, seq_t, load = [], [], OtherLoad()
        for _ in range(s.repeats):
            (([pt], par_steps), dt) = timed(device, par)
            par_t.append(dt)
            (([st], seq_steps), dt) = timed(device, seq)
            seq_t.append(dt)
        if pt.response_ids != response or st.response_ids != response:
            raise RuntimeError(f"k={k}: the timed runs decoded other tokens than the warm-up")
        total, critical = traj.stats["total_tokens"], traj.stats["critical_path_tokens"]
        row = {"branches": k, "shape": shape, "total_tokens": total, "critical_path_tokens": critical,
               "ideal_speedup": total / critical, "measured_speedup": min(seq_t) / min(par_t),
               "parallel_s": min(par_t), "sequential_s": min(seq_t), "parallel_steps": par_steps,
               "sequential_steps": seq_steps, "prompt_tokens": len(prompt), "other_busy_cores": load.cores()}
        row["fraction_of_ideal"] = row["measured_speedup"] / row["ideal_speedup"]
        row["step_speedup"] = seq_steps / par_steps  # forced headers go in one chunk, so this can beat the ideal
        rows.append(row)
        trajs.append(traj)
        _log(progress, f"parallel k={k}: {row['measured_speedup']:.2f}x measured, {row['ideal_speedup']:.2f}x ideal "
                       f"({row['fraction_of_ideal']:.2f} of ideal)")  # fmt: skip
    return rows, trajs


def bench_concurrency(model, tok, s: Settings, device: str, progress: bool) -> tuple[list[dict], dict]:
    """Tokens/s of R concurrent requests against ``generate`` decoding requests one at a time."""
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    batch = prompts(tok, max(s.requests))
    sample = batch[: s.hf_sample]
    load = OtherLoad()  # the model is warm from bench_decode
    runs = [timed(device, lambda: [hf_generate(model, [p], s.new_tokens, pad, tok.eos_token_id)[0] for p in sample])
            for _ in range(s.repeats)]  # fmt: skip
    responses, hf_s = runs[0][0], min(dt for _, dt in runs)
    hf_tps = len(sample) * s.new_tokens / hf_s
    base = {"hf_one_by_one_tokens_per_s": hf_tps, "hf_one_by_one_requests": len(sample), "hf_one_by_one_s": hf_s,
            "other_busy_cores": load.cores()}  # fmt: skip
    _log(progress, f"generate one by one: {hf_tps:.1f} tok/s over {len(sample)} requests")
    engine = _engine(model, tok, kv_budget=len(batch) * (max(map(len, batch)) + s.new_tokens + 8),
                     max_running=max(s.requests))  # fmt: skip
    rows = []
    for r in s.requests:
        load = OtherLoad()
        resp = [responses[i % len(responses)] for i in range(r)]  # same token count; the compute does not care
        times = [timed(device, lambda: engine_replay(engine, batch[:r], resp))[1] for _ in range(s.repeats)]
        tps = r * s.new_tokens / min(times)
        rows.append({"requests": r, "engine_tokens_per_s": tps, "engine_s": min(times),
                     "throughput_vs_hf_one_by_one": tps / hf_tps, "other_busy_cores": load.cores()})  # fmt: skip
        _log(progress, f"concurrency {r}: {tps:.1f} tok/s, {tps / hf_tps:.2f}x generate one by one")
    return rows, base


def _tokens_with_kv(engine: Engine) -> tuple[int, int]:
    """(unique tokens whose KV the running requests hold, slots if every sequence kept its own copy)."""
    unique = copied = 0
    for req in engine.scheduler.running:
        unique += len(req.prompt) - len(req.pieces[0].prompt) + sum(seq.fed for seq in req.pieces)
        copied += sum(len(seq.slots) for seq in req.holders())
    return unique, copied


def bench_kv(model, tok, s: Settings, progress: bool) -> dict[str, Any]:
    """Concurrent parallel requests of mixed shapes; after every step, KV slots in use against unique tokens."""
    batch = prompts(tok, s.kv_requests)
    words = tok.encode(" alpha beta gamma delta", add_special_tokens=False)
    shapes = [[[s.step_words + 3 * i] * (2 ** (i % 4)) for _ in range(1 + i % 2)] for i in range(s.kv_requests)]
    engine = _engine(model, tok, kv_budget=8192)
    trace = {"used": 0, "unique": 0, "copied": 0, "mismatched_steps": 0}

    def on_step(e: Engine) -> None:
        unique, copied = _tokens_with_kv(e)
        used = e.kv.num_used
        trace["mismatched_steps"] += used != unique
        trace["used"], trace["unique"] = max(trace["used"], used), max(trace["unique"], unique)
        trace["copied"] = max(trace["copied"], copied)

    params = SamplingParams(temperature=0, max_tokens=4096)
    trajs, steps = run_requests(engine, [(p, params, "parallel", engine.shape_steer(sh, words=words))
                                         for p, sh in zip(batch, shapes)], on_step)  # fmt: skip
    out = {"kv_peak_slots": trace["used"], "unique_tokens": trace["unique"], "steps": steps,
           "steps_where_slots_differ_from_unique_tokens": trace["mismatched_steps"],
           "peak_slots_if_each_branch_copied_its_prefix": trace["copied"], "requests": len(trajs),
           "shapes": shapes, "slots_in_use_after": engine.kv.num_used}  # fmt: skip
    _log(progress, f"kv: peak {out['kv_peak_slots']} slots, {out['unique_tokens']} unique tokens "
                   f"({out['peak_slots_if_each_branch_copied_its_prefix']} if copied)")  # fmt: skip
    return out


def parity(model, trajs: list[Trajectory], tags: TagIds) -> float:
    """Largest |engine log-prob - HF log-prob| over the response tokens, HF run with the topology's mask."""
    worst = 0.0
    dev = next(model.parameters()).device
    for traj in trajs:
        lay = layout(traj.token_ids, tags, traj.prompt_len, parallel=traj.mode == "parallel")
        with torch.inference_mode():
            ref = lay.token_logprobs(model(**lay.attention_inputs("bool", device=dev)).logits[0]).cpu()
        for i in range(traj.prompt_len, len(traj.token_ids)):
            worst = max(worst, abs(traj.logprobs[i] - float(ref[i])))
    return worst


# ---- the whole run ----------------------------------------------------------------------------------------------


def run_engine_bench(model_path: str | None, tiny: bool, quick: bool = False, progress: bool = True) -> dict:
    """Run every benchmark on one model and return one JSON-ready dict (the keys are listed in the module doc).

    Args:
        model_path: an HF model folder (Llama family); ignored when ``tiny``.
        tiny: use a tiny random Llama with a self-contained byte-level tokenizer instead (no files, no network).
        quick: fewer tokens, shapes and repeats: a smoke run whose figures are not meant to be quoted.
        progress: one line per measurement on stderr.
    """
    from transformers.utils import logging as hf_logging

    s = QUICK if quick else TINY if tiny else FULL
    device = "cuda" if torch.cuda.is_available() else "cpu"
    t0, load_before, others = time.perf_counter(), os.getloadavg(), OtherLoad()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # generate()'s advice on generation flags is noise here
    try:
        model, tok, name = load_model(model_path, tiny, device)
        _log(progress, f"{name} on {device}, {'quick' if quick else 'full'} settings")
        with torch.inference_mode():
            decode = bench_decode(model, tok, s, device, progress)
            par, trajs = bench_parallel(model, tok, s, device, progress)
            conc, base = bench_concurrency(model, tok, s, device, progress)
            kv = bench_kv(model, tok, s, progress)
        diff = parity(model, trajs, TagIds.from_tokenizer(tok))
    finally:
        hf_logging.set_verbosity(verbosity)
    _log(progress, f"parity: max |log-prob diff| {diff:.2e}")
    k4 = next((p for p in par if p["branches"] == 4), None)
    c32 = next((c for c in conc if c["requests"] == 32), None)
    targets = {  # None: this run did not measure it (--quick)
        "decode_batch1_ge_1x": decode["batch1"]["speedup"] >= 1.0 if "batch1" in decode else None,
        "decode_batch16_ge_1x": decode["batch16"]["speedup"] >= 1.0 if "batch16" in decode else None,
        "parallel_k4_ge_0.8_of_ideal": k4["fraction_of_ideal"] >= 0.8 if k4 else None,
        "concurrency_32_ge_5x": c32["throughput_vs_hf_one_by_one"] >= 5.0 if c32 else None,
        "kv_peak_equals_unique_tokens": kv["kv_peak_slots"] == kv["unique_tokens"],
    }
    return {
        "model": name,  # the required keys first
        "device": device,
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "parity_max_abs_logprob_diff": diff,
        "kv_peak_slots": kv["kv_peak_slots"],
        "unique_tokens": kv["unique_tokens"],
        "decode_speedup_vs_hf": {k: v["speedup"] for k, v in decode.items()},
        "parallel": par,
        "concurrency": conc,
        "targets_met": targets,
        "decode": decode,
        "concurrency_baseline": base,
        "kv": kv,
        "settings": asdict(s),
        "machine": {**machine_info(), "loadavg_at_start": load_before, "other_busy_cores": others.cores()},
        "elapsed_s": time.perf_counter() - t0,
    }


def summary(result: dict) -> str:
    """A few human-readable lines of a :func:`run_engine_bench` result."""
    d = result["decode_speedup_vs_hf"]
    lines = [f"{result['model']} on {result['device']} ({result['machine']['cpu']}), {result['dtype']}",
             "decode vs generate: " + ", ".join(f"{k} {v:.2f}x" for k, v in d.items())]  # fmt: skip
    for p in result["parallel"]:
        lines.append(f"parallel k={p['branches']}: {p['measured_speedup']:.2f}x of ideal {p['ideal_speedup']:.2f}x "
                     f"({p['fraction_of_ideal']:.2f})")  # fmt: skip
    conc = ", ".join(f"{c['requests']}: {c['throughput_vs_hf_one_by_one']:.2f}x" for c in result["concurrency"])
    lines.append(f"concurrency vs generate one by one: {conc}")
    lines.append(f"KV peak {result['kv_peak_slots']} slots for {result['unique_tokens']} unique tokens; "
                 f"parity max |diff| {result['parity_max_abs_logprob_diff']:.2e}")
    verdict = {True: "met", False: "MISSED", None: "not measured"}
    lines.append("targets: " + ", ".join(f"{k} {verdict[v]}" for k, v in result["targets_met"].items()))
    return "\n".join(lines)
