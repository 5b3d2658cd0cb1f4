"""Many clients share one engine loop; a client that leaves frees its KV; a failing engine ends streams cleanly;
/metrics is Prometheus text."""

from __future__ import annotations

import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import requests
from prometheus_client.parser import text_string_to_metric_families

from npr.engine import Engine, EngineConfig
from npr.serve import BackgroundServer, ServeConfig, build
from tests.serve.conftest import sse, wait_ready

Q = [{"role": "user", "content": "Say something."}]


def metric(live, name, **labels):
    for fam in text_string_to_metric_families(requests.get(live.url + "/metrics", timeout=10).text):
        for s in fam.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return 0.0


def test_fifty_concurrent_requests_are_all_answered_and_leave_the_kv_empty(random_server, auth):
    before = metric(random_server, "npr:request_success_total")

    def one(i):
        body = {"messages": [{"role": "user", "content": f"Question {i}"}], "max_tokens": 12, "seed": i,
                "stream": i % 2 == 0}  # fmt: skip
        r = requests.post(random_server.url + "/v1/chat/completions", json=body, headers=auth, timeout=300)
        assert r.status_code == 200, r.text
        if i % 2 == 0:
            chunks = sse(r)
            assert chunks[-1] == "[DONE]"
            return [c for c in chunks[:-1] if c["choices"][0]["finish_reason"]][0]["choices"][0]["finish_reason"]
        return r.json()["choices"][0]["finish_reason"]

    with ThreadPoolExecutor(50) as pool:
        reasons = list(pool.map(one, range(50)))
    assert len(reasons) == 50 and set(reasons) <= {"stop", "length"}
    assert metric(random_server, "npr:request_success_total") - before == 50
    assert random_server.engine_state() == (0, 0)


def test_the_same_seed_gives_the_same_answer_alone_or_in_a_crowd(random_server, auth):
    body = {"messages": Q, "max_tokens": 16, "seed": 77}
    alone = requests.post(random_server.url + "/v1/chat/completions", json=body, headers=auth, timeout=60).json()
    with ThreadPoolExecutor(8) as pool:
        crowd = list(pool.map(lambda b: requests.post(random_server.url + "/v1/chat/completions", json=b, headers=auth,
                                                      timeout=120).json(),
                              [body] + [{**body, "seed": s} for s in range(7)]))  # fmt: skip
    assert crowd[0]["choices"][0]["message"] == alone["choices"][0]["message"]


def _open_stream(live, auth, body):
    u = urlparse(live.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {**auth, "Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    return conn, resp


def _wait_idle(live, timeout=60.0):
    end = time.monotonic() + timeout
    while live.loop.in_flight and time.monotonic() < end:
        time.sleep(0.05)
    return live.engine_state()


def test_a_client_that_disconnects_mid_stream_aborts_its_request_and_frees_the_kv(random_server, auth):
    aborted = metric(random_server, "npr:request_success_total", finished_reason="aborted")
    # A budget of hundreds of steps: the request is still decoding when the client leaves.
    body = {"messages": Q, "stream": True, "max_tokens": 500, "seed": 5}
    conn, resp = _open_stream(random_server, auth, body)
    for _ in range(5):
        assert resp.readline()  # a few chunks arrive: the request is decoding
    assert random_server.loop.in_flight == 1
    conn.sock.shutdown(2)
    conn.close()
    assert _wait_idle(random_server) == (0, 0)
    assert metric(random_server, "npr:request_success_total", finished_reason="aborted") == aborted + 1


def test_a_client_that_disconnects_while_waiting_for_a_whole_answer_aborts_too(random_server, auth):
    aborted = metric(random_server, "npr:request_success_total", finished_reason="aborted")
    body = {"messages": Q, "max_tokens": 500, "seed": 6}
    u = urlparse(random_server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {**auth, "Content-Type": "application/json"})
    end = time.monotonic() + 30
    while random_server.loop.in_flight == 0 and time.monotonic() < end:
        time.sleep(0.02)
    conn.sock.shutdown(2)
    conn.close()
    assert _wait_idle(random_server) == (0, 0)
    assert metric(random_server, "npr:request_success_total", finished_reason="aborted") == aborted + 1


def test_metrics_parse_as_prometheus_text_with_vllm_names(random_server, auth):
    requests.post(random_server.url + "/v1/chat/completions", json={"messages": Q, "max_tokens": 4}, headers=auth,
                  timeout=60)  # fmt: skip
    r = requests.get(random_server.url + "/metrics", timeout=10)
    assert r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    for name in ("npr:num_requests_running", "npr:num_requests_waiting", "npr:kv_cache_usage_perc",
                 "npr:prompt_tokens", "npr:generation_tokens", "npr:forks", "npr:branches", "npr:request_success",
                 "npr:e2e_request_latency_seconds", "npr:time_to_first_token_seconds"):  # fmt: skip
        assert name in families, name
    assert metric(random_server, "npr:prompt_tokens_total", model_name="tiny-random") > 0
    assert metric(random_server, "npr:generation_tokens_total") > 0
    assert 0 <= metric(random_server, "npr:kv_cache_usage_perc") <= 1


class FailingEngine(Engine):
    """A real engine whose forward breaks after a few steps (a device fault, say)."""

    steps = 0

    def step(self):
        FailingEngine.steps += 1
        if FailingEngine.steps > 6:
            raise RuntimeError("device lost")
        return super().step()


def test_an_engine_that_fails_mid_stream_ends_the_stream_with_an_error_chunk(npr_tokenizer, tiny_qwen3):
    model = tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa")
    app, loop = build(lambda: FailingEngine(model, npr_tokenizer, EngineConfig(kv_budget=2048)),
                      ServeConfig(model_name="failing"))  # fmt: skip
    with BackgroundServer(app) as url:
        wait_ready(url)
        r = requests.post(url + "/v1/chat/completions", json={"messages": Q, "stream": True, "max_tokens": 100},
                          timeout=60)  # fmt: skip
        chunks = sse(r)
        assert "device lost" in chunks[-1]["error"]["message"] and chunks[-1]["error"]["type"] == "server_error"
        assert requests.get(url + "/health", timeout=10).status_code == 503
        late = requests.post(url + "/v1/chat/completions", json={"messages": Q}, timeout=10)
        assert late.status_code == 503 and "device lost" in late.json()["error"]["message"]


def test_preempted_requests_stream_every_token_once(npr_tokenizer, tiny_qwen3):
    """A KV budget far too small for the load preempts requests, which restart from their prompts; their streams
    still equal what each request gives alone."""
    model = tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa")
    app, loop = build(lambda: Engine(model, npr_tokenizer, EngineConfig(kv_budget=700, prefix_cache=False)),
                      ServeConfig(model_name="tight"))  # fmt: skip
    with BackgroundServer(app) as url:
        wait_ready(url)

        def body(i, stream):
            return {"prompt": [100 + i] * 150, "max_tokens": 120, "seed": i, "stream": stream, "logprobs": 0}

        alone = [requests.post(url + "/v1/completions", json=body(i, False), timeout=120).json() for i in range(6)]

        def streamed(i):
            chunks = sse(requests.post(url + "/v1/completions", json=body(i, True), timeout=300))
            assert chunks[-1] == "[DONE]"
            return chunks[:-1]

        with ThreadPoolExecutor(6) as pool:
            crowd = list(pool.map(streamed, range(6)))
        preempted = sum(s.value for f in text_string_to_metric_families(requests.get(url + "/metrics").text)
                        for s in f.samples if s.name == "npr:num_preemptions_total")  # fmt: skip
        assert preempted > 0, "the load did not preempt anything: the test would prove nothing"
        for one, chunks in zip(alone, crowd):
            text = "".join(c["choices"][0]["text"] for c in chunks)
            tokens = [t for c in chunks for t in c["choices"][0]["logprobs"]["tokens"]]
            assert text == one["choices"][0]["text"]
            assert tokens == one["choices"][0]["logprobs"]["tokens"]
