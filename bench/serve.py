"""Load on `npr serve`: requests/s and latency percentiles at 1, 8 and 32 concurrent clients.

The server runs as its own process (`npr serve`), and the clients are threads of this one, sending OpenAI chat
requests over loopback HTTP back to back. Both share this machine's cores, which the JSON records.

    .venv/bin/python bench/serve.py --model out/demo/rl/model --instruction "answer in parallel blocks"
    .venv/bin/python bench/serve.py --model .cache/models/smollm2-135m-instruct --mode sequential --instruction plain

Writes bench/results/serve-<model>-<date>.json. The questions are the held-out four-part problems of the toy world
(toy-products-4), which the toy models answer in parallel blocks; any model can be asked them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import requests
from results_file import RESULTS, write

from npr.engine.bench_machine import OtherLoad, machine_info
from npr.eval.toy import heldout_items


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 300.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"npr serve exited with status {proc.returncode}")
        try:
            if requests.get(url + "/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit("npr serve did not become ready")


def level(url: str, questions: list[str], clients: int, total: int, body: dict) -> dict:
    """``total`` requests from ``clients`` threads, each sending its next request when the last one returns."""
    lock = threading.Lock()
    state = {"next": 0}
    latencies, tokens, critical, errors = [], [], [], []

    def client() -> None:
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= total:
                return
            q = questions[i % len(questions)]
            t0 = time.perf_counter()
            r = requests.post(url + "/v1/chat/completions", timeout=600,
                              json={**body, "messages": [{"role": "user", "content": q}], "seed": i})  # fmt: skip
            dt = time.perf_counter() - t0
            if r.status_code != 200:
                errors.append(r.text[:200])
                continue
            u = r.json()["usage"]
            with lock:
                latencies.append(dt)
                tokens.append(u["completion_tokens"])
                critical.append(u["critical_path_tokens"])

    load = OtherLoad()  # the server process is among the "others": this is its CPU use plus any noise
    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    if not lat:
        raise SystemExit(f"every request at {clients} clients failed: {errors[:3]}")

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))]

    return {
        "clients": clients, "requests": len(lat), "errors": len(errors), "wall_s": round(wall, 3),
        "requests_per_s": round(len(lat) / wall, 3), "p50_s": round(pct(0.5), 4), "p99_s": round(pct(0.99), 4),
        "mean_s": round(statistics.mean(lat), 4), "completion_tokens_per_s": round(sum(tokens) / wall, 1),
        "mean_completion_tokens": round(statistics.mean(tokens), 1),
        "mean_critical_path_tokens": round(statistics.mean(critical), 1),
        "cores_busy_outside_clients": load.cores(), "first_errors": errors[:3],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model folder to serve")
    parser.add_argument("--name", default=None, help="name in the results file (default: the folder's name)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--requests", type=int, default=None, help="requests per level (default: max(32, 4 x clients))")
    parser.add_argument("--max-tokens", type=int, default=160, help="critical-path budget of each request")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--mode", default="parallel", choices=["parallel", "sequential"])
    parser.add_argument("--instruction", default="npr", help="passed to npr serve --instruction")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--results", default=str(RESULTS), help=f"output folder for the JSON (default: {RESULTS})")
    args = parser.parse_args()

    questions = [it.question for it in heldout_items("products", parts=(4,))]
    url = f"http://127.0.0.1:{args.port}"
    cmd = [sys.executable, "-m", "npr.cli", "serve", "--model", args.model, "--port", str(args.port),
           "--instruction", args.instruction, "--log-level", "warning", "--max-n", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd)
    try:
        wait_ready(url, proc)
        body = {"max_tokens": args.max_tokens, "temperature": args.temperature, "npr": {"mode": args.mode}}
        requests.post(url + "/v1/chat/completions", json={**body, "messages": [{"role": "user", "content": questions[0]}]},
                      timeout=600)  # fmt: skip  # warm-up
        levels = []
        for c in args.clients:
            n = args.requests or max(32, 4 * c)
            levels.append(level(url, questions, c, n, body))
            print(json.dumps(levels[-1]), flush=True)
        metrics = requests.get(url + "/metrics", timeout=10).text
    finally:
        proc.terminate()
        proc.wait(30)
    preempt = [ln for ln in metrics.splitlines() if ln.startswith("npr:num_preemptions_total")]
    result = {
        "model": args.name or Path(args.model).name, "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(), "mode": args.mode, "max_tokens": args.max_tokens, "temperature": args.temperature,
        "questions": "toy-products-4 held-out", "levels": levels,
        "preemptions": float(preempt[0].split()[-1]) if preempt else None,
    }  # fmt: skip
    print(write("serve", result, args.results))


if __name__ == "__main__":
    main()
