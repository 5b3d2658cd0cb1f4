"""The processes of a distributed RL run as the rollout and the update see them.

Under a launcher (``torchrun``, ``accelerate launch``) every rank holds a replica of the policy and an engine on
it. Rollouts are split by group: rank r decodes groups r, r + W, r + 2W, ... of each draw, and every rank then
gathers all of them, so that rewards, filters, dynamic sampling and advantages (PAPO's batch std, the group means)
see the whole batch and take the same decisions on every rank. The update splits each mini-batch's rollouts the
same way, and the loss is scaled by W because DDP averages gradients: the summed gradient equals one process's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Ranks:
    """This process's ``rank`` among ``world`` processes (0 of 1 without a launcher)."""

    rank: int = 0
    world: int = 1

    @classmethod
    def of(cls, accelerator) -> Ranks:
        return cls(accelerator.process_index, accelerator.num_processes)

    def mine(self, n: int) -> list[int]:
        """The indices of ``n`` things (groups, rollouts) that this rank works on."""
        return list(range(self.rank, n, self.world))

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order (pickled across processes)."""
        if self.world == 1:
            return [obj]
        out: list[Any] = [None] * self.world
        torch.distributed.all_gather_object(out, obj)
        return out
