r"""Graders: is a response's final answer right? Deterministic, and bounded in time per item.

* :func:`grade` ``(response, answer, kind="math", *, timeout=5.0, **options) -> Grade`` grades one response:

  - ``"math"``: the last ``\boxed{}``, normalised, compared with math-verify, numbers with relative tolerances
    (:mod:`npr.rewards.math`, :mod:`npr.rewards.numeric`); a list of gold answers means every one must be given, in
    any order; option ``tolerance`` (absolute, for numeric answers);
  - ``"choice"``: an option letter from the last box or an "answer is (B)" phrase (:mod:`npr.rewards.choice`);
    option ``choices`` (the number of options);
  - ``"zebra"``: a ZebraLogic grid from JSON or a Markdown table, scored cell by cell (:mod:`npr.rewards.zebra`).

  It never raises on model output; it raises ``ValueError`` for an unknown kind or option (naming the kind's
  options) and :class:`InvalidGold` (a ``ValueError``) for a malformed gold answer or option value.
* :func:`check_gold` ``(answer, kind="math", **options) -> None`` raises what :func:`grade` would raise for that gold
  answer and those options, without grading anything: for validating a benchmark when it is loaded.
* :class:`Grade` ``(correct, extracted, reason, score)``, with ``to_dict``/``from_dict``; ``reason`` starts with a
  stable code from :data:`REASON_CODES` (table in :mod:`npr.rewards.verdict`).
* :class:`GradePool` ``(workers=2, timeout=10.0)`` grades in spawned worker processes with a hard per-item timeout:
  ``.grade(...)``, ``.map(jobs)`` (order kept), ``.close()``; a context manager.
* :func:`register_kind` / :class:`Kind` / :func:`kinds` extend the ``kind`` registry (:mod:`npr.rewards.grade`).

The time bound of :func:`grade` itself holds in the main thread only (:mod:`npr.rewards.deadline`); in other threads
size caps (:mod:`npr.rewards.guards`) keep out the inputs known to explode, and :class:`GradePool` is the hard bound.
"""

from npr.rewards.grade import DEFAULT_TIMEOUT, Grader, Kind, check_gold, grade, kind_of, kinds, register_kind
from npr.rewards.pool import GradePool, Job
from npr.rewards.verdict import REASON_CODES, Grade, InvalidGold

__all__ = [
    "grade",
    "check_gold",
    "Grade",
    "GradePool",
    "Job",
    "InvalidGold",
    "REASON_CODES",
    "DEFAULT_TIMEOUT",
    "Kind",
    "Grader",
    "register_kind",
    "kinds",
    "kind_of",
]
