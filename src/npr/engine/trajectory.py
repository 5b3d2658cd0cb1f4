"""The :class:`Trajectory`: what the engine returns for one request, flat and in canonical order."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from npr.topology import Segment, SegmentKind


@dataclass
class Trajectory:
    """One finished (or aborted) request.

    Attributes:
        token_ids: prompt followed by the response, flat in canonical order (prompt, guideline, step 1..k, ...).
        position_ids: the RoPE position each token was decoded at.
        logprobs: log-probability of each token given everything it may see (DESIGN §3's ``pred(i)`` rule);
            None for prompt tokens.
        sampled: True for tokens the model sampled, False for the prompt and engine-forced tokens (headers,
            force-closes). The RL loss trains only on sampled tokens.
        segments: the topology's segments of ``token_ids``.
        text: the decoded response, tags included.
        finish_reason: "stop", "length", "format_error" or "aborted".
        stats: total_tokens, critical_path_tokens, forks, branches_per_block, wall_time, and more.
    """

    request_id: str
    prompt_len: int
    token_ids: list[int]
    position_ids: list[int]
    logprobs: list[float | None]
    sampled: list[bool]
    segments: list[Segment]
    text: str
    finish_reason: str
    mode: str
    seed: int
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt_ids(self) -> list[int]:
        return self.token_ids[: self.prompt_len]

    @property
    def response_ids(self) -> list[int]:
        return self.token_ids[self.prompt_len :]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["segments"] = [{**asdict(s), "kind": s.kind.value} for s in self.segments]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        d = dict(d)
        d["segments"] = [Segment(**{**s, "kind": SegmentKind(s["kind"])}) for s in d["segments"]]
        return cls(**d)
