"""Time bounds: the main-thread deadline, what it leaves behind, grading from threads, and the size caps."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import npr.rewards.math as math_grader
from npr.rewards import grade
from npr.rewards.deadline import Deadline, time_limit

from .cases import CASES

needs_itimer = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no SIGALRM/setitimer on this platform")


def _never_finishes(gold: str, predicted: str, tolerance: float | None = None) -> bool:
    time.sleep(60)
    return True


def _busy_forever(gold: str, predicted: str, tolerance: float | None = None) -> bool:
    while True:
        pass


@needs_itimer
@pytest.mark.parametrize("slow", [_never_finishes, _busy_forever], ids=["sleeping", "busy"])
def test_slow_comparison_is_cut_in_the_main_thread(monkeypatch: pytest.MonkeyPatch, slow) -> None:
    monkeypatch.setattr(math_grader, "equivalent", slow)
    started = time.monotonic()
    result = grade(r"the answer is \boxed{7}", "7", timeout=0.3)
    assert time.monotonic() - started < 2.0
    assert (result.correct, result.extracted, result.code, result.score) == (False, "7", "timeout", 0.0)


@needs_itimer
def test_deadline_restores_the_previous_handler_and_timer() -> None:
    fired: list[int] = []

    def handler(signum, frame) -> None:
        fired.append(signum)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        assert grade(r"\boxed{\frac{1}{2}}", "0.5", timeout=1.0).correct
        assert signal.getsignal(signal.SIGALRM) is handler
        remaining, _interval = signal.getitimer(signal.ITIMER_REAL)
        assert 25.0 < remaining <= 30.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == []


@needs_itimer
def test_an_overdue_previous_timer_fires_after_the_block() -> None:
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with time_limit(5.0):
            time.sleep(0.2)
        time.sleep(0.1)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@needs_itimer
def test_deadline_is_not_swallowed_by_except_exception() -> None:
    with pytest.raises(Deadline):
        with time_limit(0.1):
            try:
                time.sleep(5)
            except Exception:  # noqa: BLE001 - what math-verify and sympy do internally
                pass


def test_grading_from_threads_works_and_agrees_with_the_main_thread() -> None:
    jobs = [(case.response, case.answer, case.kind, case.options) for case in CASES]
    inline = [grade(response, answer, kind, **options) for response, answer, kind, options in jobs]
    with ThreadPoolExecutor(max_workers=4) as executor:
        threaded = list(executor.map(lambda job: grade(job[0], job[1], job[2], **job[3]), jobs))
    assert threaded == inline


def test_explosive_inputs_are_refused_quickly_in_a_thread() -> None:
    explosive = [
        r"\boxed{9^{9^{9}}}",
        r"\boxed{10^{10^{10}}}",
        r"\boxed{(10^{100})!}",
        r"\boxed{" + "{" * 40 + "1" + "}" * 40 + "}",
    ]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as executor:
        results = list(executor.map(lambda response: grade(response, "1"), explosive))
    assert time.monotonic() - started < 2.0
    assert [result.code for result in results] == ["too_long"] * len(explosive)
