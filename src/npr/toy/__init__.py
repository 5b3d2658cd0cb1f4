"""CPU-sized pieces for trying npr end to end: toy tasks, the toy seed model, a real small model (SmolLM2-135M-Instruct) and the tour.

The toy task families live in :mod:`npr.eval.toy`, on the evaluation floor, so that ``npr eval`` can register their
test splits; they are re-exported here, where the seed builder draws its training corpus from them.
"""

from npr.eval.toy import PARTS, TASKS, ToyProblem, ToyTask, get_task, heldout_items, split_of

__all__ = ["PARTS", "TASKS", "ToyProblem", "ToyTask", "get_task", "heldout_items", "split_of"]
