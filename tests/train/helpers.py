"""Helpers for the training tests: a tiny character tokenizer, tiny model configs, and small data files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: A tiny Qwen3 for ``model.init`` (the vocabulary comes from the tokenizer).
TINY_QWEN3 = dict(
    model_type="qwen3", hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, head_dim=8, max_position_embeddings=512,
)  # fmt: skip


def make_char_tokenizer(folder: Path, chars: str = "0123456789") -> Path:
    """Save a real fast tokenizer with one token per character of ``chars``, ``<unk>``, EOS ``<|im_end|>`` and
    the eight NPR tags (ids 12..19 for the default digits) into ``folder``; returns ``folder``.

    A vocabulary this small lets a tiny random model sample any token often enough to learn from a reward.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    from npr.tokens import add_tags

    vocab = {"<unk>": 0, "<|im_end|>": 1, **{c: i + 2 for i, c in enumerate(chars)}}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="<|im_end|>")
    add_tags(None, tok)
    tok.save_pretrained(folder)
    return folder


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def rl_dict(tokenizer_dir: Path, data_path: Path, **over: Any) -> dict[str, Any]:
    """An RLConfig as a dict: a tiny Qwen3 from ``model.init``, short rollouts; ``over`` merges on top."""
    from npr.train.config.loader import deep_merge

    base = {
        "model": {"init": dict(TINY_QWEN3), "tokenizer": str(tokenizer_dir)},
        "data": {"path": str(data_path)},
        "rollout": {"prompts_per_step": 2, "group_size": 4, "max_tokens": 6, "kv_budget": 4096, "mode": "sequential"},
        "algorithm": {"name": "papo", "filters": []},
        "reward": {"terms": {"correctness": 1.0}},
        "max_steps": 2,
        "lr": 1e-2,
        "save_steps": 1,
    }
    if "reward" in over:  # a test's reward replaces the default one (terms are not merged)
        base.pop("reward")
    return deep_merge(base, over)


def id_corpus(n: int, seed: int = 0, eos: int = 1) -> list[dict[str, Any]]:
    """``n`` NPR trajectories as ids for the character tokenizer (digits 2..11, tags 12..19, EOS 1): blocks of 1-3
    branches whose steps copy a digit of the prompt, as ``{"prompt_ids", "response_ids"}`` records."""
    import random

    rng = random.Random(seed)
    g0, g1, p0, p1, s0, s1, t0, t1 = 12, 13, 14, 15, 16, 17, 18, 19
    rows = []
    for _ in range(n):
        prompt = [rng.randint(2, 11) for _ in range(rng.randint(2, 5))]
        k = rng.randint(1, 3)
        resp = [g0] + [x for i in range(k) for x in (p0, 2 + i, p1)] + [g1]
        for i in range(k):
            resp += [s0, 2 + i, prompt[i % len(prompt)], s1]
        resp += [t0, prompt[0], t1, prompt[-1], eos]
        rows.append({"prompt_ids": prompt, "response_ids": resp})
    return rows


def sft_dict(tokenizer_dir: Path, data_path: Path, **over: Any) -> dict[str, Any]:
    """An SFTConfig as a dict: a tiny Qwen3 from ``model.init`` over the character tokenizer."""
    from npr.train.config.loader import deep_merge

    base = {
        "model": {"init": dict(TINY_QWEN3), "tokenizer": str(tokenizer_dir)},
        "data": {"path": str(data_path)},
        "batch_size": 8, "lr": 1e-2, "max_steps": 4, "save_steps": 2, "logging_steps": 1, "lr_scheduler": "constant",
    }  # fmt: skip
    return deep_merge(base, over)


def register_test_rewards() -> None:
    """Reward terms the RL tests use, each registered once per process whichever test module imports it first."""
    from npr.train.rewards import REWARD_TERMS

    def prefers_7(ctx):
        """+1 when the response starts with 7, -1 otherwise: a reward that prefers one answer."""
        return 1.0 if ctx.text[:1] == "7" else -1.0

    def seven_unless_prompt_0(ctx):
        """Constant for the prompt whose answer is "0" (its groups carry no signal), prefers_7 otherwise."""
        return 0.0 if ctx.answer == "0" else (1.0 if ctx.text[:1] == "7" else -1.0)

    for name, fn in (("prefers_7", prefers_7), ("seven_unless_prompt_0", seven_unless_prompt_0)):
        if name not in REWARD_TERMS:
            REWARD_TERMS.register(name)(fn)
