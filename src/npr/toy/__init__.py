"""CPU-sized pieces for trying npr end to end: toy tasks, a real small model (SmolLM2-135M-Instruct) and the demo.

The toy task families live in :mod:`npr.eval.toy`, below the trainers and the evaluation that both use them; they
are re-exported here.
"""

from npr.eval.toy import PARTS, TASKS, ToyProblem, ToyTask, get_task, heldout_items, split_of

__all__ = ["PARTS", "TASKS", "ToyProblem", "ToyTask", "get_task", "heldout_items", "split_of"]
