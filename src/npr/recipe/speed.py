"""The wall-clock check of a model: the same answers decoded sequentially and in parallel, one request at a time.

A model trained for parallel decoding writes other (often broken) answers when decoded sequentially, so timing two
free runs would compare different work. Here each problem is answered once, in parallel mode (sampled, seeded),
and that one response is then decoded again through the engine in each mode with :meth:`npr.engine.Engine.replay`:
every token a real decode step, through real forks and joins in parallel mode, causally in sequential mode. The
ratio of the two times is the wall-clock speedup of native parallel decoding on identical tokens, at batch 1,
where it is a latency and not a throughput. ``speed.json`` keeps every problem's figures; a finished file is reused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def measure_speed(model: str, benchmarks: Sequence[str], out: str | Path, *, limit: int, seed: int = 0,
                  temperature: float = 1.0, top_p: float = 1.0, max_tokens: int = 2048, max_branches: int = 8,
                  kv_budget: int = 65536, dtype: str = "float32", device: str | None = None,
                  progress: bool = True) -> dict[str, Any]:  # fmt: skip
    """Time sequential against parallel decoding of the same responses; returns (and writes) ``speed.json``."""
    from npr.engine import SamplingParams
    from npr.eval.benchmarks import instructions_for
    from npr.eval.specs import resolve
    from npr.eval.runner import sample_seed
    from npr.recipe.distill import load_engine
    from npr.tokens import encode_prompt

    path = Path(out) / "speed.json"
    if path.is_file():
        return json.loads(path.read_text())
    engine = load_engine(model, kv_budget, dtype=dtype, device=device, prefix_cache=False)
    work = []
    for spec in benchmarks:
        name, _, items = resolve(spec, limit=limit)
        instruction = (instructions_for(spec) or {}).get("npr")
        work += [(name, item, encode_prompt(engine.tokenizer, item.question, instruction=instruction)) for item in items]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(work), desc="speed", unit="problem", dynamic_ncols=True)
    engine.replay(work[0][2], engine.tokenizer.encode("1", add_special_tokens=False), "sequential")  # warm-up
    rows = []
    for name, item, prompt in work:
        params = SamplingParams(seed=sample_seed(seed, "speed", f"{name}/{item.id}", 0), temperature=temperature,
                                top_p=top_p, max_tokens=max_tokens, max_branches=max_branches)  # fmt: skip
        [traj] = engine.generate([prompt], params, mode="parallel")
        response = traj.response_ids
        times = {}
        for mode in ("sequential", "parallel"):
            t0 = time.perf_counter()
            engine.replay(prompt, response, mode, sampled=traj.sampled[traj.prompt_len :])
            times[mode] = time.perf_counter() - t0
        rows.append({"benchmark": name, "item_id": item.id, "tokens": traj.stats["total_tokens"],
                     "critical_path_tokens": traj.stats["critical_path_tokens"], "forks": traj.stats["forks"],
                     "seconds": times})  # fmt: skip
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    seq = sum(r["seconds"]["sequential"] for r in rows)
    par = sum(r["seconds"]["parallel"] for r in rows)
    tokens = sum(r["tokens"] for r in rows)
    crit = sum(r["critical_path_tokens"] for r in rows)
    result = {
        "model": model, "benchmarks": list(benchmarks), "problems": len(rows),
        "seconds_sequential": seq, "seconds_parallel": par, "measured_speedup": seq / par if par else None,
        "ideal_speedup": tokens / crit if crit else None, "rows": rows,
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(path)
    return result
