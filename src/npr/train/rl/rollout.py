"""Rollouts for one RL step: B prompts x G samples from the engine, rewarded, filtered, with dynamic sampling.

The engine runs in the trainer's process on the policy's own parameter tensors. Every rollout's sampling seed
derives from (run seed, the prompt's position in the prompt stream, its index in the group), so a resumed run
samples exactly what an uninterrupted one would. Under a launcher each rank decodes its share of the groups and
all ranks gather them (:mod:`npr.train.rl.ranks`): the seeds do not depend on who decodes, so the batch is the
same at any world size.

A group is kept when at least two of its rollouts pass the filters; with dynamic sampling (DAPO) a group is also
dropped when all its kept rewards are equal (no signal), and more prompts are drawn until B groups are kept or
``max_gen_rounds`` rounds have run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from npr.engine import Engine, SamplingParams, Trajectory
from npr.engine.sampling import derive_seed
from npr.schema import parse, validate
from npr.train.config.rl import RLConfig
from npr.train.filters import Candidate, drop_reasons
from npr.train.prompts import PromptItem, PromptStream
from npr.train.rl.ranks import Ranks
from npr.train.rewards import RewardContext, reward


@dataclass
class Rollout:
    """One sampled response with its reward.

    Attributes:
        item: the prompt; group: its position in the prompt stream (one group per draw).
        traj: the engine's trajectory (ids, log-probs, sampled flags, stats).
        text: the response text without the stop token.
        reward, parts: the scalar reward and each term's value.
        correct: the grade (None without a gold answer); valid: the NPR format check passed.
        drops: ``{filter: reason}`` for each filter that drops it.
    """

    item: PromptItem
    group: int
    traj: Trajectory
    text: str
    reward: float
    parts: dict[str, float]
    correct: bool | None
    valid: bool
    drops: dict[str, str] = field(default_factory=dict)


@dataclass
class Collected:
    """The kept groups' rollouts (``kept``, whole groups, in order) and every rollout generated this step."""

    kept: list[Rollout]
    generated: list[Rollout]
    rounds: int
    dropped_groups: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def response_text(traj: Trajectory, tokenizer, stop_ids: frozenset[int]) -> str:
    """The response text that rewards and filters see: the trajectory's text without its final stop token."""
    ids = traj.response_ids
    if ids and ids[-1] in stop_ids:
        return tokenizer.decode(ids[:-1], skip_special_tokens=False)
    return traj.text


class RolloutCollector:
    """Draws prompts from ``stream`` and turns them into rewarded, filtered rollouts (see the module docstring)."""

    def __init__(self, engine: Engine, items: Sequence[PromptItem], prompt_ids: Sequence[list[int]],
                 stream: PromptStream, config: RLConfig, ranks: Ranks | None = None):  # fmt: skip
        self.engine, self.items, self.prompt_ids, self.stream, self.config = engine, items, prompt_ids, stream, config
        self.ranks = ranks or Ranks()
        r = config.rollout
        self.base_params = dict(
            temperature=r.temperature, top_p=r.top_p, top_k=r.top_k, max_tokens=r.max_tokens,
            max_total_tokens=r.max_total_tokens, max_branches=r.max_branches,
        )  # fmt: skip

    def _sample(self, draws: list[tuple[int, int]]) -> list[Rollout]:
        """The rollouts of ``draws`` (one group each), in draw order. Each rank decodes and rewards its share of
        the groups; every rank gets them all (see :mod:`npr.train.rl.ranks`)."""
        cfg = self.config
        g_size = cfg.rollout.group_size
        mine = self.ranks.mine(len(draws))
        prompts, params = [], []
        for d in mine:
            position, index = draws[d]
            for g in range(g_size):
                prompts.append(self.prompt_ids[index])
                params.append(SamplingParams(seed=derive_seed(cfg.seed, position, g), **self.base_params))
        trajs = self.engine.generate(prompts, params, mode=cfg.rollout.mode) if prompts else []
        groups: dict[int, list[Rollout]] = {}
        for j, traj in enumerate(trajs):
            d = mine[j // g_size]
            position, index = draws[d]
            groups.setdefault(d, []).append(self._rollout(self.items[index], position, traj))
        for other in self.ranks.gather(groups) if self.ranks.world > 1 else []:
            groups.update(other)
        return [r for d in range(len(draws)) for r in groups[d]]

    def _rollout(self, item: PromptItem, group: int, traj: Trajectory) -> Rollout:
        cfg = self.config
        text = response_text(traj, self.engine.tokenizer, self.engine.stop_ids)
        ctx = RewardContext(
            text=text, answer=item.answer, kind=item.kind, grade_options=item.grade_options,
            finish_reason=traj.finish_reason, total_tokens=traj.stats["total_tokens"],
            critical_path_tokens=traj.stats["critical_path_tokens"], max_tokens=cfg.rollout.max_tokens,
            grade_timeout=cfg.reward.grade_timeout,
        )  # fmt: skip
        value, parts = reward(
            ctx, cfg.reward.terms, format_aware=cfg.reward.format_aware,
            overlong_buffer=cfg.algorithm.overlong_buffer, overlong_factor=cfg.algorithm.overlong_factor,
        )  # fmt: skip
        correct = ctx.correct if item.answer is not None else None
        valid = parts["format_gate"] == 0.0 if "format_gate" in parts else not validate(text)
        drops = drop_reasons(list(cfg.algorithm.filters), Candidate(text, traj.finish_reason))
        return Rollout(item, group, traj, text, value, parts, correct, bool(valid), drops)

    def collect(self) -> Collected:
        """Rollouts for one step (see the module docstring)."""
        import time

        t0 = time.perf_counter()
        cfg = self.config
        want = cfg.rollout.prompts_per_step
        rounds_cap = cfg.algorithm.max_gen_rounds if cfg.algorithm.dynamic_sampling else 1
        kept: list[Rollout] = []
        generated: list[Rollout] = []
        dropped: Counter = Counter()
        rounds = 0
        groups_kept = 0
        while groups_kept < want and rounds < rounds_cap:
            rollouts = self._sample(self.stream.take(want - groups_kept))
            generated.extend(rollouts)
            rounds += 1
            for start in range(0, len(rollouts), cfg.rollout.group_size):
                group = rollouts[start : start + cfg.rollout.group_size]
                members = [r for r in group if not r.drops]
                if len(members) < 2:
                    dropped["too_few_kept"] += 1
                elif cfg.algorithm.dynamic_sampling and len({r.reward for r in members}) == 1:
                    dropped["equal_rewards"] += 1
                else:
                    kept.extend(members)
                    groups_kept += 1
        return Collected(kept, generated, rounds, dropped, time.perf_counter() - t0)


def rollout_metrics(collected: Collected, config: RLConfig) -> dict[str, Any]:
    """Per-step figures over every rollout generated this step (all rounds) and over the kept ones."""
    gen = collected.generated
    n = max(len(gen), 1)
    rewards = [r.reward for r in gen]
    mean = sum(rewards) / n
    graded = [r.correct for r in gen if r.correct is not None]
    blocks = [b for r in gen for b in _branches(r, config)]
    total = sum(r.traj.stats["total_tokens"] for r in gen)
    critical = sum(r.traj.stats["critical_path_tokens"] for r in gen)
    out: dict[str, Any] = {
        "reward_mean": mean,
        "reward_std": (sum((x - mean) ** 2 for x in rewards) / max(len(rewards) - 1, 1)) ** 0.5,
        "accuracy": sum(graded) / len(graded) if graded else None,
        "format_valid": sum(r.valid for r in gen) / n,
        "parallel_rate": sum(any(k >= 2 for k in r.traj.stats.get("branches_per_block", [])) for r in gen) / n,
        "parallel_format_rate": sum(any(k >= 2 for k in _branches(r, config)) for r in gen) / n,
        "branches_per_block": sum(blocks) / len(blocks) if blocks else 0.0,
        "total_tokens": total / n,
        "critical_path_tokens": critical / n,
        "rollouts": len(gen),
        "kept_rollouts": len(collected.kept),
        "kept_groups": len({r.group for r in collected.kept}),
        "gen_rounds": collected.rounds,
        "rollout_seconds": collected.seconds,
        "rollout_tokens_per_s": total / max(collected.seconds, 1e-9),
        "finish_length": sum(r.traj.finish_reason == "length" for r in gen) / n,
    }
    for name in config.algorithm.filters:
        out[f"dropped/{name}"] = sum(name in r.drops for r in gen)
    for reason in ("too_few_kept", "equal_rewards"):
        out[f"dropped_groups/{reason}"] = collected.dropped_groups.get(reason, 0)
    for term in {k for r in gen for k in r.parts}:
        values = [r.parts[term] for r in gen if term in r.parts]
        out[f"reward/{term}"] = sum(values) / len(values)
    for term, weight in config.reward.terms.items():
        out[f"reward_weight/{term}"] = weight
    return out


def _branches(r: Rollout, config: RLConfig) -> list[int]:
    """Branches per block: the forks the engine made (parallel mode), or the plans the text asks for (sequential)."""
    if config.rollout.mode == "parallel":
        return list(r.traj.stats.get("branches_per_block", []))
    return list(parse(r.text).plans_per_block)
