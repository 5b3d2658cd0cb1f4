"""Optional GPU engines for sequential-mode work: vLLM and SGLang behind npr's engine interface.

``npr eval --engine vllm|sglang`` and ``npr distill --engine vllm|sglang`` decode with another engine when it is
installed. That engine serves the sequential-mode workloads: Stage-1 rollouts and evaluation, the SR baseline,
plain models. Each backend takes the requests that :func:`~npr.eval.runner.keep_in_flight` submits, decodes
them in one ``generate`` call per step (the backend batches continuously inside it), and returns npr
:class:`~npr.engine.Trajectory` s: the same ids, per-token log-probs, finish reasons and topology segments that
npr's engine gives, so grading, records and reports do not change.

**Parallel mode stays on npr's engine.** Neither backend can fork a request into branches that share the prefix
KV without seeing each other and then join them without recompute. That is the exact topology of DESIGN §3,
which training uses. A request in parallel mode is refused with that reason.

Both libraries are imported only when chosen: a CPU install never needs them.
"""

from __future__ import annotations

import abc
import importlib
import time
from collections.abc import Sequence
from typing import Any

from npr.engine import Event, SamplingParams, Trajectory
from npr.tokens import TagIds
from npr.topology import TopologyError, layout


def _import(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ValueError(f"--engine {name} needs the {name} package, which is not installed here "
                         f"(it needs a GPU; pip install {name})") from None  # fmt: skip


class Backend(abc.ABC):
    """What both backends share: the request queue, the engine interface, and building trajectories."""

    name = "backend"
    remote = True  # no token events: the evaluation loop counts tokens from the trajectories

    def __init__(self, tokenizer, stop_ids: frozenset[int]):
        self.tokenizer = tokenizer
        self.stop_ids = stop_ids
        try:
            self.tags: TagIds | None = TagIds.from_tokenizer(tokenizer)
        except (KeyError, ValueError):
            self.tags = None  # a plain model: no NPR tags, no segments
        self._queue: list[tuple[str, list[int], SamplingParams]] = []
        self._results: dict[str, Trajectory] = {}
        self._n = 0

    def submit(self, prompt: Sequence[int], params: SamplingParams | None = None, mode: str = "sequential",
               request_id: str | None = None) -> str:  # fmt: skip
        if mode != "sequential":
            raise ValueError(
                f"--engine {self.name} decodes in sequential mode only: parallel mode needs npr's engine, the one that "
                "forks branches over a shared prefix KV and joins them without recompute (use --mode sequential, "
                "or leave --engine at npr)"
            )
        if isinstance(prompt, str):
            raise TypeError("a backend takes prompt token ids (encode the question with its tokenizer)")
        rid = request_id or f"{self.name}-{self._n}"
        self._n += 1
        self._queue.append((rid, [int(t) for t in prompt], params or SamplingParams()))
        return rid

    def has_work(self) -> bool:
        return bool(self._queue)

    def step(self) -> list[Event]:
        """Decode everything queued in one call to the backend; every request finishes in this step."""
        batch, self._queue = self._queue, []
        if not batch:
            return []
        t0 = time.perf_counter()
        outputs = self._generate([p for _, p, _ in batch], [sp for _, _, sp in batch])
        seconds = time.perf_counter() - t0
        events = []
        for (rid, prompt, params), (ids, logprobs, reason) in zip(batch, outputs, strict=True):
            self._results[rid] = self._trajectory(rid, prompt, params, ids, logprobs, reason, seconds)
            events.append(Event("finish", rid, finish_reason=self._results[rid].finish_reason))
        return events

    def take(self, request_id: str) -> Trajectory | None:
        return self._results.pop(request_id, None)

    def abort(self, request_id: str) -> None:
        self._queue = [r for r in self._queue if r[0] != request_id]
        self._results.pop(request_id, None)

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release the library's workers (SGLang has some; vLLM's go with the process)."""

    @abc.abstractmethod
    def _generate(self, prompts: list[list[int]], params: list[SamplingParams]):
        """``[(response ids, log-probs, "stop" | "length"), ...]``, one per prompt."""

    def _trajectory(self, rid: str, prompt: list[int], params: SamplingParams, ids: list[int],
                    logprobs: list[float | None], reason: str, seconds: float) -> Trajectory:  # fmt: skip
        p, n = len(prompt), len(ids)
        token_ids = prompt + ids
        stats: dict[str, Any] = {
            "total_tokens": n, "critical_path_tokens": n, "forks": 0, "branches_per_block": [],
            "sampled_tokens": n, "forced_tokens": 0, "preemptions": 0, "wall_time": seconds, "engine": self.name,
        }  # fmt: skip
        segments = []
        if self.tags is not None:
            try:
                segments = list(layout(token_ids, self.tags, p, parallel=False).segments)
            except TopologyError as exc:
                stats["layout_error"] = str(exc)
        return Trajectory(
            request_id=rid, prompt_len=p, token_ids=token_ids, position_ids=list(range(len(token_ids))),
            logprobs=[None] * p + list(logprobs), sampled=[False] * p + [True] * n, segments=segments,
            text=self.tokenizer.decode(ids, skip_special_tokens=False), finish_reason=reason, mode="sequential",
            seed=params.seed if params.seed is not None else -1, stats=stats,
        )  # fmt: skip


def _eos_ids(tokenizer, *more) -> frozenset[int]:
    ids = set()
    for src in (tokenizer.eos_token_id, *more):
        if isinstance(src, int):
            ids.add(src)
        elif isinstance(src, (list, tuple, set, frozenset)):
            ids.update(int(x) for x in src)
    return frozenset(ids)


def _generation_eos(model: str):
    """The model's own end-of-turn ids (its generation config), which npr's engine also stops at."""
    from transformers import GenerationConfig

    try:
        return GenerationConfig.from_pretrained(model).eos_token_id
    except (OSError, ValueError):
        return None


class VLLMBackend(Backend):
    """vLLM's offline ``LLM``: ``generate`` on token-id prompts, one ``SamplingParams`` per request."""

    name = "vllm"

    def __init__(self, model: str, *, dtype: str = "bfloat16", seed: int = 0, **llm_kwargs: Any):
        self.vllm = _import("vllm")
        self.llm = self.vllm.LLM(model=model, dtype=dtype, seed=seed, **llm_kwargs)
        tokenizer = self.llm.get_tokenizer()
        super().__init__(tokenizer, _eos_ids(tokenizer, _generation_eos(model)))

    def _params(self, sp: SamplingParams):
        return self.vllm.SamplingParams(
            temperature=sp.temperature, top_p=sp.top_p, top_k=sp.top_k if sp.top_k > 0 else -1, seed=sp.seed,
            max_tokens=sp.max_tokens, stop_token_ids=sorted(self.stop_ids | set(sp.stop_token_ids)), logprobs=0,
            detokenize=False,
        )  # fmt: skip

    def _generate(self, prompts, params):
        requests = [{"prompt_token_ids": p} for p in prompts]
        outs = self.llm.generate(requests, [self._params(sp) for sp in params], use_tqdm=False)
        results = []
        for out in outs:
            o = out.outputs[0]
            ids = list(o.token_ids)
            lps = [(d.get(t).logprob if d and d.get(t) is not None else None) for t, d in zip(ids, o.logprobs or [{}] * len(ids))]
            results.append((ids, lps, "length" if o.finish_reason == "length" else "stop"))
        return results


class SGLangBackend(Backend):
    """SGLang's offline ``Engine``: ``generate(input_ids=..., sampling_params=..., return_logprob=True)``."""

    name = "sglang"

    def __init__(self, model: str, *, dtype: str = "bfloat16", seed: int = 0, **engine_kwargs: Any):
        sglang = _import("sglang")
        self.engine = sglang.Engine(model_path=model, dtype=dtype, random_seed=seed, **engine_kwargs)
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model)
        super().__init__(tokenizer, _eos_ids(tokenizer, _generation_eos(model)))

    def _params(self, sp: SamplingParams) -> dict[str, Any]:
        d = {"temperature": sp.temperature, "top_p": sp.top_p, "top_k": sp.top_k if sp.top_k > 0 else -1,
             "max_new_tokens": sp.max_tokens, "stop_token_ids": sorted(self.stop_ids | set(sp.stop_token_ids))}  # fmt: skip
        if sp.seed is not None:
            d["sampling_seed"] = sp.seed
        return d

    def _generate(self, prompts, params):
        outs = self.engine.generate(input_ids=prompts, sampling_params=[self._params(sp) for sp in params],
                                    return_logprob=True)  # fmt: skip
        results = []
        for out in outs:
            meta = out["meta_info"]
            ids = list(out["output_ids"])
            lps = [float(x[0]) if x and x[0] is not None else None for x in meta.get("output_token_logprobs", [])]
            lps = (lps + [None] * len(ids))[: len(ids)]
            reason = meta.get("finish_reason") or {}
            results.append((ids, lps, "length" if reason.get("type") == "length" else "stop"))
        return results

    def close(self) -> None:
        self.engine.shutdown()


BACKENDS = {"vllm": VLLMBackend, "sglang": SGLangBackend}


def make_backend(name: str, model: str, *, dtype: str, seed: int = 0):
    """The backend called ``name`` over ``model``, or None for npr's own engine (``name == "npr"``)."""
    if name == "npr":
        return None
    if name not in BACKENDS:
        raise ValueError(f"unknown engine {name!r}: choose npr, {', '.join(BACKENDS)}")
    return BACKENDS[name](model, dtype=dtype, seed=seed)
