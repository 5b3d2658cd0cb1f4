"""The reasoning-tree viewer: one page shipped in the package (``static/``), no CDN and no network fetch.

Routes: ``GET /`` (the page), ``GET /viewer/*`` (its script and style), ``GET /npr/info`` (what this server can
do), ``GET /npr/preloaded`` (the records ``npr view`` opened) and ``POST /npr/trees`` (a JSONL body of saved
records, drawn as trees by :mod:`npr.serve.records`). On a serving ``npr serve`` the page can also ask questions,
through the same ``/v1/chat/completions`` stream any client uses.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from npr.serve.protocol import error_body
from npr.serve.records import trees_of_jsonl

STATIC = resources.files("npr.serve") / "static"
MAX_UPLOAD = 64 << 20


def add_viewer(app: FastAPI, *, loop=None, config=None, preloaded: dict[str, Any] | None = None) -> None:
    """Add the viewer's routes to ``app``: serving (``loop`` and ``config``) or viewing saved results (``preloaded``)."""
    app.mount("/viewer", StaticFiles(directory=str(STATIC)), name="viewer")

    @app.get("/", response_class=HTMLResponse)
    async def page():
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/npr/info")
    async def info():
        if loop is None:
            return {"mode": "view", "model": None, "auth": False, "state": "view",
                    "source": (preloaded or {}).get("source")}  # fmt: skip
        return {"mode": "serve", "model": config.model_name, "auth": config.api_key is not None, "state": loop.state,
                "source": None}  # fmt: skip

    @app.get("/npr/preloaded")
    async def saved():
        return preloaded or {"items": [], "problems": [], "source": None}

    @app.post("/npr/trees")
    async def trees(request: Request):
        body = await request.body()
        if len(body) > MAX_UPLOAD:  # npr serve's guard counts the body as it comes; npr view has no guard
            return JSONResponse(error_body(f"the file is {len(body)} bytes; at most {MAX_UPLOAD} are drawn", code="too_large"),
                                status_code=413)  # fmt: skip
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return JSONResponse(error_body(f"the file is not UTF-8 text: {exc}", code="invalid_value"), status_code=400)
        engine = loop.engine if loop is not None and loop.state == "ready" else None
        tokenizer = engine.tokenizer if engine is not None else None
        stop_ids = engine.stop_ids if engine is not None else frozenset()
        items, problems = await run_in_threadpool(trees_of_jsonl, text, tokenizer, stop_ids)  # off the event loop
        return {"items": items, "problems": problems}


def create_view_app(items: list[dict[str, Any]], problems: list[str], source: str) -> FastAPI:
    """The page alone, on saved results (``npr view``): no model, nothing to ask."""
    app = FastAPI(title="npr view")
    add_viewer(app, preloaded={"items": items, "problems": problems, "source": source})
    return app
