"""The request bodies of the OpenAI-compatible API, checked field by field, and the ``npr`` extension object.

Unknown fields are refused rather than ignored: a misspelt ``max_token`` must not silently fall back to a default.
The OpenAI fields that npr accepts but cannot honour beyond their neutral value (the penalties) are accepted only at
that value, with an error that says so.

Budgets. ``max_tokens`` (or ``max_completion_tokens``) bounds the **critical path**: the tokens of the longest
chain through the blocks, which is what the client waits for. All branches together are bounded by
``npr.max_total_tokens`` (default: 8 x the critical-path budget), and each block forks at most
``npr.max_branches`` branches.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Text = Annotated[str, StringConstraints(max_length=1_000_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _nulls_are_defaults(cls, data):
        # OpenAI's API treats an explicit null as "not given", and SDKs and proxies send nulls.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None or k not in cls.model_fields
                    or cls.model_fields[k].is_required()}  # fmt: skip
        return data


class NprOptions(_Strict):
    """The ``npr`` extension of a request.

    Attributes:
        mode: ``parallel`` forks real branches after each ``</guideline>``; ``sequential`` decodes causally.
        max_total_tokens: budget on all response tokens of all branches (compute).
        max_branches: most branches one block may fork.
        reasoning_in_content: put the whole response, blocks included, in ``content`` (and no ``reasoning``).
    """

    mode: Literal["parallel", "sequential"] = "parallel"
    max_total_tokens: int | None = Field(default=None, ge=1)
    max_branches: int = Field(default=8, ge=1, le=64)
    reasoning_in_content: bool = False


class StreamOptions(_Strict):
    include_usage: bool = False


class TextPart(_Strict):
    type: Literal["text"]
    text: Text


class Message(_Strict):
    role: Literal["system", "developer", "user", "assistant"]
    content: Text | list[TextPart]
    name: str | None = None
    # Clients echo earlier assistant turns with these; they are kept out of the prompt like any reasoning.
    reasoning: str | None = None
    reasoning_content: str | None = None

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class _Sampling(_Strict):
    """Fields shared by chat and text completions."""

    model: str | None = None
    n: int = Field(default=1, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    top_k: int = Field(default=0, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=-(2**63), lt=2**64)
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    npr: NprOptions = Field(default_factory=NprOptions)

    @field_validator("stop")
    @classmethod
    def _stop(cls, v):
        stops = [v] if isinstance(v, str) else list(v or [])
        if len(stops) > 4:
            raise ValueError(f"at most 4 stop strings, got {len(stops)}")
        if any(not s for s in stops):
            raise ValueError("a stop string must not be empty")
        return stops

    @field_validator("presence_penalty", "frequency_penalty")
    @classmethod
    def _penalty(cls, v: float) -> float:
        if v != 0:
            raise ValueError("penalties are not supported: they would change the policy the log-probs describe; send 0")
        return v

    @model_validator(mode="after")
    def _stream_options(self):
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options is only allowed when stream is true")
        return self

    @property
    def stops(self) -> list[str]:
        return list(self.stop or [])

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatRequest(_Sampling):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    logprobs: bool = False
    top_logprobs: int = Field(default=0, ge=0, le=0)  # only the sampled token's log-prob is computed

    @model_validator(mode="after")
    def _budget(self):
        if self.max_tokens is not None and self.max_completion_tokens is not None and (
            self.max_tokens != self.max_completion_tokens
        ):
            raise ValueError("max_tokens and max_completion_tokens disagree: send one of them")
        if self.messages[-1].role != "user":
            raise ValueError("the last message must be a user turn: that is the turn the model answers")
        return self

    @property
    def budget(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def conversation(self) -> list[dict[str, str]]:
        """The turns as the chat template takes them (``developer`` is the system turn of newer clients)."""
        role = {"developer": "system"}
        return [{"role": role.get(m.role, m.role), "content": m.text()} for m in self.messages]


class CompletionRequest(_Sampling):
    prompt: Text | list[int] | list[Text] | list[list[int]]
    logprobs: int | None = Field(default=None, ge=0, le=0)  # 0: the sampled token's log-prob only

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v):
        if isinstance(v, list) and not v:
            raise ValueError("prompt must not be empty")
        if isinstance(v, list) and isinstance(v[0], (str, list)) and len(v) != 1:
            raise ValueError("one prompt per request: send a list of prompts as separate requests (or use n)")
        return v

    @property
    def budget(self) -> int | None:
        return self.max_tokens

    def prompt_value(self) -> str | list[int]:
        v = self.prompt
        if isinstance(v, list) and isinstance(v[0], (str, list)):
            v = v[0]
        if isinstance(v, list) and any(t < 0 for t in v):
            raise ValueError("prompt token ids must be >= 0")
        return v


def error_body(message: str, type_: str = "invalid_request_error", param: str | None = None, code: str | None = None):
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
