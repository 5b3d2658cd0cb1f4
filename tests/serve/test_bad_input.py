"""Bad requests get a 4xx in OpenAI's error shape, never a 500 or a hung worker; the server answers on afterwards."""

from __future__ import annotations

import pytest
import requests

Q = [{"role": "user", "content": "What is 2 + 2?"}]


def post(live, body, headers, path="/v1/chat/completions", **kw):
    return requests.post(live.url + path, headers=headers, timeout=60, **({"json": body} if body is not None else kw))


def check_error(r, status, code=None, param=None):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"} and err["message"]
    if code is not None:
        assert err["code"] == code, err
    if param is not None:
        assert err["param"] == param, err
    return err


CASES = {
    "unknown field": ({"messages": Q, "max_token": 5}, "extra_forbidden", "max_token"),
    "unknown npr field": ({"messages": Q, "npr": {"mode": "parallel", "branches": 3}}, "extra_forbidden", "npr.branches"),
    "wrong type": ({"messages": Q, "temperature": "hot"}, None, "temperature"),
    "messages not a list": ({"messages": "hi"}, None, "messages"),
    "no messages": ({"messages": []}, None, "messages"),
    "missing messages": ({"temperature": 0}, "missing", "messages"),
    "unknown role": ({"messages": [{"role": "robot", "content": "x"}]}, None, None),
    "last turn not the user's": ({"messages": Q + [{"role": "assistant", "content": "4"}]}, None, None),
    "temperature out of range": ({"messages": Q, "temperature": 5}, None, "temperature"),
    "top_p zero": ({"messages": Q, "top_p": 0}, None, "top_p"),
    "n zero": ({"messages": Q, "n": 0}, None, "n"),
    "max_tokens zero": ({"messages": Q, "max_tokens": 0}, None, "max_tokens"),
    "seed beyond 64 bits": ({"messages": Q, "seed": 2**70}, None, "seed"),
    "disagreeing budgets": ({"messages": Q, "max_tokens": 5, "max_completion_tokens": 6}, None, None),
    "bad mode": ({"messages": Q, "npr": {"mode": "fast"}}, None, "npr.mode"),
    "total budget below the critical path": ({"messages": Q, "max_tokens": 20, "npr": {"max_total_tokens": 5}},
                                             "invalid_value", "npr"),
    "penalty": ({"messages": Q, "presence_penalty": 0.5}, None, "presence_penalty"),
    "top_logprobs": ({"messages": Q, "logprobs": True, "top_logprobs": 3}, None, "top_logprobs"),
    "stream_options without stream": ({"messages": Q, "stream_options": {"include_usage": True}}, None, None),
    "five stop strings": ({"messages": Q, "stop": ["a", "b", "c", "d", "e"]}, None, "stop"),
    "n too large": ({"messages": Q, "n": 5}, "n_too_large", "n"),
    "prompt over the KV budget": ({"messages": [{"role": "user", "content": "word " * 5000}]},
                                  "context_length_exceeded", "messages"),
    "completion beyond the context": ({"messages": Q, "max_tokens": 5000}, "context_length_exceeded", "max_tokens"),
    "lone surrogate": ({"messages": [{"role": "user", "content": "\ud800"}]}, "string_unicode", "messages.0.content"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_chat_requests_get_400(random_server, auth, case):
    body, code, param = CASES[case]
    check_error(post(random_server, body, auth), 400, code, param)


def test_an_unknown_model_is_404(random_server, auth):
    check_error(post(random_server, {"model": "gpt-9", "messages": Q}, auth), 404, "model_not_found", "model")


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b'{"messages": "\xff"}'])
def test_bodies_that_are_not_a_json_object_get_400(random_server, auth, raw):
    r = post(random_server, None, {**auth, "Content-Type": "application/json"}, data=raw)
    check_error(r, 400)


def test_bad_completion_prompts(random_server, auth):
    for body, param in [({"prompt": []}, "prompt"), ({"prompt": [-1]}, "prompt"), ({"prompt": [10**9]}, "prompt"),
                        ({"prompt": ["a", "b"]}, "prompt"), ({"prompt": "x", "echo": True}, "echo")]:  # fmt: skip
        check_error(post(random_server, body, auth, path="/v1/completions"), 400, param=param)


def test_a_body_over_the_limit_is_413(random_server, auth):
    big = b'{"messages": [{"role": "user", "content": "' + b"a" * (9 << 20) + b'"}]}'
    r = requests.post(random_server.url + "/v1/chat/completions", data=big,
                      headers={**auth, "Content-Type": "application/json"}, timeout=60)  # fmt: skip
    check_error(r, 413, "too_large")


def test_unknown_paths_and_methods_keep_the_shape(random_server, auth):
    check_error(requests.get(random_server.url + "/v1/nothing", headers=auth, timeout=10), 404)
    check_error(requests.get(random_server.url + "/v1/chat/completions", headers=auth, timeout=10), 405)


def test_the_api_key_guards_v1_only(random_server):
    body = {"messages": Q, "max_tokens": 4}
    check_error(post(random_server, body, None), 401, "invalid_api_key")
    check_error(post(random_server, body, {"Authorization": "Bearer wrong-key-000000"}), 401, "invalid_api_key")
    check_error(post(random_server, body, {"Authorization": "Basic abc"}), 401, "invalid_api_key")
    check_error(requests.get(random_server.url + "/v1/models", timeout=10), 401)
    assert requests.get(random_server.url + "/health", timeout=10).status_code == 200
    assert requests.get(random_server.url + "/metrics", timeout=10).status_code == 200


def test_after_all_that_the_server_still_answers(random_server, auth):
    r = post(random_server, {"messages": Q, "max_tokens": 8, "seed": 0}, auth)
    assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] in ("stop", "length")
    assert random_server.engine_state() == (0, 0)
