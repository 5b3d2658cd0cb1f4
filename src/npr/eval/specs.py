"""What ``npr eval --benchmark SPEC`` names: a registered benchmark, a local data file, or an ``hf:`` dataset.

:func:`resolve` turns a spec into ``(display name, grader kind, items)``; the registry itself lives in
:mod:`npr.eval.benchmarks`, the file readers in :mod:`npr.eval.datafiles` and the hub in :mod:`npr.eval.hub`.
"""

from __future__ import annotations

import os
from pathlib import Path

from npr.eval.benchmarks import check_limit, lookup, unknown_name
from npr.eval.datafiles import BenchmarkError, data_suffix, load_file
from npr.eval.hub import load_hub
from npr.eval.item import Item


def resolve(
    spec: str,
    *,
    limit: int | None = None,
    data_dir: str | Path | None = None,
    offline: bool | None = None,
    question: str | None = None,
    answer: str | None = None,
    id: str | None = None,
    kind: str | None = None,
) -> tuple[str, str, list[Item]]:
    """Load what ``npr eval --benchmark SPEC`` names; returns ``(display name, grader kind, items)``.

    ``spec`` is one of:

    * a registered name or alias (``aime24``, ``hmmt_feb_2025``, ...): loaded by :func:`load_benchmark`; the field
      mapping arguments must then be left unset, since the registry knows each set's fields;
    * ``hf:OWNER/NAME``, ``hf:OWNER/NAME:SPLIT`` or ``hf:OWNER/NAME:CONFIG:SPLIT`` (split default ``test``): a hub
      dataset, through :func:`load_hub`; display name ``OWNER/NAME:SPLIT``;
    * a path to a JSON, JSON Lines or Parquet file (``.gz`` allowed): through :func:`load_file`; display name the
      file name without its data suffix. A registered name wins over a file of the same name (write ``./gsm8k``).

    For files and hub datasets, ``question``/``answer``/``id`` name the fields (defaults ``question``, ``answer``,
    the row index) and ``kind`` the grader (default ``math``). ``limit`` keeps the first N items of any source.

    Raises:
        BenchmarkError: the spec names nothing loadable, or loading failed; the message says what to do.
    """
    check_limit(limit)
    text = spec.strip()
    if not text:
        raise BenchmarkError("empty benchmark spec; give a registered name, a data file or hf:owner/name[:split]")
    q_field, a_field, grader = question or "question", answer or "answer", kind or "math"
    if text.startswith("hf:"):
        repo, config, split = _parse_hub_spec(text)
        items = load_hub(
            repo, split=split, config=config, question=q_field, answer=a_field, id=id, kind=grader, offline=offline
        )
        name = f"{repo}:{config}:{split}" if config else f"{repo}:{split}"
        return name, grader, items if limit is None else items[:limit]
    bench = lookup(text)
    if bench is not None:
        given = [k for k, v in (("question", question), ("answer", answer), ("id", id), ("kind", kind)) if v]
        if given and not (given == ["kind"] and kind == bench.kind):
            raise BenchmarkError(
                f"{bench.name} is a registered benchmark with known fields; {', '.join(given)} only apply to data "
                f"files and hf: datasets (to load a file named {text!r}, write ./{text})"
            )
        return bench.name, bench.kind, bench.loader(limit=limit, data_dir=data_dir, offline=offline)
    path = Path(text).expanduser()
    if path.is_file():
        items = load_file(path, question=q_field, answer=a_field, id=id, kind=grader)
        return _display_name(path), grader, items if limit is None else items[:limit]
    if data_suffix(text) is not None or os.sep in text or "/" in text:
        raise BenchmarkError(f"benchmark file {text!r} does not exist (looked in {Path.cwd()})")
    raise BenchmarkError(f"{unknown_name(text)} A data file path or hf:owner/name[:split] also works.")


def _parse_hub_spec(text: str) -> tuple[str, str | None, str]:
    """``hf:OWNER/NAME[:[CONFIG:]SPLIT]`` -> (repo, config, split)."""
    parts = text[len("hf:") :].split(":")
    repo = parts[0]
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name or len(parts) > 3 or any(not p for p in parts):
        raise BenchmarkError(
            f"bad hub spec {text!r}; write hf:OWNER/NAME, hf:OWNER/NAME:SPLIT or hf:OWNER/NAME:CONFIG:SPLIT"
        )
    if len(parts) == 3:
        return repo, parts[1], parts[2]
    return repo, None, parts[1] if len(parts) == 2 else "test"


def _display_name(path: Path) -> str:
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[: -len(".gz")]
    suffix = data_suffix(name)
    return name[: -len(suffix)] if suffix else name
