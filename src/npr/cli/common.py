"""What every ``npr`` subcommand shares: the exit statuses and the one way to report bad input."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def fail(command: str, exc: BaseException) -> int:
    """Print ``npr COMMAND: reason`` to stderr; the exit status for bad usage or unreadable input."""
    print(f"npr {command}: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT


def add_ray_arguments(parser, backends: bool = False) -> None:
    """``--ray [ADDRESS]``, ``--actors N`` and ``--gpus-per-actor``: decode on engine actors instead of in-process;
    with ``backends``, also ``--engine npr|vllm|sglang``."""
    g = parser.add_argument_group("where to decode")
    if backends:
        g.add_argument("--engine", choices=("npr", "vllm", "sglang"), default="npr",
                       help="npr's engine (default), or vLLM / SGLang where installed: sequential mode only, since "
                            "only npr's engine forks and joins branches exactly as training does")  # fmt: skip
    g.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="decode on Ray actors: alone for a local Ray on this machine, or a cluster's address "
                        "(ray start --head prints it; 'auto' joins the cluster this machine belongs to)")  # fmt: skip
    g.add_argument("--actors", type=int, default=2, metavar="N",
                   help="engine actors with --ray: one per GPU, or per slice of CPU cores (default 2)")
    g.add_argument("--gpus-per-actor", type=float, default=0.0, metavar="G",
                   help="GPUs each actor holds (default 0: CPU actors share this machine's cores)")


def ray_engines(args, model: str, *, kv_budget: int, dtype: str, device: str | None, seed: int = 0):
    """The engine that ``--engine`` or ``--ray`` asks for (a backend, or :class:`~npr.eval.actors.ActorEngines`),
    or None for npr's engine in this process."""
    engine = getattr(args, "engine", "npr")
    if engine != "npr":
        if getattr(args, "ray", None):
            raise ValueError(f"--engine {engine} and --ray do not mix: {engine} runs its own workers")
        if getattr(args, "mode", "sequential") != "sequential":
            raise ValueError(f"--engine {engine} decodes in sequential mode only (add --mode sequential): parallel "
                             "mode needs npr's engine, the only one that forks and joins exactly as training does")
        from npr.eval.backends import make_backend

        return make_backend(engine, model, dtype=dtype, seed=seed)
    if not getattr(args, "ray", None):
        return None
    from npr.eval.actors import ActorEngines

    return ActorEngines(model, actors=args.actors, address=None if args.ray == "local" else args.ray,
                        kv_budget=kv_budget, dtype=dtype, device=device, gpus_per_actor=args.gpus_per_actor)  # fmt: skip
