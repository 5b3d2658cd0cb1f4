"""Engine and sampling configuration: typed, validated on construction, with the reason in every error."""

from __future__ import annotations

from dataclasses import dataclass, field

from npr.schema.tags import TAGS


@dataclass(frozen=True)
class EngineConfig:
    """How the engine runs, shared by all requests.

    Attributes:
        kv_budget: KV slots (tokens) in the store, for all requests and branches together. Flow control keeps
            the engine inside it: requests wait or are preempted, never crash.
        max_batch_tokens: new tokens per forward (decode tokens plus prefill chunks); long prompts are chunked.
        max_running: most requests decoding at once.
        step_header: forced text that opens branch ``i`` (1-based) after ``</guideline>``; ``{i}`` is replaced.
        join_header: forced text after the last branch of a block closes.
        prefix_cache: share the KV of common prompt prefixes across requests (G rollouts, k eval samples).

    The KV store takes the model's device and dtype.
    """

    kv_budget: int = 32768
    max_batch_tokens: int = 2048
    max_running: int = 64
    step_header: str = "\n<step>\n{i}:"
    join_header: str = "\n<takeaway>"
    prefix_cache: bool = True

    def __post_init__(self) -> None:
        if self.kv_budget < 2:
            raise ValueError(f"kv_budget={self.kv_budget}: the KV store needs room for at least two tokens")
        if self.max_batch_tokens < 1:
            raise ValueError(f"max_batch_tokens={self.max_batch_tokens}: a forward needs at least one token")
        if self.max_running < 1:
            raise ValueError(f"max_running={self.max_running}: at least one request must be able to run")
        if "{i}" not in self.step_header or "<step>" not in self.step_header:
            raise ValueError(
                f"step_header={self.step_header!r} must contain '<step>' (it opens the branch) and '{{i}}' "
                "(the branch number, so each step says which plan it executes)"
            )
        if "<takeaway>" not in self.join_header:
            raise ValueError(f"join_header={self.join_header!r} must contain '<takeaway>': the join opens the takeaway")
        for name, text, own in (("step_header", self.step_header, "<step>"), ("join_header", self.join_header, "<takeaway>")):
            found = [t for t in TAGS for _ in range(text.count(t))]
            if found != [own]:
                raise ValueError(
                    f"{name}={text!r} must hold exactly one structural tag, {own!r}, but holds {found}: the engine "
                    "writes headers as they are, so any other tag would make every trajectory malformed"
                )


@dataclass(frozen=True)
class SamplingParams:
    """Per-request sampling and budgets.

    Attributes:
        temperature: 0 means greedy. Reported log-probs are always the model's own (temperature 1), which is what
            the trainer's forward computes.
        top_p, top_k: nucleus and top-k filtering (1.0 and 0 switch them off).
        seed: the same seed gives the same trajectory, whatever else is in the batch. ``None`` draws one, which
            the trajectory records.
        max_tokens: budget on the critical path (latency): response tokens along the longest branch chain.
        max_total_tokens: budget on all response tokens of all branches (compute); ``None`` = 8 × max_tokens.
        max_branches: most branches one block may fork; a guideline with more plans is a format error.
        stop_token_ids: extra ids that end the response like EOS.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    max_tokens: int = 1024
    max_total_tokens: int | None = None
    max_branches: int = 8
    stop_token_ids: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.temperature >= 0:  # also refuses NaN, which every comparison lets through
            raise ValueError(f"temperature={self.temperature} must be >= 0 (0 is greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p={self.top_p} must be in (0, 1]")
        if self.top_k < 0:
            raise ValueError(f"top_k={self.top_k} must be >= 0 (0 switches it off)")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens={self.max_tokens} must be >= 1")
        if self.max_total_tokens is not None and self.max_total_tokens < self.max_tokens:
            raise ValueError(
                f"max_total_tokens={self.max_total_tokens} is below max_tokens={self.max_tokens}: all branches "
                "together can never use fewer tokens than the critical path"
            )
        if self.max_branches < 1:
            raise ValueError(f"max_branches={self.max_branches} must be >= 1")

    @property
    def total_budget(self) -> int:
        return self.max_total_tokens if self.max_total_tokens is not None else 8 * self.max_tokens
