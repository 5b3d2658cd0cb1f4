"""The :class:`Engine`: native parallel decoding of NPR trajectories (DESIGN §4).

>>> engine = Engine.from_pretrained("path/to/model")                                   # doctest: +SKIP
>>> [traj] = engine.generate(["What is 17*23?"], SamplingParams(seed=0))               # doctest: +SKIP
>>> traj.text, traj.finish_reason, traj.stats["critical_path_tokens"]                  # doctest: +SKIP

Each call to :meth:`Engine.step` runs one forward over every runnable sequence of every running request
(continuous batching), then lets each request decide what comes next: sample, fork, join or finish.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Sequence

import torch

from npr.engine.config import EngineConfig, SamplingParams
from npr.engine.kv import KVStore
from npr.engine.prefix_cache import PrefixCache
from npr.engine.request import Event, Finish, Headers, Request, Script, Steer
from npr.engine.runner import Batch, ModelRunner, check_supported
from npr.engine.scheduler import Scheduler
from npr.engine.steer import ShapeSteer
from npr.engine.trajectory import Trajectory
from npr.tokens import TagIds, encode_prompt
from npr.topology import SegmentKind, TopologyError, layout

Prompt = str | Sequence[int]


class Engine:
    """Decodes NPR trajectories with real forks and joins over a shared, paged KV store.

    Args:
        model: an HF Llama-family causal LM (Llama, Qwen2/2.5, Qwen3, SmolLM2). The engine uses its parameter
            tensors as they are - no copy - so a trainer can decode with the very weights it trains.
        tokenizer: its tokenizer, with the eight NPR tags added (:func:`npr.tokens.add_tags`).
        config: :class:`EngineConfig`.
    """

    def __init__(self, model, tokenizer, config: EngineConfig | None = None):
        self.config = config or EngineConfig()
        check_supported(model)
        self.model = model  # not switched to eval(): a trainer may own it; the runner uses no dropout anyway
        self.tokenizer = tokenizer
        self.tags = TagIds.from_tokenizer(tokenizer)
        rows = model.get_input_embeddings().weight.shape[0]
        if len(tokenizer) > rows:
            raise ValueError(
                f"the tokenizer has {len(tokenizer)} tokens but the model's embedding table only {rows} rows: they "
                "do not belong together (after add_tags, pass the same model and tokenizer)"
            )
        cfg = model.config
        param = next(model.parameters())
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        kv_heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
        self.kv = KVStore(cfg.num_hidden_layers, kv_heads, head_dim, self.config.kv_budget, param.dtype, param.device)
        self.runner = ModelRunner(model, self.kv)
        self.cache = PrefixCache(self.kv) if self.config.prefix_cache else None
        self.scheduler = Scheduler(self.config, self.kv, self.cache)
        self._requests: dict[str, Request] = {}
        self._results: dict[str, Trajectory] = {}
        self._submitted: dict[str, float] = {}
        self._next_id = 0
        self._step_headers: list[tuple[int, ...]] = []
        self._join_header = self._encode(self.config.join_header)
        self._stop_ids = self._eos_ids()

    @classmethod
    def from_pretrained(
        cls,
        path_or_id: str,
        config: EngineConfig | None = None,
        *,
        dtype: str | torch.dtype = "float32",
        device: str | None = None,
        add_tags: bool = True,
    ) -> Engine:
        """Load a model folder (or a hub id, when online) and its tokenizer.

        With ``add_tags`` the eight tags are added when missing (their embeddings are initialised, not trained:
        such a model will rarely emit the format until it is trained).
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from npr.tokens import add_tags as _add_tags

        dt = getattr(torch, dtype) if isinstance(dtype, str) else dtype
        tok = AutoTokenizer.from_pretrained(path_or_id)
        model = AutoModelForCausalLM.from_pretrained(path_or_id, dtype=dt).eval()
        check_supported(model)
        if device:
            model = model.to(device)
        if add_tags:
            _add_tags(model, tok)
        return cls(model, tok, config)

    # ---- submitting -------------------------------------------------------------------------------------------

    def _encode(self, text: str) -> tuple[int, ...]:
        return tuple(int(t) for t in self.tokenizer.encode(text, add_special_tokens=False))

    def _eos_ids(self) -> frozenset[int]:
        ids = set()
        for src in (self.tokenizer.eos_token_id, getattr(self.model.generation_config, "eos_token_id", None)):
            if isinstance(src, int):
                ids.add(src)
            elif isinstance(src, (list, tuple)):
                ids.update(int(x) for x in src)
        return frozenset(ids)

    @property
    def stop_ids(self) -> frozenset[int]:
        """The token ids that end a response (EOS of the tokenizer and of the generation config)."""
        return self._stop_ids

    def _headers(self, k: int) -> Headers:
        while len(self._step_headers) < k:
            self._step_headers.append(self._encode(self.config.step_header.format(i=len(self._step_headers) + 1)))
        return Headers(tuple(self._step_headers[:k]), self._join_header)

    def _prompt_ids(self, prompt: Prompt) -> list[int]:
        ids = encode_prompt(self.tokenizer, prompt) if isinstance(prompt, str) else [int(t) for t in prompt]
        if not ids:
            raise ValueError("empty prompt: a request needs at least one prompt token")
        if len(ids) + 1 > self.config.kv_budget:
            raise ValueError(
                f"a prompt of {len(ids)} tokens does not fit in kv_budget={self.config.kv_budget} (it needs room for "
                "at least one response token too): raise EngineConfig.kv_budget or shorten the prompt"
            )
        vocab = self.model.get_input_embeddings().weight.shape[0]
        bad = [t for t in ids if not 0 <= t < vocab]
        if bad:
            raise ValueError(f"prompt token ids {bad[:5]} are outside the model's vocabulary of {vocab}")
        return ids

    def submit(
        self,
        prompt: Prompt,
        params: SamplingParams | None = None,
        mode: str = "parallel",
        request_id: str | None = None,
        *,
        steer: Steer | None = None,
        _script: Script | None = None,
    ) -> str:
        """Queue one request and return its id.

        ``prompt`` is either a question (``str``), wrapped by :func:`npr.tokens.encode_prompt` in the chat
        template with the NPR format instruction, or token ids used exactly as given.
        """
        if mode not in ("parallel", "sequential"):
            raise ValueError(f"mode={mode!r}: use 'parallel' (native forks) or 'sequential' (causal, no forks)")
        params = params or SamplingParams()
        ids = self._prompt_ids(prompt)
        rid = request_id or f"req-{self._next_id}"
        self._next_id += 1
        if rid in self._requests or rid in self._results:
            raise ValueError(f"request id {rid!r} is already in use")
        seed = params.seed if params.seed is not None else secrets.randbits(62)
        req = Request(
            rid, ids, params, seed, parallel=mode == "parallel", tags=self.tags,
            headers=self._headers(params.max_branches), stop_ids=self._stop_ids | set(params.stop_token_ids),
            script=_script, steer=steer,
        )  # fmt: skip
        self._requests[rid] = req
        self._submitted[rid] = time.perf_counter()
        self.scheduler.add(req)
        return rid

    # ---- running ----------------------------------------------------------------------------------------------

    def has_work(self) -> bool:
        return bool(self.scheduler)

    def step(self) -> list[Event]:
        """One forward over every runnable sequence; returns what happened."""
        events: list[Event] = []
        self.scheduler.admit()
        plan = self.scheduler.schedule(events)
        if plan:
            rows = []
            for c in plan:
                if c.is_prompt:
                    rows.append(1 if len(c.ids) == len(c.seq.prompt) else 0)  # only the prompt's last row
                else:
                    rows.append(len(c.ids))
            starts = [0]
            for c in plan[:-1]:
                starts.append(starts[-1] + len(c.ids))
            logits_rows = [s + len(c.ids) - r + j for c, s, r in zip(plan, starts, rows) for j in range(r)]
            batch = Batch(
                input_ids=torch.tensor([t for c in plan for t in c.ids]),
                positions=torch.tensor([p for c in plan for p in c.positions]),
                new_slots=torch.tensor([s for c in plan for s in c.slots]),
                context=[torch.tensor(c.seq.slots) for c in plan],
                num_new=[len(c.ids) for c in plan],
                logits_rows=torch.tensor(logits_rows, dtype=torch.long),
            )
            logprobs = torch.log_softmax(self.runner.forward(batch), dim=-1).cpu()
            row = 0
            for c, r in zip(plan, rows):
                req, seq = c.request, c.seq
                seq.consume(len(c.ids), c.is_prompt)
                if c.is_prompt and not seq.prompt and self.cache is not None:
                    self.cache.insert(req.prompt, seq.slots[: len(req.prompt)])
                if r:
                    lp = logprobs[row : row + r]
                    if not c.is_prompt:
                        req.fill_logprobs(seq, lp, c.first)
                    if seq.unfed == 0:
                        seq.last_logprobs = lp[-1]
                        req.on_ready(seq, self.kv, events)
                row += r
        for req in [r for r in self.scheduler.running if r.finished]:
            self._finish(req, events)
        return events

    def _finish(self, req: Request, events: list[Event]) -> None:
        self.scheduler.remove(req)
        traj = self._trajectory(req)
        self._results[req.id] = traj
        del self._requests[req.id]
        for e in events:
            if e.kind == "finish" and e.request_id == req.id:
                e.trajectory = traj

    def _trajectory(self, req: Request) -> Trajectory:
        resp = req.response()
        p = len(req.prompt)
        ids = req.prompt + [t.id for t in resp]
        stats = {
            "total_tokens": len(resp),
            "critical_path_tokens": req.critical_path(),
            "forks": len(req.branches_per_block),
            "branches_per_block": list(req.branches_per_block),
            "sampled_tokens": sum(t.sampled for t in resp),
            "forced_tokens": sum(not t.sampled for t in resp),
            "preemptions": req.preemptions,
            "wall_time": time.perf_counter() - self._submitted.pop(req.id),
        }
        try:
            segments = list(layout(ids, self.tags, p, parallel=req.parallel).segments)
        except TopologyError as exc:  # engine output is well formed by construction; say so loudly if not
            segments, stats["layout_error"] = [], str(exc)
        return Trajectory(
            request_id=req.id,
            prompt_len=p,
            token_ids=ids,
            position_ids=list(range(p)) + [t.pos for t in resp],
            logprobs=[None] * p + [t.logprob for t in resp],
            sampled=[False] * p + [t.sampled for t in resp],
            segments=segments,
            text=self.tokenizer.decode([t.id for t in resp], skip_special_tokens=False),
            finish_reason=req.finish_reason.value,
            mode="parallel" if req.parallel else "sequential",
            seed=req.seed,
            stats=stats,
        )

    def stream(
        self, prompts: Sequence[Prompt], params: SamplingParams | Sequence[SamplingParams] | None = None,
        mode: str = "parallel",
    ) -> Iterator[Event]:  # fmt: skip
        """Submit ``prompts`` and yield their events (token, fork, join, finish) as they happen."""
        ids = self._submit_all(prompts, params, mode)
        pending = set(ids)
        while pending:
            if not self.has_work():
                raise RuntimeError("the engine has no work left but requests are unfinished")  # a bug, not input
            for e in self.step():
                if e.request_id in pending:
                    if e.kind == "finish":
                        pending.discard(e.request_id)
                        self._results.pop(e.request_id, None)  # handed over in the event; keep no reference
                    yield e

    def generate(
        self, prompts: Sequence[Prompt], params: SamplingParams | Sequence[SamplingParams] | None = None,
        mode: str = "parallel",
    ) -> list[Trajectory]:  # fmt: skip
        """Decode every prompt; returns one :class:`Trajectory` per prompt, in order."""
        ids = self._submit_all(prompts, params, mode)
        while any(i not in self._results for i in ids):
            self.step()
        return [self._results.pop(i) for i in ids]

    def take(self, request_id: str) -> Trajectory | None:
        """Hand over a finished request's trajectory (once; the engine keeps no reference), or None while it runs.

        For callers that drive :meth:`step` themselves, e.g. to keep a fixed number of requests in flight.
        """
        return self._results.pop(request_id, None)

    def _submit_all(self, prompts, params, mode) -> list[str]:
        if isinstance(prompts, str) or (prompts and isinstance(prompts[0], int)):
            raise TypeError("prompts must be a list of prompts (questions or token-id lists), not a single prompt")
        per = list(params) if isinstance(params, (list, tuple)) else [params] * len(prompts)
        if len(per) != len(prompts):
            raise ValueError(f"{len(per)} SamplingParams for {len(prompts)} prompts")
        if mode not in ("parallel", "sequential"):
            raise ValueError(f"mode={mode!r}: use 'parallel' (native forks) or 'sequential' (causal, no forks)")
        ids = [self._prompt_ids(p) for p in prompts]  # check every prompt before queuing any
        return [self.submit(i, sp, mode) for i, sp in zip(ids, per)]

    def abort(self, request_id: str) -> Trajectory | None:
        """Stop a request now; returns its trajectory so far (``finish_reason="aborted"``), or None if unknown."""
        req = self._requests.get(request_id)
        if req is None:
            return self._results.get(request_id)
        events: list[Event] = []
        req.finish(Finish.ABORTED, events)
        self._finish(req, events)
        return self._results.pop(request_id)

    def shape_steer(self, shape, **kwargs) -> ShapeSteer:
        """A :class:`~npr.engine.steer.ShapeSteer` that knows this engine's headers and EOS."""
        eos = self.tokenizer.eos_token_id if self.tokenizer.eos_token_id is not None else min(self._stop_ids)
        return ShapeSteer(
            self.tags, eos, shape, lambda i: len(self._headers(i + 1).step[i]), len(self._join_header), **kwargs
        )

    def flush_cache(self) -> None:
        """Drop the prefix cache; with no request running, the KV store is then empty."""
        if self.cache is not None:
            self.cache.clear()

    # ---- replay -----------------------------------------------------------------------------------------------

    def replay(
        self,
        prompt_ids: Sequence[int],
        response_ids: Sequence[int],
        mode: str = "parallel",
        sampled: Sequence[bool] | None = None,
    ) -> Trajectory:
        """Teacher-force ``response_ids`` through the same path as decoding and return its trajectory with log-probs.

        In parallel mode the response is split into trunk and branches by :mod:`npr.topology` and goes through real
        forks and joins; in sequential mode it is decoded causally. ``sampled`` (one flag per response token, e.g.
        ``traj.sampled[traj.prompt_len:]``) says which tokens were forced; without it, tokens that match the
        engine's own step and join headers are marked forced and all others sampled.
        """
        if mode not in ("parallel", "sequential"):
            raise ValueError(f"mode={mode!r}: use 'parallel' (native forks) or 'sequential' (causal, no forks)")
        prompt_ids = [int(t) for t in prompt_ids]
        response_ids = [int(t) for t in response_ids]
        if sampled is not None and len(sampled) != len(response_ids):
            raise ValueError(f"{len(sampled)} sampled flags for {len(response_ids)} response tokens")
        p = len(prompt_ids)
        lay = layout(prompt_ids + response_ids, self.tags, p, parallel=mode == "parallel")
        script = Script(trunk=[])
        after_steps = False
        for s in lay.segments:
            if s.kind is SegmentKind.PROMPT:
                continue
            ids = [int(t) for t in lay.token_ids[s.start : s.end]]
            if sampled is not None:
                flags = [bool(f) for f in sampled[s.start - p : s.end - p]]
            else:
                flags = [True] * len(ids)
                header = self._headers(s.branch + 1).step[s.branch] if s.kind is SegmentKind.STEP else None
                if header is None and after_steps:
                    header = self._join_header
                if header and tuple(ids[: len(header)]) == header:
                    flags[: len(header)] = [False] * len(header)
            if s.kind is SegmentKind.GUIDELINE:
                script.branches.append([])
            if s.kind is SegmentKind.STEP:
                script.branches[s.block].append(list(zip(ids, flags)))
                after_steps = True
                continue
            after_steps = False
            script.trunk.extend(zip(ids, flags))
        big = max(1, len(response_ids)) + 1
        params = SamplingParams(max_tokens=big, max_total_tokens=big, max_branches=max(1, *lay.step_branch.tolist()) + 1)
        rid = self.submit(prompt_ids, params, mode, _script=script)
        while rid not in self._results:
            self.step()
        return self._results.pop(rid)
