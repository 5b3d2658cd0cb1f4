"""Where the benchmark scripts write their JSON: bench/results/<kind>-<model>-<date>[-quick].json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def write(kind: str, result: dict[str, Any], folder: str | Path = RESULTS, quick: bool = False) -> Path:
    """Write ``result`` (which carries ``model`` and an ISO ``date``) and return the file's path."""
    out = Path(folder) / f"{kind}-{result['model']}-{result['date'][:10]}{'-quick' if quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out
