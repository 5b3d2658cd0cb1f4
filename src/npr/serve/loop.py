"""The engine loop: one thread owns the :class:`~npr.engine.Engine`, and every HTTP request talks to it by message.

The engine is not thread-safe and does not need to be: handlers never touch it. They send ``submit`` and ``abort``
commands, and the loop thread steps the engine (continuous batching over every request in flight) and hands each
request its events, one batch per engine step, through the request's asyncio queue.

A preempted request restarts from its prompt and produces the same tokens again (same seeds); the loop drops the
repeats, so a client sees every token once.

States: ``loading`` (the model is being loaded), ``ready``, ``dead`` (loading or a step failed; every request in
flight gets the error, and the server answers 503).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from npr.engine import Engine, Event, SamplingParams
from npr.serve.metrics import Metrics


@dataclass
class Handle:
    """One engine request as the HTTP side sees it. Items arrive on ``queue`` as ``(tag, kind, payload)``:
    ``("events", [Event, ...])``, ``("finish", Trajectory)`` or ``("error", (http_status, message))``."""

    tag: Any
    queue: asyncio.Queue
    loop: asyncio.AbstractEventLoop
    prompt_ids: list[int]
    params: SamplingParams
    mode: str
    request_id: str | None = None
    done: bool = False
    submitted: float = field(default_factory=time.perf_counter)
    first_token: bool = False
    # restart bookkeeping, per (block, branch): the token ids delivered, and how many were seen since the last restart
    sent: dict = field(default_factory=dict)
    seen: Counter = field(default_factory=Counter)
    sent_events: set = field(default_factory=set)

    def put(self, kind: str, payload: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (self.tag, kind, payload))
        except RuntimeError:
            pass  # the server's event loop has closed (shutdown): nobody is waiting for this any more


class EngineLoop:
    """Runs ``load()`` (which returns the engine) and then the engine, on one daemon thread."""

    def __init__(self, load: Callable[[], Engine], metrics: Metrics, idle_wait: float = 0.05):
        self._load = load
        self.metrics = metrics
        self.engine: Engine | None = None
        self.state = "loading"
        self.error: str | None = None
        self._commands: queue.Queue = queue.Queue()
        self._handles: dict[str, Handle] = {}
        self._stop = threading.Event()
        self._idle_wait = idle_wait
        self._thread = threading.Thread(target=self._run, name="npr-engine", daemon=True)

    # ---- HTTP side (any thread) ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        if self._thread.ident is None:
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._commands.put(("wake", None))
        if self._thread.is_alive():
            self._thread.join(timeout)

    def submit(self, handle: Handle) -> None:
        self._commands.put(("submit", handle))
        self._answer_if_dead()

    def _answer_if_dead(self) -> None:
        # The thread answers what is queued when it dies, then exits: anything queued later is answered here.
        if self.state == "dead":
            self._fail_pending()

    def call(self, fn: Callable[[Engine], Any]) -> concurrent.futures.Future:
        """Run ``fn(engine)`` on the loop thread between two steps (where reading the engine's state is safe)."""
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._commands.put(("call", (fn, fut)))
        self._answer_if_dead()
        return fut

    def abort(self, handle: Handle, reason: str = "aborted") -> None:
        """End ``handle``'s request now and free its KV; ``reason`` is what the metrics count it as."""
        if not handle.done:
            self._commands.put(("abort", (handle, reason)))

    @property
    def in_flight(self) -> int:
        return len(self._handles)

    # ---- the loop thread ----------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self.engine = self._load()
        except Exception as exc:  # noqa: BLE001 - whatever failed, the server must say so and stay up
            self.error = f"the model could not be loaded: {type(exc).__name__}: {exc}"
            self.state = "dead"
            self._fail_pending()
            return
        self.state = "ready"
        while not self._stop.is_set():
            try:
                busy = self.engine.has_work()
                self._drain(block=not busy)
                if self.engine.has_work():
                    self._dispatch(self.engine.step())
                self._gauges()
            except Exception as exc:  # noqa: BLE001 - a failing step kills the engine, not the server
                self.error = f"the engine failed: {type(exc).__name__}: {exc}"
                self.state = "dead"
                for h in list(self._handles.values()):
                    self._end(h, "error", (503, self.error))
                self._fail_pending()
                return

    def _fail_pending(self) -> None:
        while True:
            try:
                kind, h = self._commands.get_nowait()
            except queue.Empty:
                return
            if kind == "submit":
                h.done = True
                h.put("error", (503, self.error))
            elif kind == "call":
                h[1].set_exception(RuntimeError(self.error))

    def _drain(self, block: bool) -> None:
        try:
            cmd = self._commands.get(timeout=self._idle_wait) if block else self._commands.get_nowait()
        except queue.Empty:
            return
        while True:
            kind, h = cmd
            if kind == "submit":
                self._submit(h)
            elif kind == "call":
                fn, fut = h
                try:
                    fut.set_result(fn(self.engine))
                except Exception as exc:  # noqa: BLE001 - handed to the caller
                    fut.set_exception(exc)
            elif kind == "abort" and h[0].request_id in self._handles:
                h, reason = h
                traj = self.engine.abort(h.request_id)  # frees its KV now
                self.metrics.finished(reason)
                self.metrics.e2e.observe(time.perf_counter() - h.submitted)
                self._end(h, "finish", traj)
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return

    def _submit(self, h: Handle) -> None:
        try:
            h.request_id = self.engine.submit(h.prompt_ids, h.params, h.mode)
        except ValueError as exc:
            h.done = True
            h.put("error", (400, str(exc)))
            return
        self._handles[h.request_id] = h
        self.metrics.prompt_tokens.inc(len(h.prompt_ids))

    def _end(self, h: Handle, kind: str, payload: Any) -> None:
        self._handles.pop(h.request_id, None)
        h.done = True
        h.put(kind, payload)

    def _dispatch(self, events: list[Event]) -> None:
        per: dict[str, list[Event]] = {}
        broken: set[str] = set()  # requests whose rerun after a preemption differs from what was delivered
        for e in events:
            h = self._handles.get(e.request_id)
            if h is None:
                continue
            if e.kind == "restart":
                h.seen.clear()
                self.metrics.preemptions.inc()
                continue
            if e.kind == "token":
                key = (e.block, e.branch)
                sent = h.sent.setdefault(key, [])
                n = h.seen[key]
                h.seen[key] += 1
                if n < len(sent):  # a repeat after a restart: delivered already, if it is the same token
                    if sent[n] != e.token_id:
                        broken.add(e.request_id)
                    continue
                sent.append(e.token_id)
                self.metrics.generation_tokens.inc()
                if not h.first_token:
                    h.first_token = True
                    self.metrics.ttft.observe(time.perf_counter() - h.submitted)
            elif e.kind in ("fork", "join"):
                if (e.kind, e.block) in h.sent_events:
                    continue
                h.sent_events.add((e.kind, e.block))
                if e.kind == "fork":
                    self.metrics.forks.inc()
                    self.metrics.branches.inc(e.branches)
            per.setdefault(e.request_id, []).append(e)
        for rid in broken:
            # Rerun on other batch shapes, the kernels may round differently (GPUs): a client must never get a
            # splice of two runs, so the choice ends with an error instead.
            h = self._handles[rid]
            self.engine.abort(rid)
            self.metrics.finished("aborted")
            per.pop(rid, None)
            self._end(h, "error", (500, "the request was preempted and its rerun did not reproduce the tokens already "
                                        "sent; retry it, or give the server more KV room (--kv-budget)"))
        for rid, evs in per.items():
            h = self._handles[rid]
            h.put("events", evs)
            if any(e.kind == "finish" for e in evs):
                traj = self.engine.take(rid)
                self.metrics.e2e.observe(time.perf_counter() - h.submitted)
                self.metrics.finished(traj.finish_reason)
                self._end(h, "finish", traj)

    def _gauges(self) -> None:
        s, kv = self.engine.scheduler, self.engine.kv
        self.metrics.running.set(len(s.running))
        self.metrics.waiting.set(len(s.waiting))
        self.metrics.kv_usage.set(kv.num_used / kv.capacity)
