"""Running the application: the engine loader, uvicorn in the foreground (``npr serve``) or on a thread (tests,
benchmarks, ``npr view``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from npr.engine import Engine, EngineConfig
from npr.serve.app import create_app
from npr.serve.config import ServeConfig
from npr.serve.loop import EngineLoop
from npr.serve.metrics import Metrics

MODEL_FILES = ("config.json",)


def check_model_dir(path: str | Path) -> Path:
    """The model folder, or a ValueError that says what is missing (before anything slow starts)."""
    p = Path(path).expanduser()
    if not p.is_dir():
        raise ValueError(f"{p} is not a folder: --model takes a model folder (config.json, weights and tokenizer)")
    missing = [f for f in MODEL_FILES if not (p / f).is_file()]
    weights = list(p.glob("*.safetensors")) + list(p.glob("*.bin"))
    if missing or not weights:
        what = ", ".join(missing + ([] if weights else ["*.safetensors or *.bin weights"]))
        raise ValueError(f"{p} has no model: {what} missing (expected an HF model folder, e.g. a checkpoint of npr train)")
    return p


def build(load: Callable[[], Engine], config: ServeConfig):
    """``(app, loop)``: the application around an engine that ``load()`` returns, on the loop's thread."""
    metrics = Metrics(config.model_name)
    loop = EngineLoop(load, metrics)
    return create_app(loop, config, metrics), loop


def loader(model: str | Path, engine_config: EngineConfig, dtype: str = "float32", device: str | None = None):
    def load() -> Engine:
        return Engine.from_pretrained(str(model), engine_config, dtype=dtype, device=device)

    return load


class BackgroundServer:
    """uvicorn on a daemon thread, bound to a free port unless told otherwise: ``with BackgroundServer(app) as url``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        import uvicorn

        self.host = host
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self.port = sock.getsockname()[1]
        self._sock = sock
        self.server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=2))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        self.thread.start()
        end = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > end:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self._sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
