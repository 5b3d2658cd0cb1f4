r"""The one training forward: log-probabilities of response tokens under npr.topology's mask and positions.

SFT and RL both score tokens here (DESIGN §5, "One training forward"). Several trajectories are packed into each
row (:mod:`npr.train.packing`); one forward runs all rows; each response token i is scored from the hidden state
at ``pred(i)``, its nearest earlier visible token, never from a plain shift by one.

The attention mask takes the form the model's attention implementation needs:

* ``sdpa``: a [B, 1, L, L] bool mask (the default);
* ``eager``: the same as an additive float mask (eager adds its mask, so a bool one would add 0/1);
* ``flex_attention``: the topology's ``BlockMask``, one packed row per forward (for long rows on GPU; on CPU,
  FlexAttention runs forward only, so training with it needs a GPU).

Logits are computed only at the kept positions (``logits_to_keep``), never for the whole [B, L, V].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from npr.tokens import TagIds
from npr.train.model import base_model
from npr.train.packing import PackedBatch, Sample, pack_samples

_MASK_KIND = {"sdpa": "bool", "eager": "float", "flex_attention": "block"}


@dataclass
class Scores:
    """Per response token, in :class:`PackedBatch` target order (sample by sample).

    Attributes:
        logp: Float[N], log p(token) under ``softmax(logits / temperature)``; differentiable.
        logp_t1: Float[N] at temperature 1, detached; only when asked (equals ``logp`` detached when T = 1).
        entropy: Float[N] of the temperature-scaled distribution at each token, detached; only when asked.
    """

    logp: torch.Tensor
    logp_t1: torch.Tensor | None = None
    entropy: torch.Tensor | None = None


def attention_kind(model) -> str:
    """"bool", "float" or "block": the mask form for ``model``'s attention implementation."""
    impl = getattr(base_model(model).config, "_attn_implementation", None) or "eager"
    if impl not in _MASK_KIND:
        raise ValueError(
            f"attention implementation {impl!r} cannot take npr's parallel mask; load the model with "
            "attn_implementation='sdpa' (default), 'eager' or 'flex_attention'"
        )
    return _MASK_KIND[impl]


def _kept_logits(model, batch: PackedBatch) -> torch.Tensor:
    """Float[K, V] logits at ``batch.keep``'s positions, row-major: one forward (one per row for flex)."""
    kind = attention_kind(model)
    device = batch.input_ids.device
    if kind == "block":
        if torch.is_grad_enabled() and device.type == "cpu":
            raise ValueError(
                "FlexAttention has no backward pass on CPU: train with attn 'sdpa' on CPU, or use flex on a GPU "
                "(scoring without gradients works on CPU)"
            )
        out = []
        for r, row in enumerate(batch.rows):
            if not bool(batch.keep[r].any()):
                continue
            result = model(
                input_ids=batch.input_ids[r : r + 1], position_ids=batch.position_ids[r : r + 1],
                attention_mask=row.block_mask(device=device), logits_to_keep=batch.keep[r : r + 1], use_cache=False,
            )  # fmt: skip
            out.append(result.logits.reshape(-1, result.logits.shape[-1]))
        return torch.cat(out)
    dtype = next(model.parameters()).dtype
    mask = batch.dense_mask(kind, dtype).to(device)
    result = model(
        input_ids=batch.input_ids, position_ids=batch.position_ids, attention_mask=mask,
        logits_to_keep=batch.keep, use_cache=False,
    )  # fmt: skip
    return result.logits.reshape(-1, result.logits.shape[-1])


def score(
    model, batch: PackedBatch, *, temperature: float = 1.0, with_t1: bool = False, with_entropy: bool = False
) -> Scores:
    """Score every response token of ``batch`` (already on the model's device) in one forward.

    ``temperature`` scales the logits as the sampler did (DESIGN §5: the loss scores tokens under the distribution
    they were sampled from). The log-softmax runs in float32 over only the N needed rows.
    """
    if not temperature > 0:
        raise ValueError(f"temperature={temperature}: scoring needs a positive temperature")
    logits = _kept_logits(model, batch)[batch.source].float()  # [N, V]
    scaled = logits / temperature if temperature != 1.0 else logits
    logp_all = torch.log_softmax(scaled, dim=-1)  # [N, V]
    targets = batch.targets[:, None]
    out = Scores(logp=logp_all.gather(-1, targets)[:, 0])
    if with_t1:
        with torch.no_grad():
            t1 = logp_all if temperature == 1.0 else torch.log_softmax(logits, dim=-1)
            out.logp_t1 = t1.gather(-1, targets)[:, 0].detach()
    if with_entropy:
        with torch.no_grad():
            out.entropy = -(logp_all.exp() * logp_all).sum(-1).detach()
    return out


def _device(model) -> torch.device:
    return next(model.parameters()).device


def batch_token_logprobs(
    model, samples: Sequence[Sample], tags: TagIds, *, row_tokens: int | None = None, temperature: float = 1.0,
    pad_id: int = 0,
) -> list[torch.Tensor]:  # fmt: skip
    """The batched form of :func:`token_logprobs`: one forward for all ``samples``, packed ``row_tokens`` a row.

    Returns one Float[response_len] per sample, differentiable. ``row_tokens=None`` gives each sample its own
    (padded) row; packing changes nothing but speed.
    """
    batch = pack_samples(samples, tags, row_tokens=row_tokens, pad_id=pad_id).to(_device(model))
    logp = score(model, batch, temperature=temperature).logp
    return [logp[a:b] for a, b in zip(batch.offsets, batch.offsets[1:])]


def token_logprobs(
    model, token_ids: Sequence[int] | torch.Tensor, tags: TagIds, prompt_len: int, *, parallel: bool = True,
    temperature: float = 1.0,
) -> torch.Tensor:  # fmt: skip
    """Float[len(token_ids) - prompt_len]: log p(token_ids[i]) at pred(i) for every response token.

    One forward with npr.topology's mask and positions (``parallel=False``: causal, sequential positions);
    temperature 1 unless given; differentiable. This is what the engine's ``Trajectory.logprobs`` equals for the
    response (the parity invariant, DESIGN §3).
    """
    ids = token_ids.tolist() if isinstance(token_ids, torch.Tensor) else list(token_ids)
    [logp] = batch_token_logprobs(model, [Sample(ids, prompt_len, parallel)], tags, temperature=temperature)
    return logp
