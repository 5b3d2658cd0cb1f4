"""Shared pytest fixtures: the vendored Qwen3 tokenizer and tiny random models built from configs."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
# Under pytest-xdist each worker gets one thread: two workers with two threads each on a 2-core machine thrash.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
# Models fetched for tests (SmolLM2) go to the repository's git-ignored cache, as with `make`.
os.environ.setdefault("NPR_CACHE", str(Path(__file__).parents[1] / ".cache"))
QWEN3_TOKENIZER_DIR = FIXTURES / "qwen3-tokenizer"

# Tiny but structurally real: GQA (4 query heads over 2 KV heads), explicit head_dim.
TINY_DIMS = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=1024,
)
TINY_DEFAULT_VOCAB = 512


@pytest.fixture(scope="session")
def qwen3_tokenizer(tmp_path_factory: pytest.TempPathFactory):
    """The real Qwen3 tokenizer (151,669 tokens, with its chat template), WITHOUT the NPR tags.

    Shared by the whole session: tests that modify a tokenizer must use ``fresh_qwen3_tokenizer``.
    """
    from npr.tokens import load_tokenizer

    return load_tokenizer(QWEN3_TOKENIZER_DIR, cache_dir=tmp_path_factory.mktemp("npr-cache"))


@pytest.fixture
def fresh_qwen3_tokenizer(qwen3_tokenizer):
    """A private copy of ``qwen3_tokenizer`` that a test may modify (e.g. with ``add_tags``)."""
    return copy.deepcopy(qwen3_tokenizer)


@pytest.fixture(scope="session")
def npr_tokenizer(qwen3_tokenizer):
    """The Qwen3 tokenizer with the eight tags (ids 151669..151676). Do not modify: copy it first."""
    from npr.tokens import add_tags

    tok = copy.deepcopy(qwen3_tokenizer)
    add_tags(None, tok)
    return tok


def _vocab(vocab_size: int | None, tokenizer) -> int:
    if vocab_size is not None:
        return vocab_size
    return len(tokenizer) if tokenizer is not None else TINY_DEFAULT_VOCAB


def _build(config_cls_name: str, vocab_size, tokenizer, tie_word_embeddings, seed, attn_implementation):
    import transformers
    from transformers import AutoModelForCausalLM

    config_cls = getattr(transformers, config_cls_name)
    # A fresh config per model: from_config(cfg, attn_implementation=...) mutates cfg in transformers 5.
    cfg = config_cls(vocab_size=_vocab(vocab_size, tokenizer), tie_word_embeddings=tie_word_embeddings, **TINY_DIMS)
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation=attn_implementation, dtype=torch.float32)
    return model.eval()


ModelFactory = Callable[..., torch.nn.Module]


@pytest.fixture(scope="session")
def tiny_qwen3() -> ModelFactory:
    """Factory for tiny random fp32 Qwen3 causal LMs.

    ``tiny_qwen3(vocab_size=None, tokenizer=None, *, tie_word_embeddings=False, seed=0, attn_implementation="eager")``;
    the vocabulary is ``vocab_size``, else ``len(tokenizer)``, else 512.
    """

    def make(vocab_size=None, tokenizer=None, *, tie_word_embeddings=False, seed=0, attn_implementation="eager"):
        return _build("Qwen3Config", vocab_size, tokenizer, tie_word_embeddings, seed, attn_implementation)

    return make


@pytest.fixture(scope="session")
def tiny_llama() -> ModelFactory:
    """Factory for tiny random fp32 Llama causal LMs; same arguments as ``tiny_qwen3``."""

    def make(vocab_size=None, tokenizer=None, *, tie_word_embeddings=False, seed=0, attn_implementation="eager"):
        return _build("LlamaConfig", vocab_size, tokenizer, tie_word_embeddings, seed, attn_implementation)

    return make


@pytest.fixture(scope="session")
def toy_model_dir(tmp_path_factory, tiny_qwen3):
    """A random tiny Qwen3 saved with the toy tokenizer (it writes noise; scripted engines choose its tokens)."""
    from npr.toy.tokenizer import toy_tokenizer

    folder = tmp_path_factory.mktemp("toy-model")
    tokenizer = toy_tokenizer()
    model = tiny_qwen3(tokenizer=tokenizer, tie_word_embeddings=True, attn_implementation="sdpa")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
