"""Loading tokenizer folders, including ones that ship ``tokenizer.json`` compressed as ``tokenizer.json.xz``."""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# Small files that describe a tokenizer, copied next to a decompressed tokenizer.json.
_SIDECAR_FILES = (
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
    "config.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
)
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.json.xz", "tokenizer.model", "vocab.json")


def cache_root() -> Path:
    """npr's cache folder: ``$NPR_CACHE`` if set, else ``~/.cache/npr``."""
    root = os.environ.get("NPR_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "npr"


def default_cache_dir() -> Path:
    """Where decompressed tokenizers go: ``cache_root() / "tokenizers"``."""
    return cache_root() / "tokenizers"


def load_tokenizer(
    path: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None
) -> PreTrainedTokenizerBase:
    """Load the Hugging Face tokenizer in folder ``path``.

    A folder with ``tokenizer.json.xz`` but no ``tokenizer.json`` is decompressed once into
    ``cache_dir / <hash of the tokenizer files>/`` (default :func:`default_cache_dir`) together with its small
    tokenizer files, and loaded from there. Raises ``FileNotFoundError`` when the folder does not exist or holds no
    tokenizer, and ``ValueError`` when transformers cannot load what is there.
    """
    from transformers import AutoTokenizer

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Tokenizer folder {str(folder)!r} does not exist (or is not a folder). Pass a local folder that holds "
            f"tokenizer.json (or tokenizer.json.xz) and tokenizer_config.json."
        )
    if not any((folder / name).is_file() for name in _TOKENIZER_FILES):
        raise FileNotFoundError(
            f"No tokenizer in {str(folder)!r}: expected one of {', '.join(_TOKENIZER_FILES)}. Point to the folder "
            f"of a saved Hugging Face tokenizer or model."
        )
    source = folder
    if not (folder / "tokenizer.json").is_file() and (folder / "tokenizer.json.xz").is_file():
        source = _decompressed(folder, Path(cache_dir) if cache_dir is not None else default_cache_dir())
    try:
        return AutoTokenizer.from_pretrained(str(source))
    except Exception as exc:  # transformers raises many types; callers get one, with the folder named
        raise ValueError(f"Could not load the tokenizer in {str(folder)!r}: {exc}") from exc


def _decompressed(folder: Path, cache_root: Path) -> Path:
    """A cache folder with ``tokenizer.json`` decompressed from ``folder/tokenizer.json.xz`` and the sidecar files."""
    sidecars = [folder / name for name in _SIDECAR_FILES if (folder / name).is_file()]
    digest = hashlib.sha256()
    for file in [folder / "tokenizer.json.xz", *sidecars]:
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    target = cache_root / digest.hexdigest()[:24]
    if (target / "tokenizer.json").is_file():
        return target
    if target.exists():  # left half-made by an interrupted older run: rebuild it
        shutil.rmtree(target, ignore_errors=True)
    cache_root.mkdir(parents=True, exist_ok=True)
    # Build in a private folder and rename it into place, so concurrent loaders (pytest-xdist) never see half a file.
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=cache_root))
    try:
        try:
            with lzma.open(folder / "tokenizer.json.xz", "rb") as src, open(staging / "tokenizer.json", "wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 20)
        except lzma.LZMAError as exc:
            raise ValueError(f"{str(folder / 'tokenizer.json.xz')!r} is not a valid .xz file: {exc}") from exc
        for file in sidecars:
            shutil.copyfile(file, staging / file.name)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "tokenizer.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
