"""Loading evaluation data from the Hugging Face hub: one split of a dataset repository, as rows or as items.

The repository's file list picks the split's data files (Parquet or JSON/JSON Lines, as the hub's own layouts name
them: ``data/test-00000-of-00001.parquet``, ``grid_mode/test-....parquet``, ``test.jsonl``, ...), which are
downloaded into the usual hub cache and read with :mod:`npr.eval.datafiles`. A gated repository is read with the
token in ``HF_TOKEN`` (or a ``huggingface-cli login``), once its terms have been accepted on its hub page.

Nothing here touches the network when ``offline`` is true (its default follows ``HF_HUB_OFFLINE``); the caller then
gets a :class:`~npr.eval.datafiles.BenchmarkError` saying how to load the data without the hub.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from npr.eval.datafiles import BenchmarkError, data_suffix, items_from_records, read_records
from npr.eval.item import Item

_TRUE = {"1", "true", "yes", "on"}


def offline_default() -> bool:
    """Whether the hub is off limits by default: ``HF_HUB_OFFLINE`` set to 1/true/yes/on."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def split_files(files: Sequence[str], *, split: str, config: str | None = None) -> list[str]:
    """The data files of one split (and config) among a repository's file paths, sorted.

    A file belongs to split ``test`` when its name is ``test.<ext>`` or starts with ``test-``/``test_``, or when a
    folder on its path is named ``test``. With a config, a folder on its path must be named after the config. If
    several folders hold the split and no config was given, the choice is ambiguous and an error lists them.
    """
    chosen = []
    for name in files:
        if data_suffix(name) is None:
            continue
        path = PurePosixPath(name)
        folders = path.parts[:-1]
        stem = path.name.split(".")[0]
        in_split = stem == split or stem.startswith((f"{split}-", f"{split}_")) or split in folders
        if in_split and (config is None or config in folders):
            chosen.append(name)
    if config is None:
        groups = sorted({str(PurePosixPath(n).parent) for n in chosen})
        if len(groups) > 1:
            raise BenchmarkError(
                f"split {split!r} is in several folders ({', '.join(groups)}); pass the config (the folder "
                "name) to choose one"
            )
    return sorted(chosen)


def _list_files(repo_id: str) -> list[str]:
    from huggingface_hub import HfApi

    return list(HfApi().list_repo_files(repo_id, repo_type="dataset"))


def _download(repo_id: str, filename: str) -> Path:
    from huggingface_hub import hf_hub_download

    return Path(hf_hub_download(repo_id, filename, repo_type="dataset"))


def hub_records(
    repo_id: str,
    *,
    split: str = "test",
    config: str | None = None,
    offline: bool | None = None,
    hint: str = "",
) -> list[dict[str, Any]]:
    """All rows of one split of a hub dataset, in file order (files sorted by name).

    Args:
        repo_id: ``owner/name`` of a dataset repository.
        split, config: which split, and which config (folder) where the repository has several.
        offline: refuse the network (default: :func:`offline_default`).
        hint: appended to every error after a comma: how else to get the data (``"or pass --data-dir DIR ..."``).

    Raises:
        BenchmarkError: offline, no network, gated or missing repository, no such split; the message says what to
            do (set ``HF_TOKEN``, accept the dataset's terms, go online, or use local files).
    """
    where = f"hub dataset {repo_id} (split {split}{f', config {config}' if config else ''})"
    tail = f", {hint}" if hint else ""
    if offline is None:
        offline = offline_default()
    if offline:
        raise BenchmarkError(
            f"{where} is not available offline (HF_HUB_OFFLINE is set or offline was requested); go online{tail}"
        )
    try:
        from huggingface_hub import errors
    except ImportError:
        raise BenchmarkError(
            f"{where}: loading from the hub needs huggingface_hub; pip install huggingface_hub{tail}"
        ) from None
    try:
        listing = _list_files(repo_id)
        files = split_files(listing, split=split, config=config)
        if not files:
            available = sorted(n for n in listing if data_suffix(n) is not None)[:10]
            raise BenchmarkError(
                f"no data files for this split; check the split and config names (data files: "
                f"{', '.join(available) or 'none'})"
            )
        paths = [_download(repo_id, name) for name in files]
    except BenchmarkError as exc:
        raise BenchmarkError(f"{where}: {exc}{tail}") from None
    except errors.GatedRepoError:
        raise BenchmarkError(
            f"{where} is gated: accept its terms at https://huggingface.co/datasets/{repo_id} and set HF_TOKEN "
            f"(or run `hf auth login`){tail}"
        ) from None
    except errors.RepositoryNotFoundError:
        raise BenchmarkError(
            f"{where}: not found, or private to you; check the name, and set HF_TOKEN if it needs access{tail}"
        ) from None
    except (errors.OfflineModeIsEnabled, errors.LocalEntryNotFoundError):
        raise BenchmarkError(f"{where}: cannot be downloaded (huggingface_hub is offline); go online{tail}") from None
    except Exception as exc:  # network failures surface as several httpx/OS error types
        raise BenchmarkError(f"{where}: download failed ({type(exc).__name__}: {exc}){tail}") from None
    rows: list[dict[str, Any]] = []
    for path in paths:
        rows.extend(read_records(path))
    return rows


def load_hub(
    repo_id: str,
    *,
    split: str = "test",
    config: str | None = None,
    question: str = "question",
    answer: str = "answer",
    id: str | None = None,
    kind: str = "math",
    offline: bool | None = None,
) -> list[Item]:
    """The items of one split of a hub dataset, with the field mapping of :func:`npr.eval.datafiles.load_file`.

    Raises:
        BenchmarkError: as :func:`hub_records`, or a row lacks a mapped field.
    """
    rows = hub_records(
        repo_id, split=split, config=config, offline=offline, hint="or download the data and pass the file instead"
    )
    where = f"{repo_id}:{split}"
    return items_from_records(rows, where=where, question=question, answer=answer, id=id, kind=kind)
