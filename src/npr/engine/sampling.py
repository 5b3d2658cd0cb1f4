"""Choosing the next token from one row of logits, reproducibly: each sequence owns its random generator."""

from __future__ import annotations

import torch

from npr.engine.config import SamplingParams

_MASK64 = (1 << 63) - 1


def derive_seed(seed: int, *path: int) -> int:
    """A 63-bit seed for one sequence of a request, stable across runs and batch compositions.

    ``path`` names the sequence, e.g. ``(block, branch)``; distinct paths give unrelated streams.
    """
    h = seed & _MASK64
    for p in path:
        h = (h * 6364136223846793005 + 1442695040888963407 + (p + 1) * 0x9E3779B97F4A7C15) & _MASK64
    return h


def make_generator(seed: int, *path: int) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(seed, *path))


def sample(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator) -> int:
    """Draw a token id from ``logits`` (Float[V], any device) under temperature, top-k and top-p.

    Sampling runs on CPU in float32 so that the draw depends only on the logits and the generator.
    """
    x = logits.detach().float().cpu()
    if params.temperature == 0:
        return int(x.argmax())
    x = x / params.temperature
    if params.top_k and params.top_k < x.numel():
        kth = torch.topk(x, params.top_k).values[-1]
        x = x.masked_fill(x < kth, float("-inf"))
    if params.top_p < 1.0:
        sorted_x, order = torch.sort(x, descending=True)
        probs = torch.softmax(sorted_x, dim=-1)
        # Drop a token when the mass before it already reaches top_p; the most likely token always stays.
        drop = (probs.cumsum(-1) - probs) >= params.top_p
        x = x.scatter(0, order[drop], float("-inf"))
    probs = torch.softmax(x, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))
