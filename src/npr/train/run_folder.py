"""A training run's output folder: its saved config, the resume rules, and the metrics log.

``DIR/config.yaml`` records the settings a run started with. Starting again in a folder that holds a run needs
``resume``; resuming refuses settings that would change the training so far (anything but the keys in
``may_change``). ``DIR/metrics.jsonl`` gets one JSON object per logged step; on resume, lines past the checkpoint
are dropped first, so no step is ever counted twice.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"


def is_main_process() -> bool:
    """True in a single process, and in the rank-0 process under torchrun or accelerate launch (``RANK``)."""
    return int(os.environ.get("RANK", "0")) == 0


class RunFolderError(ValueError):
    """The output folder cannot be used for this run, with the reason and what to do."""


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and v:
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def check(folder: str | Path, config: Mapping[str, Any], *, resume: bool, may_change: Iterable[str]) -> bool:
    """Check that ``folder`` can take a run with ``config``, writing nothing; returns True when an earlier run is
    continued. Call :func:`start` once every other check has passed, so that a refused run leaves no trace.

    Only the main process checks; under a launcher the other ranks take its word (the launcher stops them all if
    the main process refuses).
    """
    out = Path(folder)
    saved_file = out / CONFIG_FILE
    if not is_main_process():
        return resume and saved_file.is_file()
    if not saved_file.is_file():
        return False
    if not resume:
        raise RunFolderError(f"{str(out)!r} already holds a run; pass --resume to continue it, or choose another --out")
    try:
        saved = yaml.safe_load(saved_file.read_text()) or {}
    except yaml.YAMLError as exc:
        raise RunFolderError(f"{str(saved_file)!r} is unreadable ({exc}); move it away to start over") from None
    old, new = _flatten(saved), _flatten(dict(config))
    allowed = set(may_change)
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k) and k not in allowed)
    if changed:
        detail = "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:6])
        raise RunFolderError(
            f"cannot resume the run in {str(out)!r} with other settings ({detail}). Only "
            f"{', '.join(sorted(allowed))} may change on resume; use another --out for a new run"
        )
    return True


def start(folder: str | Path, config: Mapping[str, Any], *, resumed: bool, command: str) -> None:
    """Write ``config.yaml`` (the settings now in force) and, for a new run, ``command.txt``; main process only."""
    if not is_main_process():
        return
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG_FILE).write_text(yaml.safe_dump(dict(config), sort_keys=False))
    if not resumed:
        (out / "command.txt").write_text(command + "\n")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN; a missing figure reads as null
    if hasattr(value, "item"):
        return _clean(value.item())
    return value


class MetricsLog:
    """Appends one JSON object per step to ``metrics.jsonl``; ``truncate(step)`` drops lines after ``step``."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / METRICS_FILE

    def truncate(self, step: int) -> int:
        """Keep only records with ``step <= step`` (and drop a torn last line); returns how many were dropped."""
        if not self.path.is_file():
            return 0
        kept, dropped = [], 0
        for line in self.path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                dropped += 1
                continue
            if int(record.get("step", 0)) <= step:
                kept.append(line)
            else:
                dropped += 1
        self.path.write_text("".join(f"{x}\n" for x in kept))
        return dropped

    def write(self, record: Mapping[str, Any]) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps({k: _clean(v) for k, v in record.items()}) + "\n")

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        return [json.loads(x) for x in self.path.read_text().splitlines() if x.strip()]
