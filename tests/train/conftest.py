"""Training test fixtures: the character tokenizer folder and a tiny random Qwen3 over the tagged Qwen3 tokenizer."""

from __future__ import annotations

import pytest

from .helpers import make_char_tokenizer


@pytest.fixture(scope="session")
def char_tokenizer_dir(tmp_path_factory):
    """A folder holding the tiny character tokenizer (digits, EOS, the eight tags)."""
    return make_char_tokenizer(tmp_path_factory.mktemp("char-tokenizer"))


@pytest.fixture(scope="module")
def tiny_policy(npr_tokenizer, tiny_qwen3):
    """(model, tokenizer): a tiny random fp32 Qwen3 (sdpa) over the tagged Qwen3 tokenizer. Do not modify."""
    return tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa"), npr_tokenizer
