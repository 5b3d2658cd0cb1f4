r"""Advantage estimators: one scalar per trajectory from the rewards of its group (G rollouts of one prompt).

``advantages(name, rewards, groups)`` is the public entry (DESIGN §7). ``groups`` holds any integer id per
trajectory; every group must hold at least two rollouts, and ``std`` is ``torch.std``'s default (unbiased).

=========  ==============================================  ===================================================
name       A_i                                             what it normalises, and the bias that causes
=========  ==============================================  ===================================================
grpo       (r_i - mean_g) / (std_g + 1e-6)                 scales each group to unit spread: a group whose
                                                           rollouts barely differ (all nearly right, or nearly
                                                           wrong) gets the same push as a contested one, so easy
                                                           and hard prompts are up-weighted (the question-level
                                                           difficulty bias of Dr. GRPO)
dr_grpo    r_i - mean_g                                    nothing: the advantage keeps the reward's own scale,
                                                           so groups with a larger reward spread move the
                                                           policy more; no difficulty bias
papo       (r_i - mean_g) / (std_batch + 1e-6)             one scale for the whole batch (std over every kept
                                                           rollout, computed once): group baselines as in GRPO,
                                                           but no per-prompt re-weighting; the gradient scale is
                                                           steady from step to step
=========  ==============================================  ===================================================

The group means and deviations are computed in one vectorised pass (``index_add``), and PAPO's batch std is one
``torch.std`` call over the rewards as given: the reference recomputed it inside a loop over an array it was
overwriting (DESIGN §9.4).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from npr.train.registry import Registry

EPS = 1e-6

#: ``fn(rewards: Float[N], groups: Long[N]) -> Float[N]``.
Estimator = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
ADVANTAGES: Registry[Estimator] = Registry("advantage estimator")


def _groups(rewards: torch.Tensor, groups: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inverse Long[N] in 0..G-1, count Float[G], mean Float[G]) of each trajectory's group."""
    if rewards.ndim != 1 or groups.ndim != 1 or rewards.numel() != groups.numel():
        raise ValueError(
            f"rewards and groups must be 1-D and of one length, got shapes {tuple(rewards.shape)} and "
            f"{tuple(groups.shape)}"
        )
    if rewards.dtype.is_floating_point is False:
        raise ValueError(f"rewards must be a float tensor, got {rewards.dtype}")
    if not torch.isfinite(rewards).all():
        raise ValueError("rewards hold NaN or infinity")
    _, inverse = torch.unique(groups, return_inverse=True)
    n_groups = int(inverse.max()) + 1 if inverse.numel() else 0
    count = torch.bincount(inverse, minlength=n_groups).to(rewards.dtype)
    if bool((count < 2).any()):
        small = groups[(count < 2)[inverse]].tolist()
        raise ValueError(
            f"every group needs at least two rollouts to have a baseline; group(s) {sorted(set(small))[:5]} have one"
        )
    mean = torch.zeros(n_groups, dtype=rewards.dtype, device=rewards.device).index_add_(0, inverse, rewards) / count
    return inverse, count, mean


@ADVANTAGES.register("grpo")
def grpo(rewards: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """(r - group mean) / (group std + 1e-6): each group scaled to unit spread (question-level difficulty bias)."""
    inverse, count, mean = _groups(rewards, groups)
    dev = rewards - mean[inverse]
    var = torch.zeros_like(mean).index_add_(0, inverse, dev * dev) / (count - 1)
    return dev / (var.sqrt()[inverse] + EPS)


@ADVANTAGES.register("dr_grpo")
def dr_grpo(rewards: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """r - group mean: no normalisation, so the advantage keeps the reward's scale (no difficulty bias)."""
    inverse, _, mean = _groups(rewards, groups)
    return rewards - mean[inverse]


@ADVANTAGES.register("papo")
def papo(rewards: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """(r - group mean) / (batch std + 1e-6), the batch std computed once over every reward given."""
    inverse, _, mean = _groups(rewards, groups)
    batch_std = torch.std(rewards)
    return (rewards - mean[inverse]) / (batch_std + EPS)


def advantages(name: str, rewards: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Float[N] advantages of estimator ``name`` ("grpo", "papo", "dr_grpo" or a registered one).

    Args:
        rewards: Float[N], one reward per trajectory.
        groups: Long[N], the group (prompt) of each trajectory; each group holds at least two.
    """
    return ADVANTAGES.get(name)(rewards, groups)
