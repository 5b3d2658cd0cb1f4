"""A time bound for pure-Python work in the main thread: :func:`time_limit`.

math-verify bounds its own work with ``signal.alarm``, which fails outside the main thread and clobbers any alarm the
caller had set. The graders therefore switch that off and use :func:`time_limit` instead, which

* applies only in the main thread of the main interpreter, on platforms with ``SIGALRM``; elsewhere it is a no-op and
  the callers rely on input-size caps (:class:`npr.rewards.GradePool` gives a hard bound in any setting);
* uses ``ITIMER_REAL`` with sub-second resolution, and puts back the previous ``SIGALRM`` handler and whatever remains
  of a previous timer when it exits;
* raises :class:`Deadline`, a ``BaseException``, so that the ``except Exception`` blocks inside math-verify and sympy
  do not swallow it; the timer re-fires every :data:`REFIRE_S` seconds after the deadline in case something swallows
  it anyway.

A signal handler only runs between Python bytecodes, so a single long C call (a huge integer power, say) is not
interrupted until it returns; the size caps in the graders keep such inputs out.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Deadline", "time_limit", "can_interrupt", "REFIRE_S"]

#: Interval at which the timer fires again after the deadline, until :func:`time_limit` exits.
REFIRE_S = 0.05


class Deadline(BaseException):
    """Raised inside a :func:`time_limit` block when its time is up."""


def can_interrupt() -> bool:
    """Whether :func:`time_limit` can bound work in the calling thread."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`Deadline` in the block if it runs longer than ``seconds``; a no-op when it cannot interrupt.

    ``None`` or a non-positive value means no bound.
    """
    if seconds is None or seconds <= 0 or not can_interrupt():
        yield
        return
    armed = [True]

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if armed[0]:
            raise Deadline(f"over {seconds} s")

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    # A delay that rounds to zero microseconds would disarm the timer instead of firing it.
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-4), REFIRE_S)
    started = time.monotonic()
    try:
        yield
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        # None means the previous handler was not installed from Python; the default is the best we can restore.
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous_handler is None else previous_handler)
        if previous_delay > 0:
            remaining = previous_delay - (time.monotonic() - started)
            # A timer that would have fired meanwhile fires now rather than never.
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6), previous_interval)
