"""What every ``npr`` subcommand shares: the exit statuses and the one way to report bad input."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def fail(command: str, exc: BaseException) -> int:
    """Print ``npr COMMAND: reason`` to stderr; the exit status for bad usage or unreadable input."""
    print(f"npr {command}: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT


def add_ray_arguments(parser) -> None:
    """``--ray [ADDRESS]``, ``--actors N`` and ``--gpus-per-actor``: decode on engine actors instead of in-process."""
    g = parser.add_argument_group("Ray (engines on actors)")
    g.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="decode on Ray actors: alone for a local Ray on this machine, or a cluster's address "
                        "(ray start --head prints it; 'auto' joins the cluster this machine belongs to)")  # fmt: skip
    g.add_argument("--actors", type=int, default=2, metavar="N",
                   help="engine actors with --ray: one per GPU, or per slice of CPU cores (default 2)")
    g.add_argument("--gpus-per-actor", type=float, default=0.0, metavar="G",
                   help="GPUs each actor holds (default 0: CPU actors share this machine's cores)")


def ray_engines(args, model: str, *, kv_budget: int, dtype: str, device: str | None):
    """The :class:`~npr.eval.actors.ActorEngines` that ``--ray`` asks for, or None without it."""
    if not getattr(args, "ray", None):
        return None
    from npr.eval.actors import ActorEngines

    return ActorEngines(model, actors=args.actors, address=None if args.ray == "local" else args.ray,
                        kv_budget=kv_budget, dtype=dtype, device=device, gpus_per_actor=args.gpus_per_actor)  # fmt: skip
