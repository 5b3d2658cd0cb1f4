"""The scheduler decides what runs: which requests are admitted, which tokens go into the next forward, and who
is preempted when the KV store runs short.

Flow control never crashes, deadlocks or overruns ``kv_budget``:

* a request is admitted only when its prompt (less what the prefix cache already holds) fits in the free slots;
  one whose prompt is being prefilled by a running request waits for that prefill, so that a group of requests
  with one prompt (G rollouts, k samples) computes and stores it once;
* each step takes, in admission order, one chunk of unfed tokens from every runnable sequence, up to
  ``max_batch_tokens``;
* when a chunk does not fit, unreferenced prefix-cache entries are evicted first; then the most recently admitted
  request is preempted: its slots are released and it goes back to the front of the queue, to be recomputed from
  the start with the same seeds - and therefore the same output;
* a request that cannot fit even alone finishes with ``finish_reason="length"``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from npr.engine.config import EngineConfig
from npr.engine.kv import KVStore
from npr.engine.prefix_cache import PrefixCache
from npr.engine.request import Event, Finish, Request
from npr.engine.sequence import Sequence


@dataclass
class Chunk:
    """``len(ids)`` unfed tokens of one sequence, with the slots just allocated for them."""

    request: Request
    seq: Sequence
    ids: list[int]
    positions: list[int]
    slots: list[int]
    is_prompt: bool
    first: int  # index in seq.tokens of the first token (response chunks)


class Scheduler:
    def __init__(self, config: EngineConfig, kv: KVStore, cache: PrefixCache | None):
        self.config = config
        self.kv = kv
        self.cache = cache
        self.waiting: deque[Request] = deque()
        self.running: list[Request] = []
        # After a preemption, admit nothing new until a request leaves: re-admitting at once would only thrash.
        self.hold_admissions = False

    def add(self, req: Request) -> None:
        self.waiting.append(req)

    def __bool__(self) -> bool:
        return bool(self.waiting or self.running)

    def admit(self) -> None:
        while self.waiting and len(self.running) < self.config.max_running and not self.hold_admissions:
            req = self.waiting[0]
            matched = self.cache.match(req.prompt[:-1]) if self.cache else []
            if self.cache is not None and any(self._prefilling(r, req.prompt, len(matched)) for r in self.running):
                break  # a running request is about to cache more of this prompt: wait one prefill, then share it
            if matched:
                # Split the edge the match ends in, so that its unshared tail is a leaf _make_room may evict.
                self.cache.insert(req.prompt[: len(matched)], matched)
            need = len(req.prompt) - len(matched) + 1  # the prompt, and room for the first response token
            if not self._make_room(need, protect=matched):
                break
            self.kv.share(matched)
            req.start(matched)
            self.running.append(self.waiting.popleft())

    @staticmethod
    def _prefilling(running: Request, prompt: list[int], matched: int) -> bool:
        """Whether ``running`` is still prefilling a prompt that shares more than ``matched`` tokens with ``prompt``."""
        first = running.pieces[0] if running.pieces else None
        if first is None or not first.prompt or len(running.prompt) <= matched:
            return False
        return running.prompt[: matched + 1] == prompt[: matched + 1]

    def _make_room(self, need: int, protect: list[int] = ()) -> bool:
        short = need - self.kv.num_free
        if short > 0 and self.cache is not None:
            if protect:  # hold the matched slots while evicting, so the match survives
                self.kv.share(protect)
            self.cache.evict(short)
            if protect:
                self.kv.release(protect)
        return self.kv.num_free >= need

    def schedule(self, events: list[Event]) -> list[Chunk]:
        """Plan the next forward, allocating slots for every chunk. May preempt or finish requests."""
        budget = self.config.max_batch_tokens
        plan: list[Chunk] = []
        i = 0
        while i < len(self.running) and budget > 0:
            req = self.running[i]
            for seq in req.runnable():
                n = min(seq.unfed, budget)
                while not self._make_room(n) and self.running[-1] is not req:
                    victim = self.running[-1]  # the newest request gives way, so the oldest always progresses
                    plan = [c for c in plan if c.request is not victim]
                    self.preempt(victim, events)
                if not self._make_room(n):
                    plan = [c for c in plan if c.request is not req]
                    if len(self.running) == 1:
                        req.finish(Finish.LENGTH, events)  # alone and out of room: the store cannot hold it
                    else:
                        self.preempt(req, events)
                    break
                ids, pos, is_prompt = seq.chunk(n)
                slots = self.kv.alloc(len(ids))
                seq.slots.extend(slots)
                plan.append(Chunk(req, seq, ids, pos, slots, is_prompt, seq.fed))
                budget -= len(ids)
                if budget == 0:
                    break
            if i < len(self.running) and self.running[i] is req:  # not preempted: move on to the next request
                i += 1
        return plan

    def preempt(self, req: Request, events: list[Event]) -> None:
        """Release everything ``req`` holds and queue it first, to restart from scratch later.

        Streams get a ``restart`` event: the tokens they saw will come again, identical.
        """
        events.append(Event("restart", req.id))
        req.release(self.kv)
        req.preemptions += 1
        self.running.remove(req)
        self.waiting.appendleft(req)
        self.hold_admissions = bool(self.running)

    def remove(self, req: Request) -> None:
        self.hold_admissions = False
        req.release(self.kv)
        if req in self.running:
            self.running.remove(req)
        if req in self.waiting:
            self.waiting.remove(req)
