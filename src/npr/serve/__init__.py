"""``npr serve``: an OpenAI-compatible HTTP server over the native parallel engine, and the reasoning-tree viewer.

* :func:`create_app` - the FastAPI application (chat and text completions, models, health, metrics, viewer);
* :class:`EngineLoop` - the one thread that owns the engine; requests talk to it by message;
* :class:`ServeConfig` - the server's settings;
* :func:`tree_of_trajectory` / :func:`tree_of_text` - the reasoning tree as JSON (the ``npr`` extension);
* :class:`BackgroundServer` - uvicorn on a thread, for tests, benchmarks and ``npr view``.

The server imports the engine and the format (floor 4); never training or evaluation.
"""

from npr.serve.app import create_app
from npr.serve.config import ServeConfig
from npr.serve.loop import EngineLoop
from npr.serve.metrics import Metrics
from npr.serve.server import BackgroundServer, build, check_model_dir, loader
from npr.serve.tree import tree_of_text, tree_of_trajectory

__all__ = [
    "BackgroundServer",
    "EngineLoop",
    "Metrics",
    "ServeConfig",
    "build",
    "check_model_dir",
    "create_app",
    "loader",
    "tree_of_text",
    "tree_of_trajectory",
]
