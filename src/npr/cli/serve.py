"""``npr serve`` (the OpenAI-compatible server with its viewer) and ``npr view`` (the viewer on saved results)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from npr.cli.common import EXIT_BAD_INPUT, EXIT_OK, fail


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from npr.engine import EngineConfig
    from npr.serve import ServeConfig, build, check_model_dir, loader

    try:
        model = check_model_dir(args.model)
        config = ServeConfig(
            model_name=args.served_model_name or model.name, host=args.host, port=args.port,
            api_key=args.api_key or os.environ.get("NPR_API_KEY") or None, max_n=args.max_n,
            default_max_tokens=args.max_tokens, instruction=args.instruction, max_model_len=args.max_model_len,
        )  # fmt: skip
        engine_config = EngineConfig(kv_budget=args.kv_budget, max_running=args.max_running,
                                     max_batch_tokens=args.max_batch_tokens)  # fmt: skip
    except ValueError as exc:
        return fail("serve", exc)
    if not config.loopback:
        print(f"npr serve: listening on {config.host}, beyond this machine"
              + ("" if config.api_key else ", with no API key (set --api-key)"), file=sys.stderr)  # fmt: skip
    app, _ = build(loader(model, engine_config, dtype=args.dtype, device=args.device), config)
    print(f"npr serve: {config.model_name} on http://{config.host}:{config.port} (viewer at /, API at /v1)", file=sys.stderr)
    uvicorn.run(app, host=config.host, port=config.port, log_level=args.log_level, timeout_graceful_shutdown=5)
    return EXIT_OK


def _view(args: argparse.Namespace) -> int:
    import threading
    import time
    import webbrowser

    from npr.serve.records import trees_of_jsonl
    from npr.serve.server import BackgroundServer
    from npr.serve.viewer import create_view_app

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return fail("view", f"cannot read {path}: {exc}")
    tokenizer = None
    if args.tokenizer:
        from npr.tokens import load_tokenizer

        try:
            tokenizer = load_tokenizer(args.tokenizer)
        except (OSError, ValueError) as exc:
            return fail("view", f"cannot load the tokenizer {args.tokenizer}: {exc}")
    items, problems = trees_of_jsonl(text, tokenizer)
    for p in problems[:20]:
        print(f"npr view: {path}: {p}", file=sys.stderr)
    if not items:
        return fail("view", f"{path} holds no record to draw (a results.jsonl of npr eval, or npr distill's "
                            "samples.jsonl or corpus.jsonl)")  # fmt: skip
    try:
        server = BackgroundServer(create_view_app(items, problems, str(path)), host=args.host, port=args.port)
    except OSError as exc:
        return fail("view", f"cannot listen on {args.host}:{args.port}: {exc}")
    url = server.start()
    print(f"npr view: {len(items)} trees from {path} at {url}  (Ctrl-C to stop)", file=sys.stderr)
    if not args.no_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        while server.thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK


def add_serve(commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve a model over an OpenAI-compatible API, with the reasoning-tree viewer at /",
        description=(
            "Serve a model folder over OpenAI's chat and text completion API (streaming or not), with the reasoning "
            "tree of every choice in an `npr` extension field, /health, /metrics (Prometheus) and the viewer page "
            "at /. The blocks are returned as `reasoning` and `reasoning_content`, the conclusion as `content`. "
            "max_tokens bounds the critical path; npr.max_total_tokens all branches together. See docs/SERVING.md."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    serve.add_argument("--model", required=True, help="model folder (config.json, weights, tokenizer)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind; the default keeps the server on this machine")
    serve.add_argument("--port", type=int, default=8000, help="TCP port")
    serve.add_argument("--api-key", default=None,
                       help="require 'Authorization: Bearer KEY' on /v1/* (also read from NPR_API_KEY)")
    serve.add_argument("--served-model-name", default=None, help="the model id clients see (default: the folder's name)")
    serve.add_argument("--kv-budget", type=int, default=32768, help="KV slots (tokens) for all requests together")
    serve.add_argument("--max-running", type=int, default=64, help="requests decoding at once (continuous batching)")
    serve.add_argument("--max-batch-tokens", type=int, default=2048, help="new tokens per forward")
    serve.add_argument("--max-n", type=int, default=16, help="the largest n a request may ask for")
    serve.add_argument("--max-tokens", type=int, default=1024,
                       help="critical-path budget of a request that sets no max_tokens")
    serve.add_argument("--max-model-len", type=int, default=None,
                       help="most prompt + critical-path tokens (default: the model's max_position_embeddings)")
    serve.add_argument("--instruction", default="npr",
                       help="what follows a chat question: npr (the NPR format instruction), plain, none, or any text")
    serve.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"], help="weights dtype")
    serve.add_argument("--device", default=None, help="torch device (default: where the model loads, the CPU)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                       help="uvicorn's log level")
    serve.set_defaults(run=_serve)

    view = commands.add_parser(
        "view",
        help="open the reasoning-tree viewer on saved results (offline)",
        description=(
            "Draw the reasoning trees of a results.jsonl of `npr eval`, or of `npr distill`'s samples.jsonl or "
            "corpus.jsonl, in the viewer page served on this machine. Nothing is fetched from the network. Lines that "
            "are not records are reported and skipped."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    view.add_argument("file", help="a JSONL file of records")
    view.add_argument("--tokenizer", default=None,
                      help="tokenizer folder: records with a saved trajectory are then drawn from its tokens")
    view.add_argument("--host", default="127.0.0.1", help="address to bind")
    view.add_argument("--port", type=int, default=0, help="TCP port (0 picks a free one)")
    view.add_argument("--no-browser", action="store_true", help="print the address instead of opening a browser")
    view.set_defaults(run=_view)


__all__ = ["EXIT_BAD_INPUT", "add_serve"]
