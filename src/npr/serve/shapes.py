"""The OpenAI response objects: whole chat and text completions, and their streamed chunks, built from the
:class:`~npr.serve.stream.Delta` s of each choice. Streamed and whole responses are built from the same deltas, so
they say the same thing."""

from __future__ import annotations

from typing import Any

from npr.serve.generation import Finished
from npr.serve.stream import Delta


class Accumulator:
    """The deltas of one choice, joined into its whole message."""

    def __init__(self):
        self.reasoning, self.content, self.logprobs = [], [], []

    def add(self, d: Delta) -> None:
        self.reasoning.append(d.reasoning)
        self.content.append(d.content)
        self.logprobs.extend(d.logprobs)


def _npr_delta(d: Delta) -> dict[str, Any]:
    return {"tokens": d.tokens, "events": d.events}


class ChatShape:
    """Chat completion objects and chunks."""

    def __init__(self, rid: str, created: int, model: str):
        self.base = {"id": rid, "created": created, "model": model}

    def first(self, i: int) -> dict[str, Any]:
        return {**self.base, "object": "chat.completion.chunk",
                "choices": [{"index": i, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                             "finish_reason": None}]}  # fmt: skip

    def chunk(self, i: int, d: Delta, want_logprobs: bool, finish: Finished | None = None, tree=None):
        delta: dict[str, Any] = {}
        if d.reasoning:
            delta["reasoning"] = delta["reasoning_content"] = d.reasoning
        if d.content:
            delta["content"] = d.content
        npr = _npr_delta(d)
        if finish is not None:
            npr.update(tree=tree, finish_reason=finish.engine_reason)
        choice = {"index": i, "delta": delta, "logprobs": {"content": d.logprobs} if want_logprobs else None,
                  "finish_reason": finish.finish_reason if finish else None, "npr": npr}  # fmt: skip
        return {**self.base, "object": "chat.completion.chunk", "choices": [choice]}

    def usage_chunk(self, u):
        return {**self.base, "object": "chat.completion.chunk", "choices": [], "usage": u}

    def choice(self, i: int, a: Accumulator, f: Finished, tree, want_logprobs: bool) -> dict[str, Any]:
        reasoning = "".join(a.reasoning) or None
        return {
            "index": i,
            "message": {"role": "assistant", "content": "".join(a.content), "reasoning": reasoning,
                        "reasoning_content": reasoning},  # fmt: skip
            "logprobs": {"content": a.logprobs} if want_logprobs else None,
            "finish_reason": f.finish_reason,
            "npr": {"tree": tree, "finish_reason": f.engine_reason},
        }

    def response(self, choices, u):
        return {**self.base, "object": "chat.completion", "choices": choices, "usage": u}


class TextShape:
    """Text completion objects and chunks (everything the model wrote is the text)."""

    def __init__(self, rid: str, created: int, model: str):
        self.base = {"id": rid, "created": created, "model": model}

    def first(self, i: int):
        return None

    @staticmethod
    def _logprobs(entries, offset: int = 0):
        offsets, pos = [], offset
        for e in entries:
            offsets.append(pos)
            pos += len(e["token"])
        return {"tokens": [e["token"] for e in entries], "token_logprobs": [e["logprob"] for e in entries],
                "top_logprobs": None, "text_offset": offsets}  # fmt: skip

    def chunk(self, i: int, d: Delta, want_logprobs: bool, finish: Finished | None = None, tree=None):
        npr = _npr_delta(d)
        if finish is not None:
            npr.update(tree=tree, finish_reason=finish.engine_reason)
        choice = {"index": i, "text": d.content, "logprobs": self._logprobs(d.logprobs) if want_logprobs else None,
                  "finish_reason": finish.finish_reason if finish else None, "npr": npr}  # fmt: skip
        return {**self.base, "object": "text_completion", "choices": [choice]}

    def usage_chunk(self, u):
        return {**self.base, "object": "text_completion", "choices": [], "usage": u}

    def choice(self, i: int, a: Accumulator, f: Finished, tree, want_logprobs: bool) -> dict[str, Any]:
        return {"index": i, "text": "".join(a.content), "logprobs": self._logprobs(a.logprobs) if want_logprobs else None,
                "finish_reason": f.finish_reason, "npr": {"tree": tree, "finish_reason": f.engine_reason}}  # fmt: skip

    def response(self, choices, u):
        return {**self.base, "object": "text_completion", "choices": choices, "usage": u}
