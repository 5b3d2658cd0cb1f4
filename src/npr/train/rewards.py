r"""RL rewards: named terms in a registry, and the one function that combines them (DESIGN §5).

:func:`reward` gives a rollout's scalar reward and its parts:

1. **Format gate** (Stage 1, ``format_aware``): if :func:`npr.schema.format_reward` is negative, that penalty in
   [-2, 0) is the whole base reward, and no other term applies.
2. Otherwise the base reward is ``sum(weight * term)`` over ``reward.terms``.
3. DAPO's **overlong soft penalty** is added when ``algorithm.overlong_buffer`` > 0.

Built-in terms (``REWARD_TERMS``; register more with ``@REWARD_TERMS.register("name")``):

============  ======================================================================================================
name          value
============  ======================================================================================================
correctness   +1 when the graded answer is right, -1 otherwise (an empty response is -1)
format        the Stage-1 format penalty: 0.0 for a valid response, in [-2, 0) otherwise
acceleration  for a right answer, 1 - critical path / total tokens (0 for a sequential answer, up to 1 - 1/k for k
              even branches); 0 for a wrong one. After ThreadWeaver's P-GRPO: with a small weight it trades some
              accuracy for latency. Off unless given a weight
============  ======================================================================================================

The overlong penalty (DAPO eq. 13), with L the critical-path length, L_max = ``max_tokens`` and buffer B:
0 when L <= L_max - B; (L_max - B - L) / B when L_max - B < L <= L_max; -1 beyond; times ``overlong_factor``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from npr.rewards import Grade, grade
from npr.schema import format_reward
from npr.train.registry import Registry


@dataclass
class RewardContext:
    """One rollout, as the reward terms see it. ``text`` has the stop token removed; the grade is computed once,
    on first use."""

    text: str
    answer: Any
    kind: str = "math"
    grade_options: Mapping[str, Any] = field(default_factory=dict)
    finish_reason: str = "stop"
    total_tokens: int = 0
    critical_path_tokens: int = 0
    max_tokens: int = 1
    grade_timeout: float = 5.0

    @cached_property
    def grade(self) -> Grade | None:
        """The grader's verdict, or None when the prompt has no gold answer."""
        if self.answer is None:
            return None
        return grade(self.text, self.answer, self.kind, timeout=self.grade_timeout, **dict(self.grade_options))

    @property
    def correct(self) -> bool:
        g = self.grade
        return bool(g is not None and g.correct and self.text.strip())


#: ``fn(ctx) -> float``.
Term = Callable[[RewardContext], float]
REWARD_TERMS: Registry[Term] = Registry("reward term")


@REWARD_TERMS.register("correctness")
def correctness(ctx: RewardContext) -> float:
    """+1 right, -1 wrong or empty."""
    return 1.0 if ctx.correct else -1.0


@REWARD_TERMS.register("format")
def format_term(ctx: RewardContext) -> float:
    """0.0 valid, a penalty in [-2, 0) otherwise (:func:`npr.schema.format_reward`)."""
    return format_reward(ctx.text)


@REWARD_TERMS.register("acceleration")
def acceleration(ctx: RewardContext) -> float:
    """1 - critical path / total tokens for a right answer; 0 otherwise."""
    if not ctx.correct or ctx.total_tokens <= 0:
        return 0.0
    return 1.0 - ctx.critical_path_tokens / ctx.total_tokens


def overlong_penalty(length: int, max_tokens: int, buffer: int, factor: float = 1.0) -> float:
    """DAPO's soft overlong penalty for a response of ``length`` tokens (see the module docstring)."""
    if buffer <= 0:
        return 0.0
    start = max_tokens - buffer
    if length <= start:
        return 0.0
    if length <= max_tokens:
        return factor * (start - length) / buffer
    return -factor


def reward(
    ctx: RewardContext, terms: Mapping[str, float], *, format_aware: bool = False, overlong_buffer: int = 0,
    overlong_factor: float = 1.0,
) -> tuple[float, dict[str, float]]:  # fmt: skip
    """(reward, parts): the rollout's reward and each term's unweighted value (see the module docstring)."""
    parts: dict[str, float] = {}
    base = 0.0
    gated = False
    if format_aware:
        parts["format_gate"] = penalty = format_reward(ctx.text)
        if penalty < 0:
            base, gated = penalty, True
    if not gated:
        for name, weight in terms.items():
            parts[name] = value = REWARD_TERMS.get(name)(ctx)
            base += weight * value
    if overlong_buffer > 0 and not gated:  # the gate's penalty already prices a cut-off, malformed response
        parts["overlong"] = extra = overlong_penalty(ctx.critical_path_tokens, ctx.max_tokens, overlong_buffer, overlong_factor)
        base += extra
    return base, parts
