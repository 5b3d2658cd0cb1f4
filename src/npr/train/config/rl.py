"""Settings of the RL trainer (``npr train rl`` / ``npr train zero``): :class:`RLConfig` and its sections.

``algorithm.name`` picks a preset (:data:`PRESETS`); any field of :class:`AlgorithmConfig` left unset takes the
preset's value, and a field that is set overrides it. ``npr train zero`` is :data:`ZERO_DEFAULTS` under the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

from npr.train.config.loader import path_field
from npr.train.config.model import ModelConfig
from npr.train.config.schedule import Schedule

#: The algorithms (DESIGN §5). ``epochs``/``mini_batches`` are PPO's passes and optimizer steps per batch.
PRESETS: dict[str, dict[str, Any]] = {
    # Native parallel RL: strictly on-policy, structural filter, group baseline over one batch std.
    "papo": dict(advantage="papo", policy_loss="reinforce", aggregation="token-mean", clip_low=0.2, clip_high=0.2,
                 filters=["invalid", "truncated"], dynamic_sampling=False, kl="none", kl_coef=0.0, epochs=1,
                 mini_batches=1, overlong_buffer=0, overlong_factor=1.0),
    # DAPO: clip-higher, token-mean, dynamic sampling, overlong soft penalty, no KL.
    "dapo": dict(advantage="grpo", policy_loss="ppo_clip", aggregation="token-mean", clip_low=0.2, clip_high=0.28,
                 filters=[], dynamic_sampling=True, kl="none", kl_coef=0.0, epochs=1, mini_batches=1,
                 overlong_buffer=None, overlong_factor=1.0),
    # GRPO as DeepSeekMath wrote it: group-normalised advantages, per-sequence mean, symmetric clip, k3 KL.
    "grpo": dict(advantage="grpo", policy_loss="ppo_clip", aggregation="seq-mean-token-mean", clip_low=0.2,
                 clip_high=0.2, filters=[], dynamic_sampling=False, kl="k3", kl_coef=0.04, epochs=1, mini_batches=1,
                 overlong_buffer=0, overlong_factor=1.0),
}  # fmt: skip

#: ``npr train zero``: Stage 1 (NPR-Zero) - DAPO, the format-aware reward, sequential rollouts.
ZERO_DEFAULTS: dict[str, Any] = {
    "algorithm": {"name": "dapo"},
    "reward": {"format_aware": True},
    "rollout": {"mode": "sequential"},
}


@dataclass
class RLDataConfig:
    """Training prompts: a JSONL file with a question and a gold answer per line.

    Attributes:
        path: the file. Lines hold ``question`` and ``answer`` (names below), optionally ``id``, ``kind``
            (math, choice, zebra) and ``grade_options``; or ``prompt_ids`` instead of a question.
        question_field, answer_field, id_field: field names.
        kind: the grader for lines without ``kind``.
        prompt: ``npr`` asks for the NPR format; ``plain`` for a boxed answer only.
        instruction: the instruction after the question (default: that of ``prompt``; "" for none).
        system: an optional system turn.
        shuffle: a new seeded order of the prompts every epoch.
    """

    path: str | None = path_field()
    question_field: str = "question"
    answer_field: str = "answer"
    id_field: str = "id"
    kind: Literal["math", "choice", "zebra"] = "math"
    prompt: Literal["npr", "plain"] = "npr"
    instruction: str | None = None
    system: str | None = None
    shuffle: bool = True

    def __post_init__(self) -> None:
        if self.path is None:
            raise ValueError("data.path is required: the JSONL file of training prompts")


@dataclass
class RolloutConfig:
    """How rollouts are sampled from the engine.

    Attributes:
        prompts_per_step: B, prompts (groups) per RL step.
        group_size: G, rollouts per prompt.
        mode: ``parallel`` (native forks; PAPO) or ``sequential`` (causal; NPR-Zero).
        temperature, top_p, top_k: sampling. The loss scores tokens under logits / temperature.
        max_tokens: critical-path budget per rollout; max_total_tokens: all branches (default 8x).
        max_branches: most branches per block.
        kv_budget, max_batch_tokens, max_running: the engine's KV slots, tokens per forward, requests in flight.
    """

    prompts_per_step: int = 8
    group_size: int = 8
    mode: Literal["parallel", "sequential"] = "parallel"
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_tokens: int = 1024
    max_total_tokens: int | None = None
    max_branches: int = 8
    kv_budget: int = 65536
    max_batch_tokens: int = 4096
    max_running: int = 256

    def __post_init__(self) -> None:
        checks = [
            (self.prompts_per_step >= 1, f"rollout.prompts_per_step={self.prompts_per_step} must be >= 1"),
            (self.group_size >= 2, f"rollout.group_size={self.group_size} must be >= 2: advantages compare each rollout with its group"),
            (self.temperature > 0, f"rollout.temperature={self.temperature} must be > 0 (RL samples; greedy rollouts carry no signal)"),
            (0 < self.top_p <= 1, f"rollout.top_p={self.top_p} must be in (0, 1]"),
            (self.top_k >= 0, f"rollout.top_k={self.top_k} must be >= 0"),
            (self.max_tokens >= 1, f"rollout.max_tokens={self.max_tokens} must be >= 1"),
            (self.max_total_tokens is None or self.max_total_tokens >= self.max_tokens,
             f"rollout.max_total_tokens={self.max_total_tokens} is below max_tokens={self.max_tokens}"),
            (self.max_branches >= 1, f"rollout.max_branches={self.max_branches} must be >= 1"),
            (self.kv_budget > self.max_tokens, f"rollout.kv_budget={self.kv_budget} cannot hold one rollout of max_tokens={self.max_tokens}"),
            (self.max_batch_tokens >= 1 and self.max_running >= 1, "rollout.max_batch_tokens and max_running must be >= 1"),
        ]  # fmt: skip
        for ok, reason in checks:
            if not ok:
                raise ValueError(reason)

    @property
    def rollouts_per_step(self) -> int:
        return self.prompts_per_step * self.group_size


@dataclass
class AlgorithmConfig:
    """The algorithm: a preset by ``name``; every field left null takes the preset's value.

    Attributes:
        name: ``papo``, ``dapo`` or ``grpo``.
        advantage: estimator (:mod:`npr.train.advantages`): grpo, dr_grpo, papo.
        policy_loss: :mod:`npr.train.losses`: reinforce (strictly on-policy) or ppo_clip.
        aggregation: :mod:`npr.train.aggregation`: token-mean, seq-mean-token-mean, seq-mean-token-sum-norm.
        clip_low, clip_high: ppo_clip's range [1 - clip_low, 1 + clip_high].
        filters: rollouts dropped before advantages (:mod:`npr.train.filters`): invalid, truncated.
        dynamic_sampling: drop groups whose rewards are all equal and sample more prompts to refill the batch.
        max_gen_rounds: cap on generation rounds per step with dynamic sampling.
        kl, kl_coef: KL penalty against a frozen copy of the initial policy: k1, k3 or none.
        epochs, mini_batches: passes over the batch, and optimizer steps per pass.
        recompute_old_logprobs: take pi_old from a trainer forward instead of the engine (always at T != 1).
        overlong_buffer, overlong_factor: DAPO's soft overlong penalty over the last ``overlong_buffer`` tokens
            of the budget (0: off; null with dapo: a quarter of max_tokens).
        norm_length: L of seq-mean-token-sum-norm (default rollout.max_tokens).
    """

    name: Literal["papo", "dapo", "grpo"] = "papo"
    advantage: str | None = None
    policy_loss: str | None = None
    aggregation: str | None = None
    clip_low: float | None = None
    clip_high: float | None = None
    filters: list[str] | None = None
    dynamic_sampling: bool | None = None
    max_gen_rounds: int = 4
    kl: Literal["none", "k1", "k3"] | None = None
    kl_coef: float | None = None
    epochs: int | None = None
    mini_batches: int | None = None
    recompute_old_logprobs: bool = False
    overlong_buffer: int | None = None
    overlong_factor: float | None = None
    norm_length: int | None = None

    def resolved(self, max_tokens: int) -> AlgorithmConfig:
        """A copy with every null field taken from the preset of ``name``, checked."""
        preset = PRESETS[self.name]
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.kl == "none" and self.kl_coef is None:
            values["kl_coef"] = 0.0
        for key, value in preset.items():
            if values[key] is None:
                values[key] = value
        if values["overlong_buffer"] is None:
            values["overlong_buffer"] = max(1, max_tokens // 4)
        if values["norm_length"] is None:
            values["norm_length"] = max_tokens
        out = AlgorithmConfig(**values)
        out.check()
        return out

    def check(self) -> None:
        from npr.train.advantages import ADVANTAGES
        from npr.train.aggregation import AGGREGATIONS
        from npr.train.filters import FILTERS
        from npr.train.losses import POLICY_LOSSES

        for registry, value in ((ADVANTAGES, self.advantage), (POLICY_LOSSES, self.policy_loss),
                                (AGGREGATIONS, self.aggregation)):  # fmt: skip
            if value not in registry:
                raise ValueError(f"algorithm: {registry.unknown(value)}")
        for f in self.filters or []:
            if f not in FILTERS:
                raise ValueError(f"algorithm.filters: {FILTERS.unknown(f)}")
        checks = [
            (0 <= self.clip_low < 1, f"algorithm.clip_low={self.clip_low} must be in [0, 1)"),
            (self.clip_high >= 0, f"algorithm.clip_high={self.clip_high} must be >= 0"),
            (self.max_gen_rounds >= 1, f"algorithm.max_gen_rounds={self.max_gen_rounds} must be >= 1"),
            (self.kl_coef >= 0, f"algorithm.kl_coef={self.kl_coef} must be >= 0"),
            (not (self.kl_coef > 0 and self.kl == "none"), "algorithm.kl_coef > 0 needs algorithm.kl: k1 or k3"),
            (not (self.kl_coef == 0 and self.kl != "none"), f"algorithm.kl={self.kl} with kl_coef 0 does nothing: set kl_coef"),
            (self.epochs >= 1 and self.mini_batches >= 1, "algorithm.epochs and algorithm.mini_batches must be >= 1"),
            (self.overlong_buffer >= 0, f"algorithm.overlong_buffer={self.overlong_buffer} must be >= 0"),
            (self.norm_length >= 1, f"algorithm.norm_length={self.norm_length} must be >= 1"),
            # reinforce's ratio pi/sg(pi) is 1 only before the first update: a second update on the same batch
            # would be off-policy without any correction.
            (self.policy_loss != "reinforce" or (self.epochs == 1 and self.mini_batches == 1),
             f"policy_loss reinforce is strictly on-policy: it needs epochs=1 and mini_batches=1 (one update per "
             f"batch), got epochs={self.epochs}, mini_batches={self.mini_batches}; use ppo_clip for several updates"),
        ]  # fmt: skip
        for ok, reason in checks:
            if not ok:
                raise ValueError(reason)


@dataclass
class RewardConfig:
    """The reward: a weighted sum of terms (:mod:`npr.train.rewards`), with Stage 1's format gate.

    Attributes:
        terms: term name -> weight. Built in: correctness (+1/-1), format (the format penalty, 0 when valid),
            acceleration (a correct answer's 1 - critical path / total tokens; off by default).
        format_aware: Stage 1 (DESIGN §5): a response that fails the format check gets its format penalty as the
            whole reward; one that passes gets the terms.
        grade_timeout: seconds per answer for the grader.
    """

    terms: dict[str, float] = field(default_factory=lambda: {"correctness": 1.0})
    format_aware: bool = False
    grade_timeout: float = 5.0

    def __post_init__(self) -> None:
        from npr.train.rewards import REWARD_TERMS

        if not self.terms:
            raise ValueError("reward.terms is empty: give at least one term, e.g. {correctness: 1.0}")
        for name in self.terms:
            if name not in REWARD_TERMS:
                raise ValueError(f"reward.terms: {REWARD_TERMS.unknown(name)}")
        if self.grade_timeout <= 0:
            raise ValueError(f"reward.grade_timeout={self.grade_timeout} must be > 0")


@dataclass
class RLConfig:
    """One RL run. Each step: B prompts x G rollouts -> rewards -> filters -> advantages -> policy update.

    Attributes:
        model, data, rollout, algorithm, reward: the sections above.
        seed: fresh model weights, prompt order and every rollout's sampling seed.
        max_steps: RL steps (one rollout batch and its updates each).
        lr, weight_decay, max_grad_norm, warmup_steps, lr_scheduler: AdamW and its schedule (per optimizer step).
        micro_batch_tokens: real tokens per training forward; 1 gives every trajectory a forward of its own.
        pack_tokens: the row length that a forward's trajectories are packed into; null (the default) makes rows as
            long as the forward's longest trajectory, which suits sdpa. Long fixed rows suit ``attn: flex``.
        mixed_precision: accelerate's ``no``, ``bf16`` or ``fp16`` for the update forward.
        save_steps, save_total_limit: checkpoints every N steps, keeping the newest few.
        report_to: ``tensorboard`` besides metrics.jsonl.
    """

    model: ModelConfig
    data: RLDataConfig
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    seed: int = 0
    max_steps: int = 100
    lr: float = 1e-6
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    warmup_steps: int = 0
    lr_scheduler: Schedule = "constant"
    micro_batch_tokens: int = 8192
    pack_tokens: int | None = None
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    save_steps: int = 50
    save_total_limit: int | None = 2
    report_to: list[Literal["tensorboard"]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.algorithm = self.algorithm.resolved(self.rollout.max_tokens)
        checks = [
            (self.max_steps >= 1, f"max_steps={self.max_steps} must be >= 1"),
            (self.lr > 0, f"lr={self.lr} must be > 0"),
            (self.weight_decay >= 0 and self.max_grad_norm > 0, "weight_decay must be >= 0 and max_grad_norm > 0"),
            (self.warmup_steps >= 0, f"warmup_steps={self.warmup_steps} must be >= 0"),
            (self.pack_tokens is None or self.pack_tokens >= 2, f"pack_tokens={self.pack_tokens} must be >= 2 (or null)"),
            (self.micro_batch_tokens >= 1, f"micro_batch_tokens={self.micro_batch_tokens} must be >= 1 (1: one trajectory per forward)"),
            (self.save_steps >= 1, f"save_steps={self.save_steps} must be >= 1"),
            (self.save_total_limit is None or self.save_total_limit >= 1, "save_total_limit must be >= 1 or null"),
            (not (self.model.gradient_checkpointing and self.model.lora_r and self.model.lora_dropout > 0),
             f"model.lora_dropout={self.model.lora_dropout} with gradient checkpointing: the policy then runs in train "
             "mode, so dropout would differ between sampling and the loss and the update would be off-policy; set "
             "lora_dropout: 0"),
            (self.rollout.rollouts_per_step >= self.algorithm.mini_batches,
             f"{self.rollout.rollouts_per_step} rollouts per step (prompts_per_step x group_size) cannot fill "
             f"algorithm.mini_batches={self.algorithm.mini_batches}"),
            (self.rollout.prompts_per_step % self.algorithm.mini_batches == 0,
             f"rollout.prompts_per_step={self.rollout.prompts_per_step} is not divisible by algorithm.mini_batches="
             f"{self.algorithm.mini_batches}: each mini-batch takes whole groups"),
        ]  # fmt: skip
        for ok, reason in checks:
            if not ok:
                raise ValueError(reason)
