"""Grading in worker processes with a hard time bound per item: :class:`GradePool`.

:func:`npr.rewards.grade` can only interrupt itself in the main thread; a pool bounds every item wherever it is called
from. Each slot is one worker process, started with the ``spawn`` method (the parent may hold torch and CUDA state,
which ``fork`` would copy). A worker imports only :mod:`npr.rewards` and its dependencies, never torch; note that
``spawn`` re-imports the parent's ``__main__`` script (not a ``-m`` module), so a script that creates a pool should
keep heavy imports under ``if __name__ == "__main__":``.

When an item runs past ``timeout`` seconds its worker is killed and replaced, and the item gets
``Grade(correct=False, extracted=<the kind's cheap extraction, or None>, reason="timeout: ...", score=0.0)``. A worker
that dies otherwise gives ``worker_died``. Inside the worker, :func:`grade` keeps its own soft bound (its
``timeout`` keyword, by default 90 % of the pool's), which answers with a ``timeout`` verdict without a restart; so
the pool's ``timeout`` is the time an item really gets (``--grade-timeout 30`` means 30 s, not
:data:`npr.rewards.DEFAULT_TIMEOUT`), and the kill is only the backstop for work the soft bound cannot interrupt.

A malformed gold answer, an unknown kind or an unknown option raises ``ValueError`` in the caller, as :func:`grade`
does (after the items already running finish). A pool is not meant to be shared between threads; its methods hold a
lock to stay safe if it is. Kinds registered with :func:`register_kind` in the parent do not reach the workers: pass
an ``initializer`` (an importable function, run once in each worker) that registers them.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from npr.rewards.grade import grade, kind_of
from npr.rewards.verdict import TIMEOUT, WORKER_DIED, Grade

__all__ = ["GradePool", "Job"]

#: One item for :meth:`GradePool.map`: (response, answer, kind, keyword arguments of :func:`grade`).
Job = tuple[str, Any, str, dict[str, Any]]

_READY = "ready"
_OK = "ok"
_RAISED = "raised"
#: The share of the pool's timeout given to :func:`grade`'s own bound inside the worker; the rest is the margin for
#: it to answer before the worker is killed.
_INNER_SHARE = 0.9
#: Seconds a worker may take to start (import sympy and math-verify) before the pool gives up on it.
_START_TIMEOUT = 120.0


def _serve(conn: Connection, initializer: Callable[[], None] | None) -> None:
    """A worker's loop: grade each ``(index, response, answer, kind, options)`` received, until ``None`` or EOF."""
    # Ctrl-C reaches the whole process group; the parent handles it and closes the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if initializer is not None:
        initializer()
    conn.send((_READY, None))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        index, response, answer, kind, options = message
        try:
            reply: tuple[str, Any] = (_OK, grade(response, answer, kind, **options))
        except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
            reply = (_RAISED, error)
        try:
            conn.send((index, reply))
        except Exception as error:  # noqa: BLE001 - an exception that does not pickle
            conn.send((index, (_RAISED, RuntimeError(f"{type(error).__name__}: {error}"))))


@dataclass
class _Slot:
    """One worker process and the parent's end of its pipe."""

    process: BaseProcess
    conn: Connection
    started: float
    ready: bool = False
    job: int | None = None
    deadline: float = field(default=float("inf"))


def _shutdown(slots: list[_Slot]) -> None:
    """Stop every worker: ask politely, then kill what is still running."""
    for slot in slots:
        try:
            slot.conn.send(None)
        except (OSError, ValueError):
            pass
    for slot in slots:
        slot.process.join(timeout=2.0)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join(timeout=2.0)
        slot.conn.close()
    slots.clear()


class GradePool:
    """Grade in ``workers`` processes, each item bounded by ``timeout`` seconds; a context manager.

    Args:
        workers: the number of worker processes (each costs about a second to start, and some 150 MB).
        timeout: the hard bound per item, in seconds, from when a worker receives it.
        initializer: run once in each worker before it grades (e.g. to register extra kinds); it must be importable
            by name, since workers are spawned.
    """

    def __init__(self, workers: int = 2, timeout: float = 10.0, *, initializer: Callable[[], None] | None = None):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive int, got {workers!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.workers = workers
        self.timeout = float(timeout)
        self._initializer = initializer
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._slots: list[_Slot] = [self._start() for _ in range(workers)]
        self._finalizer = weakref.finalize(self, _shutdown, self._slots)

    def __enter__(self) -> GradePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers; the pool cannot be used afterwards. Calling it again does nothing."""
        with self._lock:
            self._finalizer()

    def grade(self, response: str, answer: Any, kind: str = "math", **options: Any) -> Grade:
        """:func:`npr.rewards.grade` in a worker, bounded by the pool's ``timeout``."""
        return self.map([(response, answer, kind, options)])[0]

    def map(self, jobs: Iterable[Job]) -> list[Grade]:
        """Grade every ``(response, answer, kind, options)`` concurrently; the results are in the order of ``jobs``.

        ``kind`` and ``options`` may be left out of a job (``"math"``, no options).
        """
        inner_timeout = _INNER_SHARE * self.timeout
        items = [_job(job, inner_timeout) for job in jobs]
        with self._lock:
            if not self._finalizer.alive:
                raise RuntimeError("the GradePool is closed")
            return self._run(items)

    def _start(self) -> _Slot:
        parent_end, child_end = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=_serve, args=(child_end, self._initializer), daemon=True, name="npr-grade-worker"
        )
        process.start()
        # The parent keeps only its own end, so that a dead worker shows as EOF.
        child_end.close()
        return _Slot(process, parent_end, started=time.monotonic())

    def _restart(self, index: int) -> None:
        old = self._slots[index]
        old.process.kill()
        old.process.join(timeout=5.0)
        old.conn.close()
        self._slots[index] = self._start()

    def _run(self, items: Sequence[Job]) -> list[Grade]:
        results: list[Grade | None] = [None] * len(items)
        pending = deque(range(len(items)))
        failures: list[BaseException] = []
        while pending or any(slot.job is not None for slot in self._slots):
            if failures:
                # Stop handing out work; the items already running finish so that their workers stay in step.
                pending.clear()
            self._dispatch(items, pending)
            self._receive(items, results, failures)
            for index, slot in enumerate(self._slots):
                if slot.job is not None and time.monotonic() >= slot.deadline:
                    job = slot.job
                    self._restart(index)
                    results[job] = Grade.wrong(
                        _cheap_extract(items[job]), f"{TIMEOUT}: over {self.timeout:g} s (worker killed)"
                    )
                elif not slot.ready and time.monotonic() - slot.started > _START_TIMEOUT:
                    raise RuntimeError(f"a grading worker did not start within {_START_TIMEOUT:g} s")
        if failures:
            raise failures[0]
        return [result for result in results if result is not None]

    def _dispatch(self, items: Sequence[Job], pending: deque[int]) -> None:
        for index, slot in enumerate(self._slots):
            if not pending or not slot.ready or slot.job is not None:
                continue
            job = pending.popleft()
            try:
                slot.conn.send((job, *items[job]))
            except (OSError, ValueError):
                # The worker died while idle: the job never reached it, so it goes back in the queue.
                pending.appendleft(job)
                self._restart(index)
                continue
            slot.job = job
            slot.deadline = time.monotonic() + self.timeout

    def _receive(self, items: Sequence[Job], results: list[Grade | None], failures: list[BaseException]) -> None:
        now = time.monotonic()
        deadlines = [slot.deadline for slot in self._slots if slot.job is not None]
        wait_s = max(0.0, min(deadlines) - now) if deadlines else 1.0
        ready = wait([slot.conn for slot in self._slots], timeout=min(wait_s, 1.0))
        for index, slot in enumerate(list(self._slots)):
            if slot.conn not in ready:
                continue
            try:
                message = slot.conn.recv()
            except (EOFError, OSError):
                self._on_death(index, items, results)
                continue
            if message[0] == _READY:
                slot.ready = True
                continue
            job, (status, payload) = message
            slot.job, slot.deadline = None, float("inf")
            if status == _OK:
                results[job] = payload
            else:
                failures.append(payload)

    def _on_death(self, index: int, items: Sequence[Job], results: list[Grade | None]) -> None:
        slot = self._slots[index]
        if not slot.ready:
            slot.process.join(timeout=5.0)
            raise RuntimeError(
                f"a grading worker exited while starting (exit code {slot.process.exitcode}); its error is on stderr."
                ' A script that creates a GradePool must guard its top level with `if __name__ == "__main__":`'
            )
        job = slot.job
        slot.process.join(timeout=5.0)
        code = slot.process.exitcode
        self._restart(index)
        if job is not None:
            results[job] = Grade.wrong(_cheap_extract(items[job]), f"{WORKER_DIED}: exit code {code}")


def _job(job: Sequence[Any], inner_timeout: float) -> Job:
    """``job`` as a full 4-tuple with its own copy of the options; ``kind`` and options may be left out."""
    if not 2 <= len(job) <= 4:
        raise ValueError(f"a job is (response, answer, kind, options), got {len(job)} fields")
    response, answer = job[0], job[1]
    kind = job[2] if len(job) > 2 else "math"
    options = dict(job[3] or {}) if len(job) > 3 else {}
    options.setdefault("timeout", inner_timeout)
    return response, answer, kind, options


def _cheap_extract(job: Job) -> str | None:
    """The kind's extraction of the job's response, computed in the parent; ``None`` if unknown or failing."""
    response, _answer, kind, _options = job
    try:
        extract = kind_of(kind).extract
        return None if extract is None or not isinstance(response, str) else extract(response)
    except Exception:  # noqa: BLE001 - only a courtesy for the timeout verdict
        return None
