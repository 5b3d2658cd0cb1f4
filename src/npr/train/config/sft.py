"""Settings of parallel SFT (``npr train sft``): :class:`SFTConfig` and its data section."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from npr.train.config.loader import path_field
from npr.train.config.model import ModelConfig
from npr.train.config.schedule import Schedule


@dataclass
class SFTDataConfig:
    """The corpus.

    Attributes:
        path: a JSONL file. Either token ids (``prompt_ids`` and ``response_ids`` per line: the distillation
            format, used exactly as given) or text (``prompt`` and ``response`` fields, tokenised once here).
        format: ``ids``, ``text``, or ``auto`` (decided by the first record's fields).
        prompt_field, response_field: the text fields' names.
        chat_template: text prompts are questions, wrapped in the chat template with the instruction
            (:func:`npr.tokens.encode_prompt`); false encodes the prompt text as it is.
        instruction: the instruction after the question (default: the NPR format instruction; "" for none).
        system: an optional system turn.
        append_eos: end each text response with the EOS token, so the model learns to stop.
        parallel: lay trajectories out with the parallel topology (NPR-Beta); false trains them causally.
        max_length: the longest trajectory (prompt + response) allowed; longer ones are an error unless
            ``skip_overlong``, which drops and counts them.
    """

    path: str | None = path_field()
    format: Literal["auto", "ids", "text"] = "auto"
    prompt_field: str = "prompt"
    response_field: str = "response"
    chat_template: bool = True
    instruction: str | None = None
    system: str | None = None
    append_eos: bool = True
    parallel: bool = True
    max_length: int | None = None
    skip_overlong: bool = False

    def __post_init__(self) -> None:
        if self.path is None:
            raise ValueError("data.path is required: the JSONL corpus to train on")
        if self.max_length is not None and self.max_length < 2:
            raise ValueError(f"data.max_length={self.max_length} must be >= 2 (a prompt token and a response token)")
        if self.skip_overlong and self.max_length is None:
            raise ValueError("data.skip_overlong needs data.max_length")


@dataclass
class SFTConfig:
    """Parallel SFT on ``transformers.Trainer``: the loss is ours, everything around it the library's.

    Attributes:
        model, data: see :class:`ModelConfig` and :class:`SFTDataConfig`.
        seed: weights of a fresh model, data order and dropout.
        epochs: passes over the corpus (ignored when ``max_steps`` > 0).
        max_steps: optimizer steps; 0 runs ``epochs``.
        batch_size: trajectories per device per micro-batch.
        grad_accum: micro-batches per optimizer step.
        lr, lr_scheduler, warmup_ratio, weight_decay, max_grad_norm: the optimisation (AdamW).
        pack: pack trajectories into rows (block-diagonal attention); false gives each trajectory its own padded
            row. The loss is the same either way.
        pack_tokens: the row length when packing; null (the default) makes rows as long as each batch's longest
            trajectory, which suits sdpa (it computes every score of a row). Long fixed rows suit ``attn: flex``.
        bf16: bfloat16 mixed precision.
        save_steps, save_total_limit: checkpoints every N steps, keeping the newest few (``--resume`` uses them).
        logging_steps: metrics every N steps (to metrics.jsonl, and TensorBoard/W&B with ``report_to``).
        report_to: trackers besides metrics.jsonl: ``tensorboard``, ``wandb``.
        dataloader_workers: processes that build batches (0: in the training process).
    """

    model: ModelConfig
    data: SFTDataConfig
    seed: int = 0
    epochs: float = 1.0
    max_steps: int = 0
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 1e-5
    lr_scheduler: Schedule = "cosine"
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    pack: bool = True
    pack_tokens: int | None = None
    bf16: bool = False
    save_steps: int = 500
    save_total_limit: int | None = 2
    logging_steps: int = 1
    report_to: list[Literal["tensorboard", "wandb"]] = field(default_factory=list)
    dataloader_workers: int = 0

    def __post_init__(self) -> None:
        checks = [
            (self.epochs > 0 or self.max_steps > 0, f"epochs={self.epochs}: train for at least part of an epoch, or set max_steps"),
            (self.max_steps >= 0, f"max_steps={self.max_steps} must be >= 0 (0: run `epochs`)"),
            (self.batch_size >= 1, f"batch_size={self.batch_size} must be >= 1"),
            (self.grad_accum >= 1, f"grad_accum={self.grad_accum} must be >= 1"),
            (self.lr > 0, f"lr={self.lr} must be > 0"),
            (0 <= self.warmup_ratio < 1, f"warmup_ratio={self.warmup_ratio} must be in [0, 1)"),
            (self.weight_decay >= 0, f"weight_decay={self.weight_decay} must be >= 0"),
            (self.max_grad_norm > 0, f"max_grad_norm={self.max_grad_norm} must be > 0"),
            (self.pack_tokens is None or self.pack_tokens >= 2, f"pack_tokens={self.pack_tokens} must be >= 2 (or null)"),
            (self.save_steps >= 1, f"save_steps={self.save_steps} must be >= 1"),
            (self.save_total_limit is None or self.save_total_limit >= 1,
             f"save_total_limit={self.save_total_limit} must be >= 1 (or null to keep every checkpoint)"),
            (self.logging_steps >= 1, f"logging_steps={self.logging_steps} must be >= 1"),
            (self.dataloader_workers >= 0, f"dataloader_workers={self.dataloader_workers} must be >= 0"),
        ]  # fmt: skip
        for ok, reason in checks:
            if not ok:
                raise ValueError(reason)
        if self.data.max_length is not None and self.pack and self.pack_tokens is not None and self.pack_tokens < self.data.max_length:
            raise ValueError(
                f"pack_tokens={self.pack_tokens} is below data.max_length={self.data.max_length}: a row must hold "
                "the longest trajectory"
            )
