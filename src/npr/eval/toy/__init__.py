"""Toy task families for the CPU miniature: problems that split into 2-4 independent parts.

``TASKS`` maps a family's name to its :class:`ToyTask`; ``npr eval --benchmark toy-<name>`` evaluates its test
split (:func:`heldout_items`). The interface and the split rule are in :mod:`npr.eval.toy.task`.
"""

from __future__ import annotations

from npr.eval.item import Item
from npr.eval.toy.largest import Largest
from npr.eval.toy.pick import Pick
from npr.eval.toy.products import Products
from npr.eval.toy.task import INSTRUCTIONS, PARTS, ToyProblem, ToyTask, split_of

TASKS: dict[str, ToyTask] = {task.name: task for task in (Products(), Pick(), Largest())}
TEST_SEED = 0  # the test split of every family is drawn with this seed
TEST_SIZE = 200


def get_task(name: str) -> ToyTask:
    """The family called ``name``; a ValueError naming the known ones otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown toy task {name!r}; known: {', '.join(TASKS)}") from None


def heldout_items(name: str, n: int = TEST_SIZE, parts: tuple[int, ...] | None = None) -> list[Item]:
    """The held-out test problems of family ``name`` (seed :data:`TEST_SEED`) as evaluation items; ``parts``
    limits them to those part counts."""
    return [p.item() for p in get_task(name).problems("test", n, seed=TEST_SEED, parts=parts or PARTS)]


__all__ = ["INSTRUCTIONS", "PARTS", "TASKS", "TEST_SEED", "TEST_SIZE", "ToyProblem", "ToyTask", "get_task", "split_of", "heldout_items"]
