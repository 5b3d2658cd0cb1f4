"""Edge cases of the wire: text completions keep every character, nothing after a stop string leaks, nulls mean
defaults, chunked bodies are counted, the viewer's upload is behind the key, a chat template that refuses the turns
is a 400, and a request queued after the engine died, or whose rerun after a preemption differs, is answered."""

from __future__ import annotations

import asyncio
import copy

import requests

from npr.engine import Engine, EngineConfig, SamplingParams
from npr.serve import BackgroundServer, EngineLoop, Metrics, ServeConfig, build
from npr.serve.loop import Handle
from tests.serve.conftest import wait_ready

Q = [{"role": "user", "content": "Say something."}]


def test_text_completions_keep_whitespace_and_their_offsets_match(random_server, auth):
    for seed in range(4):
        body = {"prompt": "Once upon a time", "max_tokens": 24, "seed": seed, "logprobs": 0}
        choice = requests.post(random_server.url + "/v1/completions", json=body, headers=auth, timeout=60).json()[
            "choices"][0]
        lp = choice["logprobs"]
        text = choice["text"]
        assert text == "".join(lp["tokens"])  # every character kept (an EOS adds no text)
        assert all(text[o:].startswith(t) for o, t in zip(lp["text_offset"], lp["tokens"]))


def test_nothing_after_a_stop_string_reaches_the_client(steered):
    r = requests.post(steered.url + "/v1/chat/completions", json={"messages": Q, "stop": ["\\boxed"], "logprobs": True,
                                                                    "stream": True}, timeout=60)  # fmt: skip
    import json

    chunks = [json.loads(x[6:]) for x in r.text.split("\n\n") if x.startswith("data: {")]
    tokens = [t["text"] for c in chunks for t in c["choices"][0].get("npr", {}).get("tokens", [])]
    logprobs = [e["token"] for c in chunks for e in (c["choices"][0]["logprobs"] or {}).get("content", [])]
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert content == "So 27 + 15 ="
    assert "42" not in "".join(tokens[-3:]) and "boxed" not in "".join(logprobs)


def test_nulls_mean_defaults(random_server, auth):
    body = {"messages": Q, "temperature": None, "top_p": None, "n": None, "seed": None, "stop": None,
            "max_tokens": 4, "logprobs": None, "stream_options": None, "npr": None}  # fmt: skip
    r = requests.post(random_server.url + "/v1/chat/completions", json=body, headers=auth, timeout=60)
    assert r.status_code == 200, r.text
    r = requests.post(random_server.url + "/v1/chat/completions", json={**body, "messages": None}, headers=auth)
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"


def test_a_chunked_body_over_the_limit_is_413(random_server, auth):
    def body():
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"a" * (1 << 20)
        yield b'"}]}'

    r = requests.post(random_server.url + "/v1/chat/completions", data=body(),
                      headers={**auth, "Content-Type": "application/json"}, timeout=60)  # fmt: skip
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_the_viewer_upload_is_behind_the_key(random_server, auth):
    line = b'{"response": "\\\\boxed{1}"}\n'
    assert requests.post(random_server.url + "/npr/trees", data=line, timeout=10).status_code == 401
    ok = requests.post(random_server.url + "/npr/trees", data=line, headers=auth, timeout=10)
    assert ok.status_code == 200 and ok.json()["items"][0]["tree"]["answer"] == "1"
    assert requests.get(random_server.url + "/npr/info", timeout=10).json()["auth"] is True
    bad = b'{"response": "x", "stats": []}\n{"trajectory": {"token_ids": [1e30]}, "response": 5}\n'
    out = requests.post(random_server.url + "/npr/trees", data=bad, headers=auth, timeout=10)
    assert out.status_code == 200 and len(out.json()["problems"]) == 1


def test_a_chat_template_that_refuses_the_turns_is_a_400(npr_tokenizer, tiny_qwen3):
    tok = copy.deepcopy(npr_tokenizer)
    tok.chat_template = ("{% if messages|length > 1 %}{{ raise_exception('roles must alternate') }}{% endif %}"
                         "{% for m in messages %}{{ m['content'] }}{% endfor %}")  # fmt: skip
    model = tiny_qwen3(len(tok), attn_implementation="sdpa")
    app, _ = build(lambda: Engine(model, tok, EngineConfig(kv_budget=2048)), ServeConfig(model_name="strict"))
    with BackgroundServer(app) as url:
        wait_ready(url)
        turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]
        r = requests.post(url + "/v1/chat/completions", json={"messages": turns}, timeout=30)
        assert r.status_code == 400 and "roles must alternate" in r.json()["error"]["message"]


def test_a_request_queued_after_the_engine_died_is_answered():
    def broken():
        raise OSError("gone")

    loop = EngineLoop(broken, Metrics("x"))
    loop.start()
    loop._thread.join(10)
    assert loop.state == "dead"

    async def ask():
        q: asyncio.Queue = asyncio.Queue()
        loop.submit(Handle(0, q, asyncio.get_running_loop(), [1, 2], SamplingParams(), "parallel"))
        return await asyncio.wait_for(q.get(), 10)

    tag, kind, (status, message) = asyncio.run(ask())
    assert kind == "error" and status == 503 and "gone" in message
    assert "gone" in str(loop.call(lambda e: None).exception(timeout=10))


class Unreproducible(Engine):
    """After a preemption, the rerun of a request writes other tokens (as rounding can make a GPU rerun do)."""

    def step(self):
        events = super().step()
        for e in events:
            if e.kind == "restart":
                self.restarted = getattr(self, "restarted", set()) | {e.request_id}
            elif e.kind == "token" and e.request_id in getattr(self, "restarted", ()):
                e.token_id = (e.token_id + 1) % 100 + 200
        return events


def test_a_rerun_that_differs_ends_the_choice_with_an_error(npr_tokenizer, tiny_qwen3):
    model = tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa")
    app, loop = build(lambda: Unreproducible(model, npr_tokenizer, EngineConfig(kv_budget=700, prefix_cache=False)),
                      ServeConfig(model_name="flaky"))  # fmt: skip
    with BackgroundServer(app) as url:
        wait_ready(url)
        from concurrent.futures import ThreadPoolExecutor

        def one(i):
            return requests.post(url + "/v1/completions", json={"prompt": [100 + i] * 150, "max_tokens": 120, "seed": i},
                                 timeout=300)  # fmt: skip

        with ThreadPoolExecutor(6) as pool:
            out = list(pool.map(one, range(6)))
        errors = [r for r in out if r.status_code != 200]
        assert errors, "nothing was preempted: the test proves nothing"
        assert all(r.status_code == 500 and "did not reproduce" in r.json()["error"]["message"] for r in errors)
        assert loop.in_flight == 0
