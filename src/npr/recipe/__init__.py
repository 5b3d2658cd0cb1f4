"""The paper's recipe end to end: training prompts, Stage 2's distillation, and the pipeline over every stage.

* :func:`npr.recipe.distill.run_distill` (``npr distill``): rejection sampling from a Stage-1 model into an SFT
  corpus of the engine's own token ids.
* :func:`npr.recipe.prompts.build_prompts`: training prompts from toy families, files, the hub or ORZ, refusing any
  that is also an evaluation problem.
* :func:`npr.recipe.pipeline.run_pipeline` (``npr pipeline``, ``npr demo``): zero -> distill -> sft -> rl (-> sr),
  each model evaluated in both modes, with a report (:mod:`npr.recipe.report`).
"""

from importlib.resources import files

#: The configs shipped with the package (``configs/`` in the repository links to them).
CONFIGS = files("npr.recipe") / "configs"
