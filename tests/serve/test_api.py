"""The OpenAI-compatible API against a live server: chat and text completions, streaming and not, the reasoning
fields, the ``npr`` tree, usage, models and health."""

from __future__ import annotations

import requests

from tests.serve.conftest import STEPS, sse

QUESTION = [{"role": "user", "content": "What is 27 + 15?"}]


def chat(url, headers=None, **body):
    return requests.post(url + "/v1/chat/completions", json={"messages": QUESTION, **body}, headers=headers, timeout=120)


def test_chat_returns_the_blocks_as_reasoning_and_the_conclusion_as_content(steered):
    r = chat(steered.url, seed=3)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == "tiny-steered"
    [choice] = body["choices"]
    msg = choice["message"]
    assert msg["role"] == "assistant"
    assert msg["content"] == "So 27 + 15 = \\boxed{42}."
    assert msg["reasoning"] == msg["reasoning_content"]
    # canonical order: guideline, step 1, step 2, step 3, takeaway - never interleaved
    reasoning = msg["reasoning"]
    assert reasoning.startswith("<guideline>") and reasoning.endswith("</takeaway>")
    positions = [reasoning.index(s.strip()) for s in STEPS]
    assert positions == sorted(positions)
    assert "<|im_end|>" not in msg["content"] + reasoning
    assert choice["finish_reason"] == "stop"

    tree = choice["npr"]["tree"]
    [block] = tree["blocks"]
    assert [p["text"] for p in block["plans"]] == ["Add the tens.", "Add the ones.", "Check the sum."]
    assert [b["text"] for b in block["branches"]] == [f"{i + 1}: {s.strip()}" for i, s in enumerate(STEPS)]
    assert all(b["closed"] and b["tokens"] > 0 for b in block["branches"])
    assert block["takeaway"]["text"] == "The parts give 30 + 12 = 42."
    assert tree["answer"] == "42" and tree["mode"] == "parallel" and tree["finish_reason"] == "stop"
    st = tree["stats"]
    assert st["forks"] == 1 and st["branches_per_block"] == [3]
    assert st["critical_path_tokens"] < st["total_tokens"]
    assert st["ideal_speedup"] == round(st["total_tokens"] / st["critical_path_tokens"], 4)

    usage = body["usage"]
    assert usage["completion_tokens"] == st["total_tokens"]  # every branch counted
    assert usage["critical_path_tokens"] == st["critical_path_tokens"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # everything but the conclusion (and the EOS) is reasoning
    assert 0 < usage["completion_tokens"] - usage["completion_tokens_details"]["reasoning_tokens"] < 20


def test_streamed_chat_adds_up_to_the_same_message_and_reports_forks_and_joins(steered):
    whole = chat(steered.url, seed=3).json()["choices"][0]
    r = chat(steered.url, seed=3, stream=True, stream_options={"include_usage": True})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    chunks = sse(r)
    assert chunks[-1] == "[DONE]"
    *chunks, usage_chunk = chunks[:-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] > 0
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    reasoning = "".join(c["choices"][0]["delta"].get("reasoning_content", "") for c in chunks)
    reasoning2 = "".join(c["choices"][0]["delta"].get("reasoning", "") for c in chunks)
    content = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert reasoning == reasoning2 == whole["message"]["reasoning_content"]
    assert content == whole["message"]["content"]
    events = [e for c in chunks for e in c["choices"][0].get("npr", {}).get("events", [])]
    assert [{k: v for k, v in e.items() if k != "at"} for e in events] == [
        {"type": "fork", "block": 0, "branches": 3}, {"type": "join", "block": 0}]
    # in arrival order, with each event where it happened: the fork after </guideline>, the join before <takeaway>
    order = []
    for c in chunks:
        npr = c["choices"][0].get("npr", {})
        evs = list(npr.get("events", []))
        for k, t in enumerate(npr.get("tokens", [])):
            while evs and evs[0]["at"] <= k:
                order.append(evs.pop(0)["type"])
            order.append(t["text"])
        order += [e["type"] for e in evs]
    fork, join = order.index("fork"), order.index("join")
    assert order[fork - 1] == "</guideline>" and "<takeaway>" in order[join + 1 : join + 4]
    tokens = [t for c in chunks for t in c["choices"][0].get("npr", {}).get("tokens", [])]
    assert {t["branch"] for t in tokens} == {None, 0, 1, 2}
    assert len(tokens) == usage_chunk["usage"]["completion_tokens"]
    finals = [c for c in chunks if c["choices"][0]["finish_reason"] is not None]
    assert len(finals) == 1 and finals[0]["choices"][0]["npr"]["tree"] == whole["npr"]["tree"]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)


def test_text_completions_return_everything_as_text(steered):
    r = requests.post(steered.url + "/v1/completions", json={"prompt": "27 + 15 =", "max_tokens": 200}, timeout=60)
    assert r.status_code == 200, r.text
    [choice] = r.json()["choices"]
    assert choice["text"].startswith("<guideline>") and choice["text"].endswith("\\boxed{42}.")
    assert choice["npr"]["tree"]["answer"] == "42"
    s = requests.post(steered.url + "/v1/completions", json={"prompt": "27 + 15 =", "max_tokens": 200, "stream": True},
                      timeout=60)  # fmt: skip
    chunks = sse(s)
    assert chunks[-1] == "[DONE]"
    assert "".join(c["choices"][0]["text"] for c in chunks[:-1]) == choice["text"]


def test_token_id_prompts_and_logprobs(steered):
    ids = requests.post(steered.url + "/v1/completions", json={"prompt": [1, 2, 3], "max_tokens": 50, "logprobs": 0},
                        timeout=60).json()  # fmt: skip
    lp = ids["choices"][0]["logprobs"]
    assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["text_offset"]) > 0
    c = chat(steered.url, logprobs=True).json()["choices"][0]
    entries = c["logprobs"]["content"]
    assert entries and all(e["logprob"] is None or e["logprob"] <= 0 for e in entries)
    assert "".join(e["token"] for e in entries).replace("\n", "") .startswith("<guideline>")


def test_n_choices_each_with_its_tree_and_the_budget_bounds_the_critical_path(steered):
    body = chat(steered.url, n=3, seed=11).json()
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]
    assert all(c["npr"]["tree"]["answer"] == "42" for c in body["choices"])
    short = chat(steered.url, max_tokens=40).json()["choices"][0]
    assert short["finish_reason"] == "length"
    assert short["npr"]["tree"]["stats"]["critical_path_tokens"] <= 40


def test_sequential_mode_and_reasoning_in_content(steered):
    seq = chat(steered.url, npr={"mode": "sequential"}, max_tokens=60).json()["choices"][0]
    assert seq["npr"]["tree"]["mode"] == "sequential" and seq["npr"]["tree"]["stats"]["forks"] == 0
    inline = chat(steered.url, npr={"reasoning_in_content": True}).json()["choices"][0]["message"]
    assert inline["reasoning"] is None and inline["reasoning_content"] is None
    assert inline["content"].startswith("<guideline>") and inline["content"].endswith("\\boxed{42}.")


def test_stop_strings_end_the_content(steered):
    msg = chat(steered.url, stop=["\\boxed"]).json()["choices"][0]
    assert msg["message"]["content"] == "So 27 + 15 ="
    assert msg["finish_reason"] == "stop" and msg["npr"]["finish_reason"] == "stop_string"


def test_models_and_health(steered):
    models = requests.get(steered.url + "/v1/models", timeout=10).json()
    assert models["object"] == "list" and models["data"][0]["id"] == "tiny-steered"
    health = requests.get(steered.url + "/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_health_is_503_while_loading_and_when_the_model_cannot_load():
    import threading

    from npr.serve import BackgroundServer, ServeConfig, build

    gate = threading.Event()

    def slow_then_broken():
        gate.wait(30)
        raise OSError("no weights in /nowhere")

    app, loop = build(slow_then_broken, ServeConfig(model_name="broken"))
    with BackgroundServer(app) as url:
        loading = requests.get(url + "/health", timeout=10)
        assert loading.status_code == 503 and loading.json()["status"] == "loading"
        busy = requests.post(url + "/v1/chat/completions", json={"messages": QUESTION}, timeout=10)
        assert busy.status_code == 503 and busy.json()["error"]["code"] == "unavailable"
        gate.set()
        loop._thread.join(10)
        dead = requests.get(url + "/health", timeout=10)
        assert dead.status_code == 503 and dead.json()["status"] == "dead"
        assert "no weights in /nowhere" in dead.json()["error"]
