"""Evaluation: the paper's benchmarks, the metrics that judge a parallel reasoner, and ``npr eval`` (DESIGN §6).

* :mod:`npr.eval.benchmarks` - the registry (``aime24`` ... ``gsm8k``, ``zebralogic-gen``), local files and hub
  datasets, all as :class:`Item` ``(id, question, answer, meta)``;
* :mod:`npr.eval.zebra` - a seeded generator of ZebraLogic-style puzzles with unique solutions;
* :mod:`npr.eval.metrics` - avg@k, pass@k, best@k, format, parallel rate, genuine-parallel share, tokens, speed;
* :mod:`npr.eval.runner` - :func:`run_eval`: engine, grading, resumable ``results.jsonl``;
* :mod:`npr.eval.report` / :mod:`npr.eval.plots` - ``summary.json``, ``report.md`` and the PNG plots;
* :mod:`npr.eval.compare` and :mod:`npr.eval.score` - ``--compare`` two runs, ``--score`` outside responses.

Grading itself lives one floor down, in :mod:`npr.rewards`, because training rewards use it too.
"""

from npr.eval.benchmarks import BENCHMARKS, Benchmark, get_benchmark, load_benchmark, load_file
from npr.eval.specs import resolve
from npr.eval.config import EvalConfig
from npr.eval.item import Item
from npr.eval.metrics import benchmark_metrics, pass_at_k
from npr.eval.runner import run_eval

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "EvalConfig",
    "Item",
    "benchmark_metrics",
    "get_benchmark",
    "load_benchmark",
    "load_file",
    "pass_at_k",
    "resolve",
    "run_eval",
]
