"""RL checkpoints: ``DIR/checkpoints/step-N/``, written whole or not at all.

Each holds accelerate's state (``accelerate/``: model, optimizer, RNG and the registered objects - the LR
scheduler and the run state with the prompt stream's position) and the policy in HF format (``hf/``, with the
tokenizer), which the engine, ``npr eval`` and the next stage load. A checkpoint is built in ``step-N.tmp`` and
renamed into place, so a run killed while saving leaves the previous checkpoint intact.
"""

from __future__ import annotations

import shutil
from pathlib import Path

PREFIX = "step-"


def checkpoint_dir(out: Path, step: int) -> Path:
    return out / "checkpoints" / f"{PREFIX}{step}"


def list_checkpoints(out: Path) -> list[tuple[int, Path]]:
    """Finished checkpoints, oldest first."""
    folder = out / "checkpoints"
    found = []
    for p in folder.glob(f"{PREFIX}*") if folder.is_dir() else []:
        tail = p.name[len(PREFIX) :]
        if tail.isdigit() and p.is_dir() and (p / "accelerate").is_dir():
            found.append((int(tail), p))
    return sorted(found)


def latest(out: Path) -> tuple[int, Path] | None:
    found = list_checkpoints(out)
    return found[-1] if found else None


def staging_dir(out: Path, step: int) -> Path:
    """Where checkpoint ``step`` is built before it is renamed into place."""
    final = checkpoint_dir(out, step)
    return final.with_name(final.name + ".tmp")


def begin(out: Path, step: int) -> Path:
    """An empty staging folder for checkpoint ``step`` (what a killed save left there is dropped)."""
    tmp = staging_dir(out, step)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def finish(out: Path, step: int, keep: int | None) -> Path:
    """Move the staging folder to ``step-N`` and prune to the newest ``keep`` checkpoints."""
    final = checkpoint_dir(out, step)
    if final.exists():
        shutil.rmtree(final)
    staging_dir(out, step).rename(final)
    if keep is not None:
        for _, old in list_checkpoints(out)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    return final
