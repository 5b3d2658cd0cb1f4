"""A seeded generator of ZebraLogic-style logic grid puzzles with unique solutions (the official set is gated).

A puzzle has ``N`` houses in a row (1..N, left to right) and ``M`` attributes (``Name`` first, then e.g. Color,
Pet, Drink); each attribute's ``N`` values are a permutation across the houses. :func:`generate_puzzle` draws the
attributes, values and a hidden solution, then chooses clues that are true in it until the solver
(:mod:`npr.eval.zebra.solver`, which reads the structured clues, never the text) finds exactly one solution, and
prunes them according to the difficulty (:mod:`npr.eval.zebra.generator` documents exactly what the knob does).

:func:`puzzle_items` turns a seeded set of puzzles into :class:`npr.eval.item.Item` s whose answer is the grid in the
official ZebraLogic shape, ``{"header": ["House", attr, ...], "rows": [["1", value, ...], ...]}`` (all strings).

Everything is a pure function of its arguments: the same seed and config give byte-identical puzzles on every
machine and Python run (seeds go through SHA-256, never the salted ``hash()``).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from typing import Any

from npr.eval.item import Item
from npr.eval.zebra.clues import Assignment, Clue, ClueSet
from npr.eval.zebra.generator import PROFILES, build_clues
from npr.eval.zebra.pools import MAX_ATTRIBUTES, MAX_HOUSES, NAME_POOL, POOLS
from npr.eval.zebra.solver import solve
from npr.eval.zebra.text import question_text, render_clue

DIFFICULTIES = ("easy", "medium", "hard")
MIN_SIZE = 2

# The spread of puzzle_items(mix=True): houses x attributes from 2x2 to 5x5, smallest first, so even a short set
# starts with puzzles a small CPU model can solve. Difficulties cycle with period 3, coprime to these 16 sizes, so
# every 48 consecutive items hold each (size, difficulty) pair exactly once.
MIX_SIZES: tuple[tuple[int, int], ...] = tuple(
    sorted(((h, a) for h in range(2, 6) for a in range(2, 6)), key=lambda size: (size[0] * size[1], size))
)

# Item seeds are ``seed * _SEED_STRIDE + index``, so distinct (seed, index) pairs never share a puzzle.
_SEED_STRIDE = 100_000


def _is_int(value: object) -> bool:
    """Whether ``value`` is a plain integer (``True`` is an int to Python, but not a house count)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ZebraConfig:
    """The size and difficulty of generated puzzles.

    Attributes:
        houses: the number of houses ``N``, 2..6.
        attributes: the number of attributes ``M``, 2..6 (``Name`` plus ``M - 1`` others).
        difficulty: ``"easy"``, ``"medium"`` or ``"hard"`` (see :mod:`npr.eval.zebra.generator`).
    """

    houses: int = 4
    attributes: int = 4
    difficulty: str = "medium"

    def __post_init__(self) -> None:
        if not _is_int(self.houses) or not MIN_SIZE <= self.houses <= MAX_HOUSES:
            raise ValueError(
                f"houses must be an integer from {MIN_SIZE} to {MAX_HOUSES} (every attribute pool has values for "
                f"{MAX_HOUSES} houses and ordinals are rendered up to there), got {self.houses!r}"
            )
        if not _is_int(self.attributes) or not MIN_SIZE <= self.attributes <= MAX_ATTRIBUTES:
            raise ValueError(
                f"attributes must be an integer from {MIN_SIZE} to {MAX_ATTRIBUTES} (as in ZebraLogic; Name plus "
                f"up to {MAX_ATTRIBUTES - 1} others), got {self.attributes!r}"
            )
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {self.difficulty!r}")

    @property
    def size(self) -> str:
        """The ZebraLogic size label, ``"houses*attributes"``."""
        return f"{self.houses}*{self.attributes}"


@dataclass(frozen=True)
class Puzzle:
    """One generated puzzle.

    Attributes:
        id: stable identifier, e.g. ``"zebra-4x4-medium-s7"``.
        houses: the number of houses ``N``.
        attributes: the attribute names, ``"Name"`` first; the column order of the solution.
        values: per attribute, its ``N`` values in the (sorted) order they are listed to the solver.
        solution: the grid ``{"header": ["House", *attributes], "rows": [["1", ...], ..., [str(N), ...]]}``.
        clues: the clue sentences, in the order they are numbered in :meth:`question`.
        difficulty: ``"easy"``, ``"medium"`` or ``"hard"``.
        constraints: the structured clues, ``constraints[i]`` being ``clues[i]``; refs index ``attributes`` and
            ``values``, houses are 0-based.
    """

    id: str
    houses: int
    attributes: list[str]
    values: dict[str, list[str]]
    solution: dict[str, Any]
    clues: list[str]
    difficulty: str
    constraints: tuple[Clue, ...] = ()

    def question(self) -> str:
        """The full prompt: houses and attributes with their values, numbered clues, and the JSON answer format."""
        return question_text(self.houses, self.attributes, self.values, self.clues)

    def clue_set(self) -> ClueSet:
        """The structured form the solver reads."""
        return ClueSet(self.houses, len(self.attributes), self.constraints)

    def grid(self, positions: Assignment) -> dict[str, Any]:
        """An assignment (``positions[attr][value]`` = 0-based house) as a solution grid of this puzzle."""
        return solution_grid(self.attributes, self.values, positions)


def solution_grid(attributes: list[str], values: dict[str, list[str]], positions: Assignment) -> dict[str, Any]:
    """The official ZebraLogic grid of an assignment: header ``["House", *attributes]``, one row per house."""
    houses = len(positions[0])
    rows = [[str(house + 1)] + [""] * len(attributes) for house in range(houses)]
    for attr, row in enumerate(positions):
        for value, house in enumerate(row):
            rows[house][attr + 1] = values[attributes[attr]][value]
    return {"header": ["House", *attributes], "rows": rows}


def _rng(seed: int, config: ZebraConfig) -> random.Random:
    """A generator seeded from (seed, config) through SHA-256: stable across runs, machines and Python versions."""
    key = f"npr-zebra|{seed}|{config.houses}|{config.attributes}|{config.difficulty}".encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def generate_puzzle(seed: int, config: ZebraConfig) -> Puzzle:
    """The puzzle of ``seed`` at ``config``: a random solution and clues with exactly that one solution."""
    rng = _rng(seed, config)
    others = [pool for pool in POOLS if pool is not NAME_POOL]
    rng.shuffle(others)
    pools = [NAME_POOL, *others[: config.attributes - 1]]
    attributes = [pool.name for pool in pools]
    values: dict[str, list[str]] = {}
    for pool in pools:
        drawn = list(pool.values)
        rng.shuffle(drawn)
        # Listed sorted, so the listing order carries no hint of the houses.
        values[pool.name] = sorted(drawn[: config.houses])
    positions: list[tuple[int, ...]] = []
    for _ in pools:
        houses = list(range(config.houses))
        rng.shuffle(houses)
        positions.append(tuple(houses))
    solution: Assignment = tuple(positions)
    constraints = tuple(build_clues(rng, solution, PROFILES[config.difficulty]))
    found = solve(ClueSet(config.houses, config.attributes, constraints), limit=2)
    if found != [solution]:
        raise RuntimeError(f"generated clues for seed {seed} at {config} do not pin the solution: {found}")
    return Puzzle(
        id=f"zebra-{config.houses}x{config.attributes}-{config.difficulty}-s{seed}",
        houses=config.houses,
        attributes=attributes,
        values=values,
        solution=solution_grid(attributes, values, solution),
        clues=[render_clue(clue, attributes, values) for clue in constraints],
        difficulty=config.difficulty,
        constraints=constraints,
    )


def count_solutions(puzzle_or_constraints: Puzzle | ClueSet, limit: int = 2) -> int:
    """How many assignments satisfy the structured clues, counting no further than ``limit``.

    ``limit=2`` is the uniqueness check (0: contradictory, 1: unique, 2: several); pass a large limit to count all.
    """
    if isinstance(puzzle_or_constraints, Puzzle):
        if not puzzle_or_constraints.constraints:
            raise ValueError(f"puzzle {puzzle_or_constraints.id!r} has no structured constraints to solve")
        clue_set = puzzle_or_constraints.clue_set()
    elif isinstance(puzzle_or_constraints, ClueSet):
        clue_set = puzzle_or_constraints
    else:
        raise TypeError(f"expected a Puzzle or a ClueSet, got {type(puzzle_or_constraints).__name__}")
    return len(solve(clue_set, limit=limit))


def _item_config(index: int, config: ZebraConfig | None, mix: bool) -> ZebraConfig:
    """The config of item ``index``: ``config`` if given, else the mixed spread, else the default config."""
    if config is not None:
        return config
    if mix:
        houses, attributes = MIX_SIZES[index % len(MIX_SIZES)]
        return ZebraConfig(houses, attributes, DIFFICULTIES[index % len(DIFFICULTIES)])
    return ZebraConfig()


def puzzle_items(n: int = 100, seed: int = 0, config: ZebraConfig | None = None, mix: bool = True) -> list[Item]:
    """``n`` generated puzzles as evaluation items, the same on every run for the same arguments.

    With no ``config`` and ``mix=True`` (the default), sizes cycle through :data:`MIX_SIZES` (2x2 up to 5x5,
    smallest first) and difficulties through easy/medium/hard; with no ``config`` and ``mix=False``, every puzzle
    uses ``ZebraConfig()``. A given ``config`` is used for every puzzle, whatever ``mix`` says.

    Item ``i`` is ``generate_puzzle(seed * 100000 + i, its config)``; its id is
    ``"zebra-{houses}x{attributes}-{difficulty}-s{seed}-{i:05d}"``, its answer the solution grid, and its meta
    ``size`` (``"4*4"``), ``houses``, ``attributes``, ``difficulty``, ``seed`` (the puzzle's) and ``clues`` (count).
    """
    if not 0 <= n <= _SEED_STRIDE:
        raise ValueError(f"n must be from 0 to {_SEED_STRIDE} (ids have five digits), got {n}")
    items = []
    for index in range(n):
        item_config = _item_config(index, config, mix)
        puzzle_seed = seed * _SEED_STRIDE + index
        item_id = f"zebra-{item_config.houses}x{item_config.attributes}-{item_config.difficulty}-s{seed}-{index:05d}"
        puzzle = replace(generate_puzzle(puzzle_seed, item_config), id=item_id)
        meta = {
            "size": item_config.size,
            "houses": item_config.houses,
            "attributes": item_config.attributes,
            "difficulty": item_config.difficulty,
            "seed": puzzle_seed,
            "clues": len(puzzle.clues),
        }
        items.append(Item(id=puzzle.id, question=puzzle.question(), answer=puzzle.solution, meta=meta))
    return items
