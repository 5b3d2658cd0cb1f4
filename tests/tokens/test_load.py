"""load_tokenizer: the vendored .xz fixture, the cache, and clear errors."""

from __future__ import annotations

import lzma
import shutil
from pathlib import Path

import pytest

from npr.tokens import default_cache_dir, load_tokenizer

from .helpers import tiny_bos_tokenizer

FIXTURE = Path(__file__).parents[1] / "fixtures" / "qwen3-tokenizer"


def test_vendored_fixture_is_compressed_only():
    assert (FIXTURE / "tokenizer.json.xz").is_file() and (FIXTURE / "tokenizer_config.json").is_file()
    assert not (FIXTURE / "tokenizer.json").exists()


def test_loads_xz_folder_into_npr_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NPR_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path / "tokenizers"
    tok = load_tokenizer(FIXTURE)
    assert len(tok) == 151669
    assert tok.convert_tokens_to_ids("<|im_start|>") == 151644
    assert "enable_thinking" in tok.chat_template
    cached = list((tmp_path / "tokenizers").iterdir())
    assert len(cached) == 1
    assert (cached[0] / "tokenizer.json").is_file() and (cached[0] / "tokenizer_config.json").is_file()
    mtime = (cached[0] / "tokenizer.json").stat().st_mtime_ns
    load_tokenizer(FIXTURE)  # reuses the cache: no second copy, no rewrite
    assert list((tmp_path / "tokenizers").iterdir()) == cached
    assert (cached[0] / "tokenizer.json").stat().st_mtime_ns == mtime


def test_loads_plain_folder_without_cache(tmp_path):
    tiny_bos_tokenizer("{{ bos_token }}").save_pretrained(tmp_path / "tok")
    tok = load_tokenizer(tmp_path / "tok", cache_dir=tmp_path / "cache")
    assert tok.bos_token == "<s>"
    assert not (tmp_path / "cache").exists()


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_tokenizer(tmp_path / "nope")


def test_folder_without_tokenizer(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="No tokenizer in"):
        load_tokenizer(tmp_path)


def test_corrupt_xz(tmp_path):
    folder = tmp_path / "tok"
    folder.mkdir()
    shutil.copyfile(FIXTURE / "tokenizer_config.json", folder / "tokenizer_config.json")
    (folder / "tokenizer.json.xz").write_bytes(b"not xz at all")
    with pytest.raises(ValueError, match="not a valid .xz"):
        load_tokenizer(folder, cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").iterdir())  # no half-written cache entry left behind


def test_bad_tokenizer_json_is_a_clear_error(tmp_path):
    folder = tmp_path / "tok"
    folder.mkdir()
    with lzma.open(folder / "tokenizer.json.xz", "wb") as f:
        f.write(b"{ this is not json")
    with pytest.raises(ValueError, match="Could not load the tokenizer"):
        load_tokenizer(folder, cache_dir=tmp_path / "cache")
