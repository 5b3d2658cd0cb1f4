"""The official ``openai`` Python client against our endpoint: chat and completions, streaming and not, with the
reasoning field and the ``npr`` extension read off its objects, and its errors raised as its own exceptions."""

from __future__ import annotations

import openai
import pytest

from tests.serve.conftest import KEY

Q = [{"role": "user", "content": "What is 27 + 15?"}]


@pytest.fixture
def client(steered):
    return openai.OpenAI(base_url=steered.url + "/v1", api_key="unused", max_retries=0, timeout=60)


def test_chat_with_the_openai_client(client):
    out = client.chat.completions.create(model="tiny-steered", messages=Q, seed=1, extra_body={"npr": {"mode": "parallel"}})
    choice = out.choices[0]
    assert choice.message.content == "So 27 + 15 = \\boxed{42}."
    extra = choice.message.model_extra
    assert extra["reasoning_content"].startswith("<guideline>") and extra["reasoning"] == extra["reasoning_content"]
    tree = choice.model_extra["npr"]["tree"]
    assert tree["answer"] == "42" and len(tree["blocks"][0]["branches"]) == 3
    assert out.usage.completion_tokens == tree["stats"]["total_tokens"]
    assert out.usage.completion_tokens_details.reasoning_tokens > 0
    assert out.usage.model_extra["critical_path_tokens"] == tree["stats"]["critical_path_tokens"]


def test_streaming_chat_with_the_openai_client(client):
    stream = client.chat.completions.create(model="tiny-steered", messages=Q, seed=1, stream=True,
                                            stream_options={"include_usage": True})  # fmt: skip
    reasoning, content, forks, usage = "", "", [], None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for c in chunk.choices:
            reasoning += (c.delta.model_extra or {}).get("reasoning_content") or ""
            content += c.delta.content or ""
            forks += [e["branches"] for e in (c.model_extra or {}).get("npr", {}).get("events", []) if e["type"] == "fork"]
    assert content == "So 27 + 15 = \\boxed{42}."
    assert reasoning.startswith("<guideline>") and reasoning.endswith("</takeaway>")
    assert forks == [3]
    assert usage is not None and usage.completion_tokens > 0


def test_text_completion_and_models_with_the_openai_client(client):
    assert [m.id for m in client.models.list()] == ["tiny-steered"]
    out = client.completions.create(model="tiny-steered", prompt="27 + 15 =", max_tokens=200)
    assert out.choices[0].text.endswith("\\boxed{42}.")
    chunks = list(client.completions.create(model="tiny-steered", prompt="27 + 15 =", max_tokens=200, stream=True))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == out.choices[0].text


def test_errors_reach_the_openai_client_as_its_exceptions(client, random_server):
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="tiny-steered", messages=Q, temperature=9)
    assert bad.value.body["param"] == "temperature"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-9", messages=Q)
    wrong = openai.OpenAI(base_url=random_server.url + "/v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(model="tiny-random", messages=Q)
    right = openai.OpenAI(base_url=random_server.url + "/v1", api_key=KEY, max_retries=0)
    assert right.chat.completions.create(model="tiny-random", messages=Q, max_tokens=4).choices[0].finish_reason
