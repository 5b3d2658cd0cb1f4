"""A :class:`Request`: one prompt's journey through the engine, as a state machine over its sequences.

Parallel mode (DESIGN §4): the trunk decodes until ``</guideline>``; with k plans (1 <= k <= max_branches) it
forks k branches that share its KV and are seeded with the forced step header; each branch decodes until
``</step>`` or its budget, when the engine force-closes it; when every branch is closed the request joins them
(the continuation's slot list is the prefix plus every branch's own slots, nothing recomputed) and seeds the
forced join header; then the trunk goes on. Sequential mode decodes the same tokens causally with no forks.

Budgets hold exactly: the critical path never exceeds ``max_tokens``, and all branches together never exceed
``max_total_tokens`` - each open branch keeps one token in reserve for its closing ``</step>``.

Replay (``script`` given) teacher-forces a known response through the same fork/join path: tokens come from the
script instead of the sampler, and forks follow the script's own branches.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from npr.engine.config import SamplingParams
from npr.engine.grammar import State, advance, closer
from npr.engine.kv import KVStore
from npr.engine.sampling import make_generator, sample
from npr.engine.sequence import Role, Sequence
from npr.schema import tags as T
from npr.tokens import TagIds


class Finish(str, enum.Enum):
    STOP = "stop"
    LENGTH = "length"
    FORMAT_ERROR = "format_error"
    ABORTED = "aborted"


@dataclass(frozen=True)
class Headers:
    """Token ids of the forced headers: ``step[i]`` opens branch i (0-based), ``join`` opens the takeaway."""

    step: tuple[tuple[int, ...], ...]
    join: tuple[int, ...]


@dataclass
class Event:
    """What happened in one engine step, for streaming: token, fork, join, finish, or restart (the request was
    preempted and will decode again from its prompt, producing the same tokens)."""

    kind: str
    request_id: str
    block: int | None = None
    branch: int | None = None
    token_id: int | None = None
    sampled: bool | None = None
    branches: int | None = None
    finish_reason: str | None = None
    trajectory: object | None = None  # the Trajectory, on finish events from Engine.stream
    logprob: float | None = None  # of a token event, when known as it is emitted (forced header tokens may not be)


@dataclass
class Script:
    """A response to replay, split by the topology into (token id, sampled) pairs.

    ``trunk`` holds every token outside steps, in order; ``branches[block][branch]`` the tokens of one step. Tokens
    the engine itself would have forced (its step and join headers) are marked ``sampled=False``.
    """

    trunk: list[tuple[int, bool]]
    branches: list[list[list[tuple[int, bool]]]] = field(default_factory=list)


#: ``steer(role, block, branch, tokens_so_far) -> token id``: chooses tokens instead of the sampler, for
#: benchmarks and tests that need a model to walk a given shape through real decode steps. Headers, budgets,
#: force-closes, forks and joins stay the engine's; steered tokens count as sampled.
Steer = Callable[[str, int, "int | None", list[int]], int]


class Request:
    """State of one request. The scheduler feeds its sequences; :meth:`on_ready` decides what comes next."""

    def __init__(
        self,
        request_id: str,
        prompt: list[int],
        params: SamplingParams,
        seed: int,
        *,
        parallel: bool,
        tags: TagIds,
        headers: Headers,
        stop_ids: frozenset[int],
        script: Script | None = None,
        steer: Steer | None = None,
    ):
        self.id = request_id
        self.prompt = prompt
        self.params = params
        self.seed = seed
        self.parallel = parallel
        self.tags = tags
        self.tag_name = dict(zip(tags.all, T.TAGS))
        self.headers = headers
        self.stop_ids = stop_ids
        self.script = script
        self.steer = steer
        self.finish_reason: Finish | None = None
        self.preemptions = 0
        self._clear()

    # ---- lifecycle ----------------------------------------------------------------------------------------------

    def _clear(self) -> None:
        self.pieces: list[Sequence] = []  # every sequence, in canonical order
        self.trunk: Sequence | None = None
        self.branches: list[Sequence] = []
        self.block = 0
        self.path = 0  # critical-path response tokens so far (trunk tokens + the longest branch of each block)
        self.path_at_fork = 0
        self.total = 0  # response tokens of all sequences
        self.plans = 0  # <plan> tags in the open guideline
        self.branches_per_block: list[int] = []
        self.pending_fork: int | None = None
        self.fork_prefix = 0  # slots shared by the open block's branches (the trunk's list at the fork)
        self._trunk_script = list(self.script.trunk) if self.script else None

    def start(self, prefix_slots: list[int]) -> None:
        """Begin (or begin again after preemption) with ``prefix_slots`` of the prompt already in the KV store."""
        self._clear()
        rest = self.prompt[len(prefix_slots) :]
        gen = make_generator(self.seed, 0) if self.script is None else None
        self.trunk = Sequence(
            Role.TRUNK, prefix_slots, gen, block=0, prompt=rest, prompt_pos=len(prefix_slots), script=self._trunk_script
        )
        self.pieces.append(self.trunk)

    def holders(self) -> list[Sequence]:
        """Sequences that hold KV slots right now."""
        return [s for s in self.pieces if s.active]

    def runnable(self) -> list[Sequence]:
        return [s for s in self.pieces if s.active and s.unfed > 0]

    def release(self, kv: KVStore) -> None:
        for s in self.holders():
            kv.release(s.drop_slots())

    @property
    def finished(self) -> bool:
        return self.finish_reason is not None

    def finish(self, reason: Finish, events: list[Event]) -> None:
        if self.finish_reason is None:
            if self.script is None:
                # Stopped inside a block: close every open step with a forced </step> (each open branch keeps one
                # token of both budgets in reserve for it), so that the flat trajectory can be laid out.
                close = self.tags.step_close
                for b in self.branches:
                    if not b.tokens or b.tokens[-1].id != close:
                        known = b.unfed == 0 and b.last_logprobs is not None
                        lp = float(b.last_logprobs[close]) if known else None
                        b.append(close, False, lp)
                        self.total += 1
                        events.append(Event("token", self.id, b.block, b.branch, close, False, logprob=lp))
            self.finish_reason = reason
            events.append(Event("finish", self.id, finish_reason=reason.value))

    # ---- decisions ----------------------------------------------------------------------------------------------

    def on_ready(self, seq: Sequence, kv: KVStore, events: list[Event]) -> None:
        """``seq`` has fed every token it knows; ``seq.last_logprobs`` gives its next token's distribution."""
        if self.finished:
            return
        if seq.role is Role.TRUNK:
            if self.pending_fork is not None:
                self._fork(seq, self.pending_fork, kv, events)
            else:
                self._trunk_token(seq, events)
        elif (seq.tokens and seq.tokens[-1].id == self.tags.step_close) or (seq.script is not None and not seq.script):
            seq.closed = True
            if all(b.closed for b in self.branches):
                self._join(kv, events)
        else:
            self._branch_token(seq, events)

    def _draw(self, seq: Sequence) -> tuple[int, bool] | None:
        """The next token and whether it counts as sampled: from the script when replaying, else the sampler."""
        if seq.script is not None:
            return seq.script.popleft() if seq.script else None
        if self.steer is not None:
            return int(self.steer(seq.role.value, seq.block, seq.branch, [t.id for t in seq.tokens])), True
        return sample(seq.last_logprobs, self.params, seq.generator), True

    def _emit(
        self, seq: Sequence, token_id: int, sampled: bool, events: list[Event], logprob: float | None = ...
    ) -> None:
        """Append one token; its log-prob comes from ``seq.last_logprobs`` unless given (None: not known yet)."""
        lp = float(seq.last_logprobs[token_id]) if logprob is ... else logprob
        seq.append(token_id, sampled, lp)
        self.total += 1
        if seq.role is Role.TRUNK:
            self.path += 1
        events.append(Event("token", self.id, seq.block, seq.branch, token_id, sampled, logprob=lp))

    def _trunk_token(self, seq: Sequence, events: list[Event]) -> None:
        p = self.params
        if self.script is None and (self.path >= p.max_tokens or self.total >= p.total_budget):
            return self.finish(Finish.LENGTH, events)
        drawn = self._draw(seq)
        if drawn is None:
            return self.finish(Finish.STOP, events)
        tid, sampled = drawn
        tag = self.tag_name.get(tid)
        if self.parallel and tag is not None and self.script is None:
            state = advance(seq.state, tag)
            if state is None:
                close = closer(seq.state)
                if close is None:
                    return self.finish(Finish.FORMAT_ERROR, events)  # nothing to close: drop the tag and stop
                tag, tid, sampled = close, self.tags.id_of(close), False
                state = advance(seq.state, tag)
            seq.state = state
        self._emit(seq, tid, sampled, events)
        if tid in self.stop_ids and self.script is None:
            return self.finish(Finish.STOP, events)
        if self.script is None and (self.path >= p.max_tokens or self.total >= p.total_budget):
            return self.finish(Finish.LENGTH, events)  # now, not after one more forward for a token never drawn
        if not self.parallel:
            return
        if tag == T.GUIDELINE_OPEN:
            self.plans = 0
        elif tag == T.PLAN_OPEN:
            self.plans += 1
        elif tag == T.GUIDELINE_CLOSE:
            if self.script is not None:
                k = len(self.script.branches[self.block]) if self.block < len(self.script.branches) else 0
                self.pending_fork = k or None
                if not k:
                    self.block += 1  # a block without steps: nothing to fork, but the block count moves on
            elif not 1 <= self.plans <= p.max_branches:
                return self.finish(Finish.FORMAT_ERROR, events)
            else:
                self.pending_fork = self.plans

    def _fork(self, trunk: Sequence, k: int, kv: KVStore, events: list[Event]) -> None:
        self.pending_fork = None
        p = self.params
        headers = [] if self.script is not None else [self.headers.step[i] for i in range(k)]
        if headers and (
            self.path + max(map(len, headers)) + 1 > p.max_tokens
            or self.total + sum(len(h) + 1 for h in headers) > p.total_budget
        ):
            return self.finish(Finish.LENGTH, events)
        self.path_at_fork = self.path
        self.fork_prefix = len(trunk.slots)
        self.branches = []
        events.append(Event("fork", self.id, self.block, branches=k))  # before the branches' first (header) tokens
        for i in range(k):
            kv.share(trunk.slots)
            script = self.script.branches[self.block][i] if self.script is not None else None
            gen = make_generator(self.seed, self.block + 1, i + 1) if script is None else None
            b = Sequence(
                Role.BRANCH, list(trunk.slots), gen, block=self.block, branch=i,
                state=State.OPEN_STEP, prompt_pos=trunk.next_pos, script=script,
            )  # fmt: skip
            b.last_logprobs = trunk.last_logprobs  # </guideline>'s row predicts every branch's first token
            for tid in headers[i] if headers else ():
                self._header_token(b, tid, events)
            self.branches.append(b)
            if script is not None:
                self._branch_token(b, events)  # replay: the script's first token starts the branch
        kv.release(trunk.drop_slots())
        trunk.closed = True
        self.pieces.extend(self.branches)
        self.branches_per_block.append(k)

    def _header_token(self, seq: Sequence, tid: int, events: list[Event]) -> None:
        """A forced header token; only the first has a known log-prob now, the rest come as their rows run."""
        tag = self.tag_name.get(tid)
        if tag is not None:
            seq.state = advance(seq.state, tag) or seq.state
        self._emit(seq, tid, False, events, float(seq.last_logprobs[tid]) if not seq.tokens else None)

    def _branch_token(self, seq: Sequence, events: list[Event]) -> None:
        p = self.params
        if seq.script is not None:
            tid, sampled = seq.script.popleft()
        else:
            open_branches = sum(1 for b in self.branches if not b.tokens or b.tokens[-1].id != self.tags.step_close)
            if self.path_at_fork + len(seq.tokens) + 1 >= p.max_tokens or self.total + open_branches >= p.total_budget:
                tid, sampled = self.tags.step_close, False  # out of budget: force-close, using the reserved token
            else:
                tid, sampled = self._draw(seq)
                tag = self.tag_name.get(tid)
                if tid in self.stop_ids or (tag is not None and advance(seq.state, tag) is None):
                    tid, sampled = self.tags.step_close, False  # EOS or an illegal tag inside a step: force-close
        tag = self.tag_name.get(tid)
        if tag is not None and self.script is None:
            seq.state = advance(seq.state, tag) or seq.state
        self._emit(seq, tid, sampled, events)

    def _join(self, kv: KVStore, events: list[Event]) -> None:
        p = self.params
        branches = self.branches
        self.path = self.path_at_fork + max(len(b.tokens) for b in branches)
        n_prefix = self.fork_prefix
        slots = branches[0].slots[:n_prefix] + [s for b in branches for s in b.slots[n_prefix:]]
        kv.share(slots)
        for b in branches:
            kv.release(b.drop_slots())
        self.block += 1
        gen = make_generator(self.seed, self.block + 1, 0) if self.script is None else None
        last = max(t.pos for b in branches for t in b.tokens)
        cont = Sequence(Role.TRUNK, slots, gen, block=self.block, prompt_pos=last + 1, script=None)
        cont.script = self.trunk.script  # the trunk's script (replay) carries on across blocks
        cont.last_logprobs = branches[-1].last_logprobs  # the last step's last token predicts the takeaway side
        self.trunk = cont
        self.branches = []
        self.pieces.append(cont)
        events.append(Event("join", self.id, self.block - 1))
        if self.script is not None:
            self._trunk_token(cont, events)  # replay: the script goes on (or ends) after the steps
        else:
            join = self.headers.join
            if self.path + len(join) > p.max_tokens or self.total + len(join) > p.total_budget:
                return self.finish(Finish.LENGTH, events)
            for tid in join:
                self._header_token(cont, tid, events)  # advances cont.state through the header's <takeaway>

    # ---- results ------------------------------------------------------------------------------------------------

    def response(self) -> list:
        """Every response token (``Tok``) in canonical order."""
        return [t for s in self.pieces for t in s.tokens]

    def critical_path(self) -> int:
        if self.branches:  # stopped inside a block
            return self.path_at_fork + max(len(b.tokens) for b in self.branches)
        return self.path

    def fill_logprobs(self, seq: Sequence, logprobs: torch.Tensor, first: int) -> None:
        """Rows ``logprobs[j]`` (Float[n, V]) came from ``seq.tokens[first + j]``; each predicts the next token."""
        for j in range(logprobs.shape[0]):
            nxt = first + j + 1
            if nxt < len(seq.tokens) and seq.tokens[nxt].logprob is None:
                seq.tokens[nxt].logprob = float(logprobs[j, seq.tokens[nxt].id])
