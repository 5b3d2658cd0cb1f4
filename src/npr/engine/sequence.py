"""A :class:`Sequence` is one decoding stream: the trunk of a request between blocks, or one branch of a block.

It owns its KV slot list (one reference on every slot in it), its own response tokens with their positions,
log-probs and sampled flags, and how many of those tokens already have KV. nano-vllm style: the sequence holds
state; the request decides what happens next; the scheduler decides when it runs.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

import torch

from npr.engine.grammar import State


@dataclass
class Tok:
    """One response token as the engine produced it. ``logprob`` is filled once the row predicting it ran."""

    id: int
    pos: int
    sampled: bool
    logprob: float | None = None


class Role(enum.Enum):
    TRUNK = "trunk"
    BRANCH = "branch"


class Sequence:
    """One stream of tokens with its KV context.

    Attributes:
        slots: every KV slot this sequence attends to, in order; the sequence holds one reference on each.
        prompt: prompt tokens still to prefill (only the first trunk of a request has any).
        prompt_pos: position of ``prompt[0]``.
        tokens: this sequence's own response tokens, in order.
        fed: how many of ``tokens`` have their KV in ``slots``.
        last_logprobs: Float[V] log-softmax of the last fed row: the distribution of the next token.
        closed: no token will be added (a branch after ``</step>``; a trunk that forked or finished).
        active: the sequence still owns its slot list; False after :meth:`drop_slots`.
    """

    def __init__(
        self,
        role: Role,
        slots: list[int],
        generator: torch.Generator | None,
        *,
        block: int,
        branch: int | None = None,
        state: State = State.TEXT,
        prompt: list[int] | None = None,
        prompt_pos: int = 0,
        script: list[int] | None = None,
    ):
        self.role = role
        self.block = block
        self.branch = branch
        self.slots = slots
        self.generator = generator
        self.state = state
        self.prompt = list(prompt or [])
        self.prompt_pos = prompt_pos
        self.tokens: list[Tok] = []
        self.fed = 0
        self.last_logprobs: torch.Tensor | None = None
        self.closed = False
        self.active = True  # holds (or may hold) slots; False once they were handed back
        self.script = deque(script) if script is not None else None

    @property
    def unfed(self) -> int:
        """Tokens waiting for a forward: prompt first, then response tokens."""
        return len(self.prompt) + len(self.tokens) - self.fed

    @property
    def next_pos(self) -> int:
        if self.tokens:
            return self.tokens[-1].pos + 1
        return self.prompt_pos + len(self.prompt)

    def append(self, token_id: int, sampled: bool, logprob: float | None = None) -> Tok:
        tok = Tok(token_id, self.next_pos, sampled, logprob)
        self.tokens.append(tok)
        return tok

    def chunk(self, limit: int) -> tuple[list[int], list[int], bool]:
        """The next ``<= limit`` unfed tokens: (ids, positions, whether they include prompt tokens)."""
        if self.prompt:
            ids = self.prompt[:limit]
            return ids, list(range(self.prompt_pos, self.prompt_pos + len(ids))), True
        toks = self.tokens[self.fed : self.fed + limit]
        return [t.id for t in toks], [t.pos for t in toks], False

    def consume(self, n: int, is_prompt: bool) -> None:
        """Mark ``n`` tokens of the last chunk as fed."""
        if is_prompt:
            self.prompt_pos += n
            del self.prompt[:n]
        else:
            self.fed += n

    def drop_slots(self) -> list[int]:
        """Give up the slot list (the caller releases the references) and stop running."""
        slots, self.slots, self.active = self.slots, [], False
        return slots
