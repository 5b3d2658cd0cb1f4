"""One API request in flight: its n engine requests (the choices), their streams, and their end.

:class:`Generation` submits the choices to the :class:`~npr.serve.loop.EngineLoop`, turns the engine's events into
:class:`~npr.serve.stream.Delta` s, aborts a choice whose content hit a stop string, and aborts every choice when
the client goes away (``close``), which frees their KV at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from npr.engine import SamplingParams, Trajectory
from npr.serve.loop import EngineLoop, Handle
from npr.serve.stream import ChoiceStream, Delta


class GenerationError(Exception):
    """A choice could not run: ``status`` 400 for input the engine refused, 503 when the engine is dead."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Finished:
    """The end of one choice: what was still held back, the trajectory, and the finish reason to report."""

    delta: Delta
    trajectory: Trajectory | None
    finish_reason: str  # OpenAI's: "stop" or "length"
    engine_reason: str  # the engine's: stop, length, format_error, aborted


class Generation:
    def __init__(self, loop: EngineLoop, prompt_ids: list[int], params: list[SamplingParams], mode: str,
                 streams: list[ChoiceStream]):  # fmt: skip
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()
        aio = asyncio.get_running_loop()
        self.handles = [Handle(i, self.queue, aio, prompt_ids, p, mode) for i, p in enumerate(params)]
        self.streams = streams

    async def run(self) -> AsyncIterator[tuple[int, Delta | Finished]]:
        """Yield ``(choice, Delta)`` as tokens come and ``(choice, Finished)`` once per choice."""
        for h in self.handles:
            self.loop.submit(h)
        left = len(self.handles)
        while left:
            i, kind, payload = await self.queue.get()
            stream = self.streams[i]
            if kind == "events":
                delta = stream.feed(payload)
                if stream.stopped:
                    self.loop.abort(self.handles[i], reason="stop")
                if delta:
                    yield i, delta
            elif kind == "finish":
                left -= 1
                yield i, self._finished(stream, payload)
            else:
                left -= 1
                status, message = payload if isinstance(payload, tuple) else (503, str(payload))
                raise GenerationError(status, message)

    @staticmethod
    def _finished(stream: ChoiceStream, traj: Trajectory | None) -> Finished:
        reason = traj.finish_reason if traj is not None else "aborted"
        if stream.stopped:
            openai_reason = "stop"
        else:
            openai_reason = "length" if reason == "length" else "stop"
        return Finished(stream.finish(), traj, openai_reason, "stop_string" if stream.stopped else reason)

    def close(self) -> None:
        """Abort every choice still running (the client left, or an error ended the response)."""
        for h in self.handles:
            self.loop.abort(h)


def usage(prompt_tokens: int, finished: list[Finished], streams: list[ChoiceStream]) -> dict[str, Any]:
    """OpenAI's usage, with every branch counted, plus the reasoning and critical-path tokens."""
    completion = critical = 0
    for f, s in zip(finished, streams):
        st = f.trajectory.stats if f.trajectory is not None else {}
        completion += st.get("total_tokens", s.tokens)
        critical += st.get("critical_path_tokens", s.tokens)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
        "completion_tokens_details": {"reasoning_tokens": sum(s.reasoning_tokens for s in streams)},
        "critical_path_tokens": critical,
    }
