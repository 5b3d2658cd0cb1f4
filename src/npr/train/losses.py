r"""Per-token policy losses and KL penalties. How the per-token values are summed is :mod:`npr.train.aggregation`'s job.

Every function works on flat tensors over the tokens that are trained (sampled response tokens of kept
trajectories): ``logp`` Float[N] under the current policy (differentiable), ``old_logp`` Float[N] under the policy
that sampled them, ``adv`` Float[N] (each trajectory's advantage, repeated over its tokens).

Policy losses (``POLICY_LOSSES``), each returning ``(loss Float[N], clipped Bool[N])``:

=============  ===========================================================  =======================================
name           per-token loss                                               notes
=============  ===========================================================  =======================================
reinforce      -A * pi/sg(pi)   (value -A, gradient -A * grad log pi)       strictly on-policy (PAPO): the ratio is
                                                                            1 by construction, nothing is clipped;
                                                                            valid only for one update per batch
ppo_clip       -min(rho * A, clip(rho, 1 - eps_low, 1 + eps_high) * A),     rho = pi / pi_old. Asymmetric epsilons
               rho = exp(logp - old_logp)                                   give DAPO's clip-higher (0.2 / 0.28):
                                                                            a low-probability token may grow more
                                                                            before the clip binds, which keeps
                                                                            entropy from collapsing
=============  ===========================================================  =======================================

KL penalties (``KL_PENALTIES``) against a frozen reference policy, per token, with ``d = ref_logp - logp``:

* ``k1``: ``-d`` (= log pi - log ref). Unbiased estimate of KL(pi || ref), but with high variance and often negative.
* ``k3``: ``exp(d) - d - 1``. Unbiased and always >= 0, lower variance (Schulman's k3, GRPO's choice).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from npr.train.registry import Registry

#: ``fn(logp, old_logp, adv, clip_low, clip_high) -> (loss Float[N], clipped Bool[N])``.
PolicyLoss = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float, float], tuple[torch.Tensor, torch.Tensor]]
POLICY_LOSSES: Registry[PolicyLoss] = Registry("policy loss")

#: ``fn(logp, ref_logp) -> Float[N]``.
KLPenalty = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
KL_PENALTIES: Registry[KLPenalty] = Registry("KL penalty")


@POLICY_LOSSES.register("reinforce")
def reinforce(
    logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, clip_low: float = 0.0, clip_high: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """On-policy REINFORCE: loss ``-A * exp(logp - logp.detach())``; ``old_logp`` and the epsilons are unused.

    The ratio is exactly 1 in value, so the loss equals ``-A`` and its gradient is ``-A * grad(logp)``: no
    importance weight, and no clip can bind (PAPO, DESIGN §5).
    """
    ratio = torch.exp(logp - logp.detach())
    return -adv * ratio, torch.zeros_like(logp, dtype=torch.bool)


@POLICY_LOSSES.register("ppo_clip")
def ppo_clip(
    logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, clip_low: float = 0.2, clip_high: float = 0.2
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate with asymmetric range ``[1 - clip_low, 1 + clip_high]`` (DAPO: 0.2 / 0.28).

    ``clipped`` is True where the clipped term is the smaller one and so the token gives no gradient.
    """
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * adv
    clipped_obj = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * adv
    clipped = clipped_obj < unclipped
    return -torch.minimum(unclipped, clipped_obj), clipped


@KL_PENALTIES.register("k1")
def k1(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """log pi - log ref: unbiased for KL(pi || ref), high variance, can be negative."""
    return logp - ref_logp


@KL_PENALTIES.register("k3")
def k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """exp(ref - logp) - (ref - logp) - 1: unbiased, non-negative, lower variance."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1.0
