"""Engines on Ray actors, behind the engine's own ``submit`` / ``step`` / ``take`` / ``abort``.

``npr eval --ray`` and ``npr distill --ray`` hand an :class:`ActorEngines` to the loop that otherwise drives one
engine (:func:`npr.eval.runner.keep_in_flight`). It holds N actors, each with an :class:`~npr.engine.Engine` on
the model (one per GPU, or per slice of CPU cores). ``step`` sends the requests queued so far to the idle actors,
split evenly, and returns ``finish`` events as their batches come back. Everything else stays in the driver: the
prompts, the grading and the results file. So a run on Ray writes what one process writes, and a driver that
crashes resumes from its results file as usual.

Every sample's seed is fixed by what the sample is (:func:`npr.eval.runner.sample_seed`), and the engine's
output depends only on the seed, not on the batch. So which actor decodes a request changes nothing.

An actor that dies is restarted by Ray, and the batch it held is sent again (``max_restarts``,
``max_task_retries``). The driver records a sample only when its trajectory arrives, so nothing is lost or counted
twice.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from typing import Any

from npr.engine import Engine, EngineConfig, Event, SamplingParams, Trajectory


def _ray():
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray: pip install 'native-parallel-reasoner[ray]' (or pip install ray)") from None
    return ray


class EngineActor:
    """One engine in one Ray actor; :meth:`decode` runs a batch of requests to the end.

    ``model`` is a model folder, or ``(module, tokenizer)`` of a policy in memory (RL sends its own).
    """

    def __init__(self, model, engine: dict[str, Any], dtype: str, device: str | None, threads: int | None):
        import torch

        if threads:
            torch.set_num_threads(threads)
        if isinstance(model, str):
            self.engine = Engine.from_pretrained(model, EngineConfig(**engine), dtype=dtype, device=device)
        else:
            module, tokenizer = model
            self.engine = Engine(module.to(device) if device else module, tokenizer, EngineConfig(**engine))

        self.version = 0  # of the weights: 0 = as loaded

    def _sync(self, weights) -> None:
        """Load newer weights (an RL update) and drop the prefix cache, whose KV the old weights computed. A
        restarted actor starts at version 0 and so catches up here, before it decodes anything."""
        if weights is not None and weights[0] != self.version:
            import ray

            self.engine.model.load_state_dict(ray.get(weights[1][0]))
            self.engine.flush_cache()
            self.version = weights[0]

    def stop_ids(self) -> frozenset[int]:
        return self.engine.stop_ids

    def decode(self, requests: Sequence[tuple[str, list[int], SamplingParams, str]], weights=None
               ) -> list[tuple[str, Trajectory]]:  # fmt: skip
        """Decode ``requests`` to the end, with the weights of version ``weights[0]`` (``weights[1]`` wraps their
        object ref, so that Ray fetches them only when this actor's are older)."""
        self._sync(weights)
        for rid, prompt, params, mode in requests:
            self.engine.submit(prompt, params, mode, request_id=rid)
        want = [r[0] for r in requests]
        got: dict[str, Trajectory] = {}
        while len(got) < len(want):
            self.engine.step()
            for rid in want:
                if rid not in got and (traj := self.engine.take(rid)) is not None:
                    got[rid] = traj
        return [(rid, got[rid]) for rid in want]


class ActorEngines:
    """N engine actors that look like one engine to :func:`~npr.eval.runner.keep_in_flight`.

    Args:
        model: the model folder (every actor loads it).
        actors: how many engines.
        address: a Ray cluster's address (``ray start --head`` prints it), or None for a local Ray on this machine.
        kv_budget, dtype, device: each engine's settings.
        gpus_per_actor: 1 on a GPU cluster; 0 on CPUs, where the local cores are split between the actors.
    """

    remote = True

    def __init__(self, model, *, actors: int, address: str | None = None, kv_budget: int = 32768,
                 dtype: str = "float32", device: str | None = None, gpus_per_actor: float = 0.0,
                 engine: dict[str, Any] | None = None):  # fmt: skip
        if actors < 1:
            raise ValueError(f"--actors {actors}: at least one actor is needed")
        ray = _ray()
        if isinstance(model, str):
            from transformers import AutoTokenizer

            from npr.tokens import TagIds, add_tags

            try:
                self.tokenizer = AutoTokenizer.from_pretrained(model)
            except (OSError, ValueError) as exc:
                raise ValueError(f"cannot load the model {model!r}: {exc}") from None
            try:
                TagIds.from_tokenizer(self.tokenizer)
            except (KeyError, ValueError):
                add_tags(None, self.tokenizer)  # as Engine.from_pretrained does in each actor
        else:
            self.tokenizer = model[1]
        self._started = not ray.is_initialized()
        if self._started:
            local = address is None
            ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                     **({"num_cpus": os.cpu_count() or 1} if local else {}))  # fmt: skip
        cpus = max(1, (os.cpu_count() or 1) // actors) if not gpus_per_actor else 1
        self._make = ray.remote(num_cpus=cpus, num_gpus=gpus_per_actor, max_restarts=-1,
                                max_task_retries=-1)(EngineActor)  # fmt: skip
        source = model if isinstance(model, str) else ray.put(model)
        args = (source, {"kv_budget": kv_budget, **(engine or {})}, dtype, device, cpus if not gpus_per_actor else None)
        self._args = args
        self.actors = [self._make.remote(*args) for _ in range(actors)]
        self._weights = None  # (version, [object ref]) of the newest weights, sent with every batch
        self._queue: deque = deque()
        self._busy: dict[Any, tuple[int, list]] = {}  # object ref -> (actor index, its batch)
        self._results: dict[str, Trajectory] = {}
        self._dropped: set[str] = set()
        self._n = 0
        self.batches_resent = 0

    # ---- the engine's interface -------------------------------------------------------------------------------

    def submit(self, prompt: Sequence[int], params: SamplingParams | None = None, mode: str = "parallel",
               request_id: str | None = None) -> str:  # fmt: skip
        if isinstance(prompt, str):
            raise TypeError("ActorEngines takes prompt token ids (encode the question with the driver's tokenizer)")
        rid = request_id or f"ray-{self._n}"
        self._n += 1
        self._queue.append((rid, [int(t) for t in prompt], params or SamplingParams(), mode))
        return rid

    def has_work(self) -> bool:
        return bool(self._queue or self._busy)

    def busy(self) -> set[int]:
        """The actors with a batch in flight."""
        return {a for a, _ in self._busy.values()}

    def dispatch(self) -> None:
        """Send what is queued to the idle actors, split evenly."""
        idle = [a for a in range(len(self.actors)) if a not in self.busy()]
        if self._queue and idle:
            per = -(-len(self._queue) // len(idle))
            for a in idle:
                batch = [self._queue.popleft() for _ in range(min(per, len(self._queue)))]
                if batch:
                    self._busy[self.actors[a].decode.remote(batch, self._weights)] = (a, batch)

    def step(self) -> list[Event]:
        """Dispatch what is queued, then wait for at least one batch to come back."""
        ray = _ray()
        self.dispatch()
        if not self._busy:
            return []
        ready, _ = ray.wait(list(self._busy), num_returns=1)
        events = []
        for ref in ready:
            a, batch = self._busy.pop(ref)
            try:
                out = ray.get(ref)
            except ray.exceptions.RayActorError:
                # Ray's own restarts and retries gave up: a fresh actor takes the batch again
                self.actors[a] = self._make.remote(*self._args)  # it catches up with the weights on its batch
                self._queue.extendleft(reversed(batch))
                self.batches_resent += 1
                continue
            for rid, traj in out:
                if rid in self._dropped:
                    self._dropped.discard(rid)
                    continue
                self._results[rid] = traj
                events.append(Event("finish", rid, finish_reason=traj.finish_reason))
        return events

    def generate(self, prompts: Sequence[Sequence[int]], params: Sequence[SamplingParams],
                 mode: str = "parallel") -> list[Trajectory]:  # fmt: skip
        """Decode every prompt (token ids) on the actors; one trajectory per prompt, in order."""
        ids = [self.submit(p, sp, mode) for p, sp in zip(prompts, params, strict=True)]
        while any(i not in self._results for i in ids):
            self.step()
        return [self._results.pop(i) for i in ids]

    @property
    def stop_ids(self) -> frozenset[int]:
        if not hasattr(self, "_stop_ids"):
            self._stop_ids = _ray().get(self.actors[0].stop_ids.remote())
        return self._stop_ids

    def set_weights(self, state: dict) -> None:
        """Weights for every later batch (an RL update): each actor loads them before its next batch."""
        version = (self._weights[0] if self._weights else 0) + 1
        self._weights = (version, [_ray().put({k: v.detach().cpu() for k, v in state.items()})])

    def take(self, request_id: str) -> Trajectory | None:
        return self._results.pop(request_id, None)

    def abort(self, request_id: str) -> None:
        """Forget a request: dropped from the queue, or its trajectory discarded when its batch comes back."""
        before = len(self._queue)
        self._queue = deque(r for r in self._queue if r[0] != request_id)
        if len(self._queue) == before and request_id not in self._results:
            self._dropped.add(request_id)
        self._results.pop(request_id, None)

    def close(self) -> None:
        ray = _ray()
        for actor in self.actors:
            ray.kill(actor, no_restart=True)
        self.actors = []
        if self._started and ray.is_initialized():
            ray.shutdown()

    def __enter__(self) -> ActorEngines:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
