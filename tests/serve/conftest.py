"""Live servers for the API tests: uvicorn on a free loopback port, on a thread, over a tiny real model.

Two engines, both the real :class:`~npr.engine.Engine` over a tiny random Qwen3 with the real Qwen3 tokenizer:

* ``steered`` - every parallel request writes one fixed three-branch answer. The model's sampler is replaced by a
  steer (the engine's own hook for benchmarks) because a random model never writes the format; forks, joins,
  forced headers, budgets and log-probs stay the engine's.
* ``random`` - the random model samples freely (noise, but real tokens at real speed), behind an API key.
"""

from __future__ import annotations

import time

import pytest
import requests

from npr.engine import Engine, EngineConfig
from npr.serve import BackgroundServer, ServeConfig, build

KEY = "test-key-0123456789"
GUIDELINE = "<guideline>\n<plan>1: Add the tens.</plan>\n<plan>2: Add the ones.</plan>\n<plan>3: Check the sum.</plan>\n</guideline>"
STEPS = [" 20 + 10 = 30.\n", " 7 + 5 = 12.\n", " 27 + 15 = 42, which is 30 + 12.\n"]
AFTER = "\nThe parts give 30 + 12 = 42.\n</takeaway>\nSo 27 + 15 = \\boxed{42}."


class TextSteer:
    """Writes GUIDELINE, the STEPS (one per branch, after the engine's forced header), then AFTER and EOS."""

    def __init__(self, engine: Engine):
        tok = engine.tokenizer
        shape = engine.shape_steer([[1]])
        self.eos, self.tags = shape.eos, engine.tags
        self.header_len, self.join_len = shape.step_header_len, shape.join_header_len
        enc = lambda s: [int(t) for t in tok.encode(s, add_special_tokens=False)]  # noqa: E731
        self.trunk = [enc(GUIDELINE), enc(AFTER) + [self.eos]]
        self.steps = [enc(s) + [self.tags.step_close] for s in STEPS]

    def __call__(self, role, block, branch, tokens):
        if role == "trunk":
            script = self.trunk[block] if block < len(self.trunk) else [self.eos]
            n = len(tokens) - (self.join_len if block > 0 else 0)
            return script[n] if n < len(script) else self.eos
        n = len(tokens) - self.header_len(branch)
        s = self.steps[branch]
        return s[n] if n < len(s) else self.tags.step_close


class SteeredEngine(Engine):
    def submit(self, prompt, params=None, mode="parallel", request_id=None, *, steer=None, _script=None):
        return super().submit(prompt, params, mode, request_id, steer=TextSteer(self), _script=_script)


def wait_ready(url: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while requests.get(url + "/health", timeout=5).status_code != 200:
        if time.monotonic() > end:
            raise RuntimeError("the server did not become ready")
        time.sleep(0.05)


class Live:
    """A running server: its URL, its engine loop (to look inside the engine between steps) and its config."""

    def __init__(self, url, loop, config):
        self.url, self.loop, self.config = url, loop, config

    def engine_state(self):
        """(requests in the engine, KV slots used after dropping the prefix cache), read on the engine's thread."""

        def read(engine):
            engine.flush_cache()
            return len(engine.scheduler.running) + len(engine.scheduler.waiting), engine.kv.num_used

        return self.loop.call(read).result(timeout=30)


def _serve(engine_factory, config):
    app, loop = build(engine_factory, config)
    server = BackgroundServer(app)
    url = server.start()
    wait_ready(url)
    return server, Live(url, loop, config)


@pytest.fixture(scope="module")
def steered(npr_tokenizer, tiny_qwen3):
    model = tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa")
    config = ServeConfig(model_name="tiny-steered", max_n=4)
    server, live = _serve(lambda: SteeredEngine(model, npr_tokenizer, EngineConfig(kv_budget=8192)), config)
    yield live
    server.stop()


@pytest.fixture(scope="module")
def random_server(npr_tokenizer, tiny_qwen3):
    model = tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa", seed=1)
    config = ServeConfig(model_name="tiny-random", api_key=KEY, max_n=4, default_max_tokens=32)
    server, live = _serve(lambda: Engine(model, npr_tokenizer, EngineConfig(kv_budget=4096)), config)
    yield live
    server.stop()


@pytest.fixture
def auth():
    return {"Authorization": f"Bearer {KEY}"}


def sse(response) -> list[dict | str]:
    """The data lines of a text/event-stream response: parsed JSON, or the raw string ('[DONE]')."""
    import json

    out = []
    for line in response.iter_lines(decode_unicode=True):
        if not line:
            continue
        assert line.startswith("data: "), f"not an SSE data line: {line!r}"
        data = line[6:]
        out.append(data if data == "[DONE]" else json.loads(data))
    return out
