"""The policy update of one RL step: kept rollouts -> per-token losses -> optimizer steps.

For each of ``epochs`` passes, the kept groups are split into ``mini_batches`` (whole groups, in a seeded order);
each mini-batch is one optimizer step, run as micro-batches of at most ``micro_batch_tokens`` tokens (each one
packed row, one forward, one backward). Per-token weights come from the aggregation mode over the whole
mini-batch, so micro-batching changes nothing.

Which tokens train: the *sampled* response tokens of kept rollouts, tags included (DESIGN §5). Prompt tokens,
engine-forced tokens (headers, force-closes) and dropped rollouts never enter the loss, so their gradient is
exactly zero.

pi_old (for ppo_clip) is the engine's own sampling log-prob at temperature 1: parity makes it the trainer's up to
round-off, which saves a forward. At T != 1, or with ``recompute_old_logprobs``, a no-grad pass of the trainer's
forward (logits / T) gives pi_old before any update. ``reinforce`` needs no pi_old: its ratio is pi / sg(pi).

``logprob_mismatch`` compares the engine's log-probs with the trainer's (temperature 1) on sampled tokens, on
every token scored before the first optimizer step of the update.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from npr.tokens import TagIds
from npr.train.aggregation import token_weights
from npr.train.config.rl import RLConfig
from npr.train.forward import score
from npr.train.losses import KL_PENALTIES, POLICY_LOSSES
from npr.train.packing import LONGEST, Sample, pack_samples
from npr.train.rl.ranks import Ranks


@dataclass
class TrainItem:
    """One kept rollout, ready for the loss. Tensors are per response token (R of them), on CPU.

    Attributes:
        sample: the trajectory's ids and topology mode.
        group: its group id; advantage: its advantage.
        mask: Bool[R], True for sampled tokens (the ones trained).
        engine_logp: Float[R], the engine's log-probs (NaN where the engine computed none, i.e. forced tokens).
        old_logp, ref_logp: Float[R] from the pre-pass, when one ran.
    """

    sample: Sample
    group: int
    advantage: float
    mask: torch.Tensor
    engine_logp: torch.Tensor
    old_logp: torch.Tensor | None = None
    ref_logp: torch.Tensor | None = None

    @property
    def tokens(self) -> int:
        return len(self.sample.token_ids)

    @classmethod
    def from_trajectory(cls, traj, group: int, advantage: float) -> TrainItem:
        """The item for an engine :class:`~npr.engine.Trajectory`: its sampled flags and log-probs, response only."""
        p = traj.prompt_len
        logp = [float("nan") if x is None else x for x in traj.logprobs[p:]]
        return cls(
            sample=Sample(traj.token_ids, p, traj.mode == "parallel"), group=group, advantage=advantage,
            mask=torch.tensor(traj.sampled[p:], dtype=torch.bool), engine_logp=torch.tensor(logp, dtype=torch.float32),
        )  # fmt: skip


def micro_batches(items: Sequence[TrainItem], budget: int) -> list[list[TrainItem]]:
    """Consecutive items up to ``budget`` tokens each (an item longer than the budget goes alone)."""
    out: list[list[TrainItem]] = []
    used = 0
    for item in items:
        if out and used + item.tokens <= budget:
            out[-1].append(item)
            used += item.tokens
        else:
            out.append([item])
            used = item.tokens
    return out


class _Stats:
    """Running sums for the update's metrics."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.mismatch_max = 0.0

    def add(self, key: str, values: torch.Tensor | float, count: int | None = None) -> None:
        if isinstance(values, torch.Tensor):
            if values.numel() == 0:
                return
            self.sums[key] = self.sums.get(key, 0.0) + float(values.float().sum())
            self.counts[key] = self.counts.get(key, 0) + values.numel()
        else:
            self.sums[key] = self.sums.get(key, 0.0) + float(values)
            self.counts[key] = self.counts.get(key, 0) + (count or 1)

    def mean(self, key: str) -> float | None:
        return self.sums[key] / self.counts[key] if self.counts.get(key) else None

    @classmethod
    def merged(cls, parts) -> _Stats:
        """The statistics of several ranks, from their ``(sums, counts, mismatch_max)``."""
        out = cls()
        for sums, counts, mismatch_max in parts:
            for k, v in sums.items():
                out.sums[k] = out.sums.get(k, 0.0) + v
            for k, v in counts.items():
                out.counts[k] = out.counts.get(k, 0) + v
            out.mismatch_max = max(out.mismatch_max, mismatch_max)
        return out

    def mismatch(self, engine: torch.Tensor, trainer: torch.Tensor) -> None:
        diff = (engine - trainer).abs()
        diff = diff[~torch.isnan(diff)]
        if diff.numel():
            self.mismatch_max = max(self.mismatch_max, float(diff.max()))
            self.add("mismatch", diff)


class PolicyUpdate:
    """Runs the update of one step (see the module docstring). ``after_step`` runs after every optimizer step: the
    trainer flushes the engine's prefix cache there."""

    def __init__(self, *, accelerator, model, optimizer, scheduler, tags: TagIds, config: RLConfig, pad_id: int,
                 ref_model=None, after_step: Callable[[], None] = lambda: None, ranks: Ranks | None = None):  # fmt: skip
        self.accelerator, self.model, self.optimizer, self.scheduler = accelerator, model, optimizer, scheduler
        self.ranks = ranks or Ranks()
        self.tags, self.config, self.pad_id = tags, config, pad_id
        self.ref_model, self.after_step = ref_model, after_step
        algo = config.algorithm
        self.loss_fn = POLICY_LOSSES.get(algo.policy_loss)
        self.kl_fn = KL_PENALTIES.get(algo.kl) if algo.kl != "none" else None
        self.temperature = config.rollout.temperature
        # The engine's log-probs are pi_old only at T = 1 and in the parameters' own precision: under autocast the
        # update forward computes another function, so pi_old is scored by that forward instead.
        self.recompute = algo.policy_loss != "reinforce" and (
            algo.recompute_old_logprobs or self.temperature != 1.0 or config.mixed_precision != "no"
        )

    def _batch(self, items: Sequence[TrainItem]):
        return pack_samples([i.sample for i in items], self.tags, row_tokens=self.config.pack_tokens or LONGEST,
                            pad_id=self.pad_id).to(self.accelerator.device)  # fmt: skip

    def _ref_scores(self, batch) -> torch.Tensor:
        if self.ref_model is not None:
            return score(self.ref_model, batch, temperature=self.temperature).logp
        with self.accelerator.unwrap_model(self.model).disable_adapter():  # LoRA: the base weights are the reference
            return score(self.model, batch, temperature=self.temperature).logp

    @torch.no_grad()
    def _pre_pass(self, items: Sequence[TrainItem], stats: _Stats) -> None:
        """pi_old (trainer forward, logits / T) and the reference log-probs, before any update."""
        model = self.accelerator.unwrap_model(self.model)  # no backward follows: no DDP wrapper, no collectives
        for chunk in micro_batches(items, self.config.micro_batch_tokens):
            batch = self._batch(chunk)
            with self.accelerator.autocast():
                if self.recompute:
                    s = score(model, batch, temperature=self.temperature, with_t1=True)
                    for item, (a, b) in zip(chunk, zip(batch.offsets, batch.offsets[1:])):
                        item.old_logp = s.logp[a:b].cpu()
                        if self.ranks.rank == 0:  # every rank scores every item here: count them once
                            stats.mismatch(item.engine_logp[item.mask], s.logp_t1[a:b].cpu()[item.mask])
                if self.kl_fn is not None:
                    ref = self._ref_scores(batch)
                    for item, (a, b) in zip(chunk, zip(batch.offsets, batch.offsets[1:])):
                        item.ref_logp = ref[a:b].cpu()

    def _micro_step(self, chunk: list[TrainItem], weights: list[torch.Tensor], stats: _Stats, first_epoch: bool,
                    measure: bool, count: bool = True) -> float:  # fmt: skip
        """Forward and backward of one micro-batch; returns its share of the mini-batch loss. ``count=False`` for
        a rank's zero-weight stand-in, which only keeps the ranks' backward passes in step."""
        dev = self.accelerator.device
        batch = self._batch(chunk)
        with self.accelerator.autocast():
            s = score(self.model, batch, temperature=self.temperature, with_t1=measure, with_entropy=first_epoch)
        mask = torch.cat([i.mask for i in chunk]).to(dev)
        logp = s.logp[mask]  # Float[T]: only trained tokens enter the graph
        if self.recompute:
            old = torch.cat([i.old_logp for i in chunk]).to(dev)[mask]
        elif self.loss_fn is POLICY_LOSSES.get("reinforce"):
            old = logp.detach()
        else:
            old = torch.cat([i.engine_logp for i in chunk]).to(dev)[mask]
        adv = torch.cat([torch.full((int(i.mask.sum()),), i.advantage) for i in chunk]).to(dev)
        w = torch.cat(weights).to(dev)
        per_token, clipped = self.loss_fn(logp, old, adv, self.config.algorithm.clip_low, self.config.algorithm.clip_high)
        kl = None
        if self.kl_fn is not None:
            ref = torch.cat([i.ref_logp for i in chunk]).to(dev)[mask]
            kl = self.kl_fn(logp, ref)
            per_token = per_token + self.config.algorithm.kl_coef * kl
        loss = (w * per_token).sum()
        self.accelerator.backward(loss * self.ranks.world)  # DDP averages over ranks; the sum is what we want
        if not count:
            return 0.0
        stats.add("clip_frac", clipped.float())
        stats.add("update_tokens", float(batch.num_tokens), 1)
        if first_epoch and s.entropy is not None:
            stats.add("entropy", s.entropy[mask])
        if first_epoch and kl is not None:
            stats.add("kl", kl.detach())
        if measure:
            stats.mismatch(torch.cat([i.engine_logp for i in chunk]).to(dev)[mask], s.logp_t1[mask])
        return float(loss.detach())

    def run(self, items: list[TrainItem], step: int) -> dict[str, Any]:
        """All optimizer steps of one RL step; returns the update's metrics."""
        t0 = time.perf_counter()
        cfg, algo = self.config, self.config.algorithm
        stats = _Stats()
        if not items:
            return {"skipped_update": 1, "update_seconds": 0.0}
        self._pre_pass(items, stats) if (self.recompute or self.kl_fn is not None) else None
        groups = sorted({i.group for i in items})
        losses, norms, opt_steps = [], [], 0
        for epoch in range(algo.epochs):
            g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step * 1009 + epoch)
            order = [groups[j] for j in torch.randperm(len(groups), generator=g).tolist()]
            per = math.ceil(len(order) / algo.mini_batches)
            for m in range(0, len(order), per):
                chosen = set(order[m : m + per])
                mini = [i for i in items if i.group in chosen]
                measure = opt_steps == 0 and not self.recompute  # scored before any optimizer step of this update
                seq_index = torch.cat([torch.full((int(i.mask.sum()),), k) for k, i in enumerate(mini)])
                w_all = token_weights(algo.aggregation, seq_index.long(), len(mini), float(algo.norm_length))
                sizes = [int(i.mask.sum()) for i in mini]
                w_items = list(torch.split(w_all, sizes))
                # This rank's share of the mini-batch, with the weights of the whole of it. A rank with no share
                # still runs one backward (a zero-weight stand-in), because DDP's gradient sync needs every rank.
                own = self.ranks.mine(len(mini))
                shard, w_shard = [mini[k] for k in own], [w_items[k] for k in own]
                count = bool(shard)
                if not count:
                    shard, w_shard = mini[:1], [torch.zeros_like(w_items[0])]
                chunks = micro_batches(shard, cfg.micro_batch_tokens)
                total, at = 0.0, 0
                for c, chunk in enumerate(chunks):
                    ws = w_shard[at : at + len(chunk)]
                    at += len(chunk)
                    sync = contextlib.nullcontext() if c == len(chunks) - 1 else self.accelerator.no_sync(self.model)
                    with sync:
                        total += self._micro_step(chunk, ws, stats, epoch == 0, measure, count)
                norm = self.accelerator.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.after_step()
                opt_steps += 1
                losses.append(total)
                norms.append(float(norm))
        if self.ranks.world > 1:  # every rank saw its share: sum the losses and the running statistics
            parts = self.ranks.gather((losses, stats.sums, stats.counts, stats.mismatch_max))
            losses = [sum(x) for x in zip(*(p[0] for p in parts))]
            stats = _Stats.merged([(p[1], p[2], p[3]) for p in parts])
        adv = torch.tensor([i.advantage for i in items])
        seconds = time.perf_counter() - t0
        return {
            "loss": sum(losses) / len(losses),
            "grad_norm": sum(norms) / len(norms),
            "clip_frac": stats.mean("clip_frac"),
            "entropy": stats.mean("entropy"),
            "kl": stats.mean("kl"),
            "advantage_mean": float(adv.mean()),
            "advantage_std": float(adv.std()) if adv.numel() > 1 else 0.0,
            "logprob_mismatch_max": stats.mismatch_max if stats.counts.get("mismatch") else None,
            "logprob_mismatch_mean": stats.mean("mismatch"),
            "logprob_mismatch_tokens": stats.counts.get("mismatch", 0),
            "trained_tokens": int(sum(int(i.mask.sum()) for i in items)),
            "optimizer_steps": opt_steps,
            "lr": self.scheduler.get_last_lr()[0],
            "update_seconds": seconds,
            "update_tokens_per_s": stats.sums.get("update_tokens", 0.0) / max(seconds, 1e-9),
        }
