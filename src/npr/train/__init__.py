"""Training NPR models: parallel SFT and the RL trainer (DAPO for Stage 1, PAPO for Stage 3), on one forward.

* :func:`token_logprobs` / :func:`batch_token_logprobs`: the one training forward - npr.topology's mask and
  positions, several trajectories packed per row, each token scored at ``pred(i)`` (:mod:`npr.train.forward`).
* :func:`advantages`: ``grpo``, ``dr_grpo``, ``papo`` (:mod:`npr.train.advantages`); the policy losses, loss
  aggregations, rollout filters and reward terms live in registries of the same kind.
* :func:`train_sft` (``npr train sft``): a ``transformers.Trainer`` with npr's collator and loss.
* :func:`train_rl` (``npr train rl`` / ``zero``): the RL loop on ``accelerate``, with rollouts from
  :class:`npr.engine.Engine` on the policy's own weights.

docs/TRAINING.md maps every equation to its code.
"""

from npr.train.advantages import ADVANTAGES, advantages
from npr.train.aggregation import AGGREGATIONS, token_weights
from npr.train.config import (
    AlgorithmConfig,
    ConfigError,
    ModelConfig,
    RewardConfig,
    RLConfig,
    RLDataConfig,
    RolloutConfig,
    SFTConfig,
    SFTDataConfig,
    load_config,
)
from npr.train.filters import FILTERS
from npr.train.forward import batch_token_logprobs, score, token_logprobs
from npr.train.jsonl import DataError
from npr.train.losses import KL_PENALTIES, POLICY_LOSSES
from npr.train.packing import PackedBatch, Sample, pack_samples
from npr.train.rewards import REWARD_TERMS, RewardContext


def train_sft(*args, **kwargs):
    """Parallel SFT; see :func:`npr.train.sft.train_sft` (imported on call: it pulls in ``transformers.Trainer``)."""
    from npr.train.sft import train_sft as run

    return run(*args, **kwargs)


def train_rl(*args, **kwargs):
    """The RL trainer; see :func:`npr.train.rl.trainer.train_rl` (imported on call: it pulls in ``accelerate``)."""
    from npr.train.rl.trainer import train_rl as run

    return run(*args, **kwargs)


__all__ = [
    "ADVANTAGES", "AGGREGATIONS", "AlgorithmConfig", "ConfigError", "DataError", "FILTERS", "KL_PENALTIES",
    "ModelConfig", "POLICY_LOSSES", "PackedBatch", "REWARD_TERMS", "RLConfig", "RLDataConfig", "RewardConfig",
    "RewardContext", "RolloutConfig", "SFTConfig", "SFTDataConfig", "Sample", "advantages", "batch_token_logprobs",
    "load_config", "pack_samples", "score", "token_logprobs", "token_weights", "train_rl", "train_sft",
]  # fmt: skip
