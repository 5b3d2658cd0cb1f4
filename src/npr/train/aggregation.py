r"""Loss aggregation: how the per-token losses of a mini-batch become one scalar.

Each mode gives a weight per trained token so that ``loss = sum(w * token_loss)``. The weights are computed once
over the whole mini-batch (all its micro-batches, and all ranks: pass the global counts), so that splitting the
mini-batch into micro-batches for memory, or over processes, changes nothing.

=========================  ======================================  ==============================================
mode                       w for a token of sequence s             what it normalises, and the bias that causes
=========================  ======================================  ==============================================
token-mean                 1 / T                                   every token weighs the same (T = tokens in
                           (T: all trained tokens)                 the mini-batch). A long sequence carries
                                                                   more weight than a short one; no per-token
                                                                   length bias. DAPO's and PAPO's choice
seq-mean-token-mean        1 / (S * n_s)                           each sequence weighs the same (S sequences,
                           (n_s: trained tokens of s)              n_s tokens). Tokens of short sequences weigh
                                                                   more: a short correct answer is pushed up
                                                                   harder and a long wrong one pushed down less,
                                                                   which lengthens wrong answers (GRPO's length
                                                                   bias)
seq-mean-token-sum-norm    1 / (S * L)                             per-sequence token sums over a constant L (the
                           (L: a constant, the generation budget)  generation budget; Dr. GRPO). No length bias;
                                                                   the gradient scale depends on L
=========================  ======================================  ==============================================
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from npr.train.registry import Registry

#: ``fn(seq_index Long[N], tokens_per_seq Float[S], norm_length) -> Float[N]`` (global counts; see module doc).
Aggregation = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
AGGREGATIONS: Registry[Aggregation] = Registry("loss aggregation")


@AGGREGATIONS.register("token-mean")
def token_mean(seq_index: torch.Tensor, tokens_per_seq: torch.Tensor, norm_length: float) -> torch.Tensor:
    """1 / (all trained tokens): every token alike."""
    total = tokens_per_seq.sum().clamp(min=1)
    return torch.full(seq_index.shape, 1.0, dtype=tokens_per_seq.dtype, device=seq_index.device) / total


@AGGREGATIONS.register("seq-mean-token-mean")
def seq_mean_token_mean(seq_index: torch.Tensor, tokens_per_seq: torch.Tensor, norm_length: float) -> torch.Tensor:
    """1 / (sequences * tokens of this sequence): every sequence alike."""
    n_seq = (tokens_per_seq > 0).sum().clamp(min=1)
    return 1.0 / (n_seq * tokens_per_seq.clamp(min=1))[seq_index]


@AGGREGATIONS.register("seq-mean-token-sum-norm")
def seq_mean_token_sum_norm(seq_index: torch.Tensor, tokens_per_seq: torch.Tensor, norm_length: float) -> torch.Tensor:
    """1 / (sequences * L): token sums over a constant length."""
    if not norm_length > 0:
        raise ValueError(f"seq-mean-token-sum-norm needs a positive norm length, got {norm_length}")
    n_seq = (tokens_per_seq > 0).sum().clamp(min=1)
    return torch.full(seq_index.shape, 1.0, dtype=tokens_per_seq.dtype, device=seq_index.device) / (n_seq * norm_length)


def token_weights(mode: str, seq_index: torch.Tensor, num_seqs: int, norm_length: float = 1.0) -> torch.Tensor:
    """Float[N] weights of aggregation ``mode`` for tokens whose sequence is ``seq_index`` Long[N] (0..num_seqs-1).

    Sequences with no trained token do not count (they hold no loss to average).
    """
    counts = torch.bincount(seq_index, minlength=num_seqs).to(torch.float32)
    return AGGREGATIONS.get(mode)(seq_index, counts, norm_length)
