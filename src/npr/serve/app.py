"""The FastAPI application: OpenAI's chat and text completions over the engine loop, health, metrics and the viewer.

Endpoints: ``POST /v1/chat/completions``, ``POST /v1/completions``, ``GET /v1/models`` (these three behind the API
key when one is set), ``GET /health``, ``GET /metrics`` and the viewer (``GET /``, see :mod:`npr.serve.viewer`).

Every error is OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, with a 4xx status for bad
input. An error after a stream has begun is its last ``data:`` line.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException

from npr.engine import SamplingParams
from npr.engine.sampling import derive_seed
from npr.serve.config import ServeConfig
from npr.serve.generation import Finished, Generation, GenerationError, usage
from npr.serve.loop import EngineLoop
from npr.serve.metrics import CONTENT_TYPE, Metrics
from npr.serve.protocol import ChatRequest, CompletionRequest, error_body
from npr.serve.shapes import Accumulator, ChatShape, TextShape
from npr.serve.stream import ChoiceStream
from npr.serve.tree import tree_of_trajectory
from npr.serve.viewer import MAX_UPLOAD, add_viewer
from npr.tokens import encode_chat


class ApiError(Exception):
    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 type_: str = "invalid_request_error"):  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.type = status, message, param, code, type_


def _error(status: int, message: str, param=None, code=None, type_="invalid_request_error") -> JSONResponse:
    return JSONResponse(error_body(message, type_, param, code), status_code=status)


def _sse(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"


def create_app(loop: EngineLoop, config: ServeConfig, metrics: Metrics) -> FastAPI:
    """The application around a (possibly still loading) engine loop; the loop starts and stops with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        loop.start()
        yield
        loop.stop()

    app = FastAPI(title="npr", summary="OpenAI-compatible server over the native parallel engine", lifespan=lifespan)
    app.state.loop, app.state.config, app.state.metrics = loop, config, metrics

    # ---- errors -------------------------------------------------------------------------------------------------

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.message, exc.param, exc.code, exc.type)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": "invalid"}
        loc = _field_path(first.get("loc", ()))
        param = ".".join(loc) or None
        kind = first.get("type", "invalid")
        text = str(first.get("msg", "")).removeprefix("Value error, ")
        if kind == "json_invalid":
            param = None  # the location is a character offset, not a field
            msg = f"the body is not valid JSON: {first.get('ctx', {}).get('error', text)}"
        elif kind == "extra_forbidden":
            msg = f"unknown field {param!r}: see the API in docs/SERVING.md"
        elif not loc and kind in ("missing", "model_attributes_type", "dict_type"):
            msg = "the body must be a JSON object"
        else:
            msg = f"{param}: {text}" if param else text
        if len(errors) > 1:
            msg += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
        return _error(400, msg, param, kind)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code)
        return _error(exc.status_code, str(exc.detail), None, code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return _error(500, f"internal error: {type(exc).__name__}: {exc}", None, "internal_error", "server_error")

    app.add_middleware(_Guard, config=config, limits={"/npr/trees": MAX_UPLOAD})

    # ---- plain endpoints ----------------------------------------------------------------------------------------

    @app.get("/health")
    async def health():
        if loop.state == "ready":
            return {"status": "ok", "model": config.model_name, "in_flight": loop.in_flight}
        return JSONResponse({"status": loop.state, "error": loop.error}, status_code=503)

    @app.get("/metrics")
    async def prometheus():
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{
            "id": config.model_name, "object": "model", "created": int(time.time()), "owned_by": "npr",
            "max_model_len": context_limit(loop.engine) if loop.state == "ready" else config.max_model_len,
        }]}  # fmt: skip

    # ---- completions ------------------------------------------------------------------------------------------

    def context_limit(engine) -> int | None:
        return config.max_model_len or getattr(engine.model.config, "max_position_embeddings", None)

    def ready_engine():
        if loop.state != "ready":
            status = "still loading" if loop.state == "loading" else f"not running ({loop.error})"
            raise ApiError(503, f"the model is {status}", None, "unavailable", "server_error")
        return loop.engine

    def prepare(req: ChatRequest | CompletionRequest, prompt_ids: list[int], param: str):
        engine = ready_engine()
        if req.model is not None and req.model != config.model_name:
            raise ApiError(404, f"the model {req.model!r} does not exist here; this server has {config.model_name!r}",
                           "model", "model_not_found")  # fmt: skip
        if req.n > config.max_n:
            raise ApiError(400, f"n={req.n} is more than this server allows ({config.max_n}, see --max-n)", "n",
                           "n_too_large")  # fmt: skip
        p = len(prompt_ids)
        kv = engine.config.kv_budget
        if p + 1 > kv:
            raise ApiError(400, f"the prompt has {p} tokens, more than the KV budget of {kv} can hold with an answer",
                           param, "context_length_exceeded")  # fmt: skip
        budget = req.budget
        limit = context_limit(engine)
        if limit is not None:
            room = limit - p
            if room < 1:
                raise ApiError(400, f"the prompt has {p} tokens; this model's maximum context length is {limit}",
                               param, "context_length_exceeded")  # fmt: skip
            if budget is not None and budget > room:
                raise ApiError(400, f"this model's maximum context length is {limit} tokens, but {p} in the prompt and "
                               f"{budget} in the completion were asked for", "max_tokens", "context_length_exceeded")
            budget = min(budget or config.default_max_tokens, room)
        budget = budget or config.default_max_tokens
        vocab = engine.model.get_input_embeddings().weight.shape[0]
        if any(t >= vocab for t in prompt_ids):
            raise ApiError(400, f"prompt token ids must be below the vocabulary size {vocab}", param, "invalid_value")
        opts = req.npr
        try:
            params = [
                SamplingParams(
                    temperature=req.temperature, top_p=req.top_p, top_k=req.top_k,
                    seed=None if req.seed is None else derive_seed(req.seed, i),
                    max_tokens=budget, max_total_tokens=opts.max_total_tokens, max_branches=opts.max_branches,
                )  # fmt: skip
                for i in range(req.n)
            ]
        except ValueError as exc:
            raise ApiError(400, str(exc), "npr", "invalid_value") from exc
        streams = [
            ChoiceStream(engine.tokenizer, engine.tags, engine.stop_ids, req.stops,
                         reasoning_in_content=opts.reasoning_in_content or isinstance(req, CompletionRequest),
                         strip=not isinstance(req, CompletionRequest))
            for _ in range(req.n)
        ]  # fmt: skip
        return engine, Generation(loop, prompt_ids, params, opts.mode, streams)

    @app.post("/v1/chat/completions")
    async def chat(req: ChatRequest, request: Request):
        engine = ready_engine()
        instruction, mode = config.prompt_instruction()
        from jinja2 import TemplateError

        try:  # in a worker thread: a long conversation must not stall every other stream
            ids = await run_in_threadpool(encode_chat, engine.tokenizer, req.conversation(), instruction=instruction,
                                          mode=mode)  # fmt: skip
        except (ValueError, TypeError, TemplateError) as exc:  # e.g. turns the model's chat template refuses
            raise ApiError(400, f"the messages cannot be tokenised: {exc}", "messages", "invalid_value") from exc
        engine, gen = prepare(req, ids, "messages")
        return await respond(request, req, gen, engine, ids, chat=True)

    @app.post("/v1/completions")
    async def completions(req: CompletionRequest, request: Request):
        engine = ready_engine()
        try:
            value = req.prompt_value()
            if isinstance(value, str):
                ids = [int(t) for t in await run_in_threadpool(engine.tokenizer.encode, value, add_special_tokens=False)]
            else:
                ids = list(value)
        except (ValueError, TypeError) as exc:
            raise ApiError(400, f"the prompt cannot be tokenised: {exc}", "prompt", "invalid_value") from exc
        if not ids:
            raise ApiError(400, "the prompt has no tokens", "prompt", "invalid_value")
        engine, gen = prepare(req, ids, "prompt")
        return await respond(request, req, gen, engine, ids, chat=False)

    # ---- responses ----------------------------------------------------------------------------------------------

    async def respond(request: Request, req, gen: Generation, engine, prompt_ids: list[int], chat: bool):
        rid = ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12)
        created = int(time.time())
        shape = ChatShape(rid, created, config.model_name) if chat else TextShape(rid, created, config.model_name)
        want_logprobs = bool(req.logprobs) if chat else req.logprobs is not None

        def tree(f: Finished):
            return None if f.trajectory is None else tree_of_trajectory(f.trajectory, engine.tokenizer,
                                                                        stop_ids=engine.stop_ids)  # fmt: skip

        if req.stream:
            return StreamingResponse(
                stream(gen, shape, tree, want_logprobs, req.include_usage, len(prompt_ids)),
                media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        acc = [Accumulator() for _ in gen.handles]
        finished: list[Finished | None] = [None] * len(gen.handles)
        left = asyncio.Event()
        watch = asyncio.ensure_future(_watch_disconnect(request, gen, left))
        try:
            async for i, item in gen.run():
                if isinstance(item, Finished):
                    finished[i] = item
                    acc[i].add(item.delta)
                else:
                    acc[i].add(item)
        except GenerationError as exc:
            raise ApiError(exc.status, exc.message, None, "engine_error" if exc.status >= 500 else "invalid_value",
                           "server_error" if exc.status >= 500 else "invalid_request_error") from exc  # fmt: skip
        finally:
            watch.cancel()
            gen.close()
        if left.is_set():
            return Response(status_code=499)  # nobody reads it: the client is gone
        choices = [shape.choice(i, a, f, tree(f), want_logprobs) for i, (a, f) in enumerate(zip(acc, finished))]
        return shape.response(choices, usage(len(prompt_ids), finished, gen.streams))

    async def stream(gen: Generation, shape, tree, want_logprobs: bool, include_usage: bool, prompt_len: int
                     ) -> AsyncIterator[str]:  # fmt: skip
        finished: list[Finished | None] = [None] * len(gen.handles)
        try:
            for i in range(len(gen.handles)):
                first = shape.first(i)
                if first is not None:
                    yield _sse(first)
            async for i, item in gen.run():
                if isinstance(item, Finished):
                    finished[i] = item
                    yield _sse(shape.chunk(i, item.delta, want_logprobs, finish=item, tree=tree(item)))
                else:
                    yield _sse(shape.chunk(i, item, want_logprobs))
            if include_usage:
                yield _sse(shape.usage_chunk(usage(prompt_len, finished, gen.streams)))
            yield "data: [DONE]\n\n"
        except GenerationError as exc:
            yield _sse(error_body(exc.message, "server_error" if exc.status >= 500 else "invalid_request_error", None,
                                  "engine_error" if exc.status >= 500 else "invalid_value"))  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - the status line is sent: the error must travel as the last chunk
            yield _sse(error_body(f"internal error: {type(exc).__name__}: {exc}", "server_error", None, "internal_error"))
        finally:
            gen.close()  # on a disconnect this runs when the server cancels the stream: the KV is freed now

    add_viewer(app, loop=loop, config=config)
    return app


class _Guard:
    """ASGI middleware: the API key on ``/v1/*`` and ``/npr/*`` (constant-time), and the body size of every request
    there, counted as it arrives (a chunked body has no Content-Length to trust). Written against ASGI directly,
    because a BaseHTTPMiddleware wraps ``receive`` and hides a client's disconnect from the handler."""

    GUARDED = ("/v1/", "/npr/")

    def __init__(self, app, config: ServeConfig, limits: dict[str, int] | None = None):
        self.app, self.config = app, config
        self.limits = limits or {}  # path -> its own body limit (the viewer's uploads of saved results)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.GUARDED):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        key = self.config.api_key
        if key is not None and scope["path"] != "/npr/info":  # the page asks /npr/info whether it needs a key
            auth = headers.get("authorization", "")
            given = auth[7:] if auth[:7].lower() == "bearer " else ""
            if not hmac.compare_digest(given.encode(), key.encode()):
                what = "no API key was given" if not auth else "the API key is not valid"
                response = _error(401, f"{what}: send 'Authorization: Bearer <key>'", None, "invalid_api_key",
                                  "authentication_error")  # fmt: skip
                return await response(scope, receive, send)
        limit = self.limits.get(scope["path"], self.config.max_body_bytes)
        too_large = _error(413, f"the body is over {limit} bytes, the most accepted here", None, "too_large")
        size = headers.get("content-length", "")
        if size.isdigit() and int(size) > limit:
            return await too_large(scope, receive, send)
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        # Read the whole body first, counting, then hand it on; later receives go to the client (disconnects).
        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left before its body was complete
            total += len(message.get("body", b""))
            if total > limit:
                return await too_large(scope, receive, send)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


_TYPE_NAMES = {"str", "int", "float", "bool", "list", "dict", "none"}


def _field_path(loc) -> list[str]:
    """The field names and indices of a validation error's location, without the body and union member names."""
    out = []
    for x in loc:
        if isinstance(x, int):
            out.append(str(x))
        elif x == "body":
            continue
        elif not str(x).isidentifier() or str(x) in _TYPE_NAMES:
            break  # pydantic names the union member it tried ('constrained-str', 'list[int]'): not a field
        else:
            out.append(str(x))
    return out


async def _watch_disconnect(request: Request, gen: Generation, left: asyncio.Event, every: float = 0.25) -> None:
    """Abort ``gen`` when the client of a non-streaming request goes away (a stream notices on its next write)."""
    while True:
        await asyncio.sleep(every)
        if await request.is_disconnected():
            left.set()
            gen.close()
            return
