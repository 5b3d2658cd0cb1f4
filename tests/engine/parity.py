"""The training-side reference for parity: one HF forward with the topology's mask and positions."""

from __future__ import annotations

import torch

from npr.engine import Trajectory
from npr.topology import layout


def training_logprobs(model, traj: Trajectory, tags) -> torch.Tensor:
    """Float[L]: each token's log-prob under the HF model with npr.topology's mask and positions (DESIGN §3)."""
    lay = layout(traj.token_ids, tags, traj.prompt_len, parallel=traj.mode == "parallel")
    assert lay.position_ids.tolist() == traj.position_ids, "the engine decoded at the topology's positions"
    with torch.no_grad():
        logits = model(**lay.attention_inputs("bool", device=next(model.parameters()).device)).logits[0]
    return lay.token_logprobs(logits).cpu()


def max_logprob_diff(model, traj: Trajectory, tags) -> float:
    """Largest |engine log-prob - training log-prob| over the response; every response token must have one."""
    ref = training_logprobs(model, traj, tags)
    resp = range(traj.prompt_len, len(traj.token_ids))
    assert all(traj.logprobs[i] is not None for i in resp), "every response token has a log-prob"
    return max((abs(traj.logprobs[i] - float(ref[i])) for i in resp), default=0.0)
