"""The native parallel engine: paged KV shared across branches, fork/join without recompute, budgets and flow
control, and log-probs that equal the training forward's (DESIGN §3, §4).

* :class:`Engine` - submit / step / generate / stream / replay / abort.
* :class:`EngineConfig`, :class:`SamplingParams` - configuration, validated on construction.
* :class:`Trajectory` - one request's flat canonical tokens, positions, log-probs, sampled flags, segments, stats.
"""

from npr.engine.config import EngineConfig, SamplingParams
from npr.engine.engine import Engine
from npr.engine.request import Event
from npr.engine.runner import UnsupportedModel
from npr.engine.trajectory import Trajectory

__all__ = ["Engine", "EngineConfig", "Event", "SamplingParams", "Trajectory", "UnsupportedModel"]
