"""Which model to train, and how: :class:`ModelConfig`, shared by SFT and RL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from npr.train.config.loader import path_field

ATTN_IMPLEMENTATIONS = {"sdpa": "sdpa", "eager": "eager", "flex": "flex_attention"}


@dataclass
class ModelConfig:
    """The policy: a saved model, or a fresh one built from a config (random weights), plus its tokenizer.

    Attributes:
        path: HF model folder or hub id. Exactly one of ``path`` and ``init``.
        init: an HF config as a mapping (``model_type`` plus sizes) to build a new model with random weights,
            seeded by the run's ``seed``; ``vocab_size`` defaults to the tokenizer's size with the tags.
        tokenizer: tokenizer folder (default: ``path``). Required with ``init``.
        dtype: weights' dtype: float32, bfloat16 or float16.
        attn: ``sdpa`` (default), ``eager``, or ``flex`` (the topology's BlockMask; training with it needs a GPU).
        lora_r: LoRA rank; 0 trains every weight. With LoRA the tags' embedding rows are trained too when the
            tags are new to the model.
        lora_alpha, lora_dropout, lora_target_modules: the rest of the LoRA setting (peft).
        merge_lora: also save merged full weights next to the adapter at the end.
        gradient_checkpointing: recompute activations in the backward pass to save memory.
    """

    path: str | None = path_field()
    init: dict[str, Any] | None = None
    tokenizer: str | None = path_field()
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    attn: Literal["sdpa", "eager", "flex"] = "sdpa"
    lora_r: int = 0
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])
    merge_lora: bool = False
    gradient_checkpointing: bool = False

    def __post_init__(self) -> None:
        if (self.path is None) == (self.init is None):
            raise ValueError(
                "give exactly one of model.path (a saved model or hub id) and model.init (an HF config to build a "
                "fresh model from)"
            )
        if self.init is not None:
            if not isinstance(self.init.get("model_type"), str):
                raise ValueError("model.init needs a model_type (e.g. qwen3 or llama) and the sizes of the model")
            if self.tokenizer is None:
                raise ValueError("model.init builds a model without a tokenizer: set model.tokenizer to a folder")
        if self.lora_r < 0:
            raise ValueError(f"model.lora_r={self.lora_r} must be >= 0 (0 trains every weight)")
        if self.lora_r and not self.lora_target_modules:
            raise ValueError("model.lora_target_modules is empty: LoRA needs modules to adapt (e.g. q_proj, v_proj)")
        if self.lora_r and self.lora_alpha <= 0:
            raise ValueError(f"model.lora_alpha={self.lora_alpha} must be > 0")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"model.lora_dropout={self.lora_dropout} must be in [0, 1)")
        if self.merge_lora and not self.lora_r:
            raise ValueError("model.merge_lora needs LoRA (model.lora_r > 0): without it the full model is saved")

    @property
    def attn_implementation(self) -> str:
        return ATTN_IMPLEMENTATIONS[self.attn]

    @property
    def tokenizer_path(self) -> str:
        return self.tokenizer or self.path  # type: ignore[return-value]
