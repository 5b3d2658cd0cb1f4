"""ZebraLogic-style logic grid puzzles with unique solutions, generated locally (the official set is gated).

The API is :mod:`npr.eval.zebra.puzzles` (re-exported here); the family's other modules:

* :mod:`~npr.eval.zebra.clues`: the structured clue types and the assignment they constrain;
* :mod:`~npr.eval.zebra.generator`: how clues are drawn and pruned, and what the difficulty knob does;
* :mod:`~npr.eval.zebra.solver`: the exact solver that proves a puzzle has one solution;
* :mod:`~npr.eval.zebra.text`: clues and questions as English;
* :mod:`~npr.eval.zebra.pools`: the attribute and value pools.
"""

from npr.eval.zebra.puzzles import (
    DIFFICULTIES,
    MIX_SIZES,
    Puzzle,
    ZebraConfig,
    count_solutions,
    generate_puzzle,
    puzzle_items,
    solution_grid,
)

__all__ = [
    "DIFFICULTIES", "MIX_SIZES", "Puzzle", "ZebraConfig", "count_solutions", "generate_puzzle", "puzzle_items",
    "solution_grid",
]  # fmt: skip
