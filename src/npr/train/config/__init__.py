"""Typed training configs, loadable from YAML with command-line overrides (:mod:`npr.train.config.loader`)."""

from npr.train.config.loader import ConfigError, load_config, to_dict
from npr.train.config.model import ModelConfig
from npr.train.config.rl import PRESETS, ZERO_DEFAULTS, AlgorithmConfig, RewardConfig, RLConfig, RLDataConfig, RolloutConfig
from npr.train.config.sft import SFTConfig, SFTDataConfig

__all__ = [
    "AlgorithmConfig", "ConfigError", "ModelConfig", "PRESETS", "RLConfig", "RLDataConfig", "RewardConfig",
    "RolloutConfig", "SFTConfig", "SFTDataConfig", "ZERO_DEFAULTS", "load_config", "to_dict",
]  # fmt: skip
