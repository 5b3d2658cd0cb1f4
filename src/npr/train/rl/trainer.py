"""The RL loop (``npr train rl`` / ``npr train zero``) on ``accelerate``.

One step: the engine samples B prompts x G rollouts on the policy's own parameter tensors (no copy, no reload) ->
rewards -> filters (and dynamic sampling) -> advantages -> the policy update -> after every optimizer step the
engine's prefix cache is flushed, since KV cached under the old weights would make the next rollouts silently
off-policy.

``accelerate`` supplies devices, DDP, mixed precision and ``save_state``/``load_state``; the loop, the rollouts and
the losses are npr's. Outputs in ``DIR``: config.yaml, metrics.jsonl (one line per step), checkpoints/step-N/
(accelerate state + HF model), model/ (the final HF model), summary.json, and tensorboard/ when asked.

Under ``torchrun`` or ``accelerate launch`` (DDP), each rank decodes its share of the groups on its replica, every
rank gathers the whole batch before filters and advantages, and each trains on its share of every mini-batch
(:mod:`npr.train.rl.ranks`): the result equals one process's over the same global batch. Checkpoints written at
one world size resume at any other.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import torch

from npr.engine import Engine, EngineConfig
from npr.tokens import encode_prompt
from npr.train.advantages import advantages
from npr.train.config.loader import to_dict
from npr.train.config.rl import RLConfig
from npr.train.jsonl import DataError
from npr.train.config.schedule import scheduler_name
from npr.train.model import (
    base_model, check_checkpoint, check_trainable_attention, is_lora, load_policy, pad_id, save_policy,
)
from npr.train.prompts import PromptStream, load_prompts
from npr.train.rl import checkpoint
from npr.train.rl.ranks import Ranks
from npr.train.rl.progress import Progress
from npr.train.rl.rollout import Collected, RolloutCollector, rollout_metrics
from npr.train.rl.update import PolicyUpdate, TrainItem
from npr.train import run_folder
from npr.train.run_folder import MetricsLog

#: Settings that may differ on resume: they do not change the steps already taken.
RESUMABLE_KEYS = ("max_steps", "save_steps", "save_total_limit", "report_to")
#: Reward terms that need a gold answer for every prompt.
GRADING_TERMS = ("correctness", "acceleration")


class RunState:
    """The loop's own state, saved with every checkpoint: the last finished step and the prompt stream."""

    def __init__(self, stream: PromptStream):
        self.step = 0
        self.stream = stream

    def state_dict(self) -> dict[str, Any]:
        return {"step": self.step, "stream": self.stream.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.stream.load_state_dict(state["stream"])


def to_items(kept: list, name: str) -> list[TrainItem]:
    """Kept rollouts -> :class:`TrainItem` s with advantages from estimator ``name`` (whole groups, >= 2 each)."""
    if not kept:
        return []
    rewards = torch.tensor([r.reward for r in kept], dtype=torch.float32)
    groups = torch.tensor([r.group for r in kept], dtype=torch.long)
    adv = advantages(name, rewards, groups)
    return [TrainItem.from_trajectory(r.traj, r.group, a) for r, a in zip(kept, adv.tolist())]


class RLTrainer:
    """Sets up a run (checks, model, engine, optimizer, resume) and runs its steps; see the module docstring."""

    def __init__(self, config: RLConfig, out: str | Path, *, resume: bool = False, command: str = "npr train rl",
                 progress: bool = True, log=print, rollout_engines=None):  # fmt: skip
        """``rollout_engines(model, tokenizer, engine_config)``, when given, builds the engines that decode the
        rollouts instead of the one in this process: ``npr train rl --ray`` passes engine actors, which get the
        policy's weights before every step's rollouts."""
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration
        from transformers import get_scheduler

        self.config, self.out, self.log = config, Path(out), log
        check_trainable_attention(config.model)
        graders = [t for t in config.reward.terms if t in GRADING_TERMS]
        items = load_prompts(config.data, need_answers=graders)  # before the model: bad data fails fast
        self.resumed = run_folder.check(self.out, to_dict(config), resume=resume, may_change=RESUMABLE_KEYS)

        model, self.tokenizer, self.tags = load_policy(config.model, seed=config.seed)
        self._check_dropout(model)
        if config.model.gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.items = items
        self.prompt_ids = self._encode_prompts(model)
        ref = None
        if config.algorithm.kl != "none" and not is_lora(model):
            ref = copy.deepcopy(model).requires_grad_(False).eval()  # the initial policy, frozen

        self.accelerator = Accelerator(
            mixed_precision=config.mixed_precision, cpu=not torch.cuda.is_available(),
            log_with="tensorboard" if "tensorboard" in config.report_to else None,
            project_config=ProjectConfiguration(project_dir=str(self.out), logging_dir=str(self.out / "tensorboard")),
            # Ranks run different numbers of forwards (their shares differ): buffers must not sync in forward.
            kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)],
        )  # fmt: skip
        self.ranks = Ranks.of(self.accelerator)
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
        a = config.algorithm
        # Not prepared by accelerate: its wrapper steps the schedule once per process; ours steps per optimizer step.
        self.scheduler = get_scheduler(
            scheduler_name(config.lr_scheduler), optimizer, num_warmup_steps=config.warmup_steps,
            num_training_steps=config.max_steps * a.epochs * a.mini_batches,
        )  # fmt: skip
        self.model, self.optimizer = self.accelerator.prepare(model, optimizer)
        self.model.train() if config.model.gradient_checkpointing else self.model.eval()  # no dropout: on-policy
        self.ref = ref.to(self.accelerator.device) if ref is not None else None
        self.stream = PromptStream(len(items), config.seed, config.data.shuffle)
        self.state = RunState(self.stream)
        self.accelerator.register_for_checkpointing(self.scheduler, self.state)

        r = config.rollout
        self.engine = Engine(
            base_model(self.accelerator.unwrap_model(self.model)), self.tokenizer,
            EngineConfig(kv_budget=r.kv_budget, max_batch_tokens=r.max_batch_tokens, max_running=r.max_running),
        )  # fmt: skip
        self.remote = None
        if rollout_engines is not None:
            if self.ranks.world > 1:
                raise ValueError("rollouts on Ray and a launcher's ranks do not mix: use one of them")
            policy = copy.deepcopy(base_model(self.accelerator.unwrap_model(self.model))).cpu()
            self.remote = rollout_engines(policy, self.tokenizer, self.engine.config)
        self.collector = RolloutCollector(self.remote or self.engine, items, self.prompt_ids, self.stream, config,
                                          self.ranks)  # fmt: skip
        self.update = PolicyUpdate(
            accelerator=self.accelerator, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
            tags=self.tags, config=config, pad_id=pad_id(self.tokenizer), ref_model=self.ref, after_step=self.engine.flush_cache,
            ranks=self.ranks,
        )  # fmt: skip
        if self.resumed:
            self._resume()
        run_folder.start(self.out, to_dict(config), resumed=self.resumed, command=command)  # every check passed
        self.metrics = MetricsLog(self.out)
        if self.resumed:
            self._truncate_metrics()
        if "tensorboard" in config.report_to:
            self.accelerator.init_trackers("rl")
        self.progress_enabled = progress and self.accelerator.is_main_process

    # ---- setup helpers -----------------------------------------------------------------------------------------

    def _check_dropout(self, model) -> None:
        p = getattr(base_model(model).config, "attention_dropout", 0.0) or 0.0
        if p and self.config.model.gradient_checkpointing:
            raise ValueError(
                f"the model has attention_dropout={p}: with gradient checkpointing the update runs in train mode, "
                "and dropout would make the loss score tokens under another distribution than the engine sampled"
            )

    def _encode_prompts(self, model) -> list[list[int]]:
        d, vocab = self.config.data, model.get_input_embeddings().weight.shape[0]
        out = []
        for item in self.items:
            if item.prompt_ids is not None:
                ids = list(item.prompt_ids)
                bad = next((t for t in ids if not 0 <= t < vocab), None)
                if bad is not None:
                    raise DataError(f"RL prompt {item.id!r}: token id {bad} is outside the vocabulary of {vocab}")
            else:
                ids = encode_prompt(self.tokenizer, item.question, instruction=d.instruction, system=d.system, mode=d.prompt)
            if len(ids) + self.config.rollout.max_tokens > self.config.rollout.kv_budget:
                raise DataError(
                    f"RL prompt {item.id!r} has {len(ids)} tokens: with max_tokens={self.config.rollout.max_tokens} "
                    f"one rollout needs more than rollout.kv_budget={self.config.rollout.kv_budget}"
                )
            out.append(ids)
        return out

    def _resume(self) -> None:
        found = checkpoint.latest(self.out)
        if found is None:
            return
        step, folder = found
        check_checkpoint(self.model, folder / "hf")
        try:
            self.accelerator.load_state(str(folder / "accelerate"))
        except (RuntimeError, KeyError, ValueError) as exc:
            raise ValueError(f"cannot resume from {str(folder)!r}: {exc}") from None
        self.engine.flush_cache()

    def _truncate_metrics(self) -> None:
        """Drop metric lines of steps after the checkpoint resumed from: they will be run (and logged) again."""
        if not self.accelerator.is_main_process:
            return
        dropped = self.metrics.truncate(self.state.step)
        where = f"step {self.state.step}" if self.state.step else "step 0 (no checkpoint was finished)"
        self.log(f"resumed from {where}" + (f"; {dropped} later metric lines dropped" if dropped else ""))

    # ---- the loop ---------------------------------------------------------------------------------------------

    def step(self) -> dict[str, Any]:
        """One RL step; returns its metrics (also written to metrics.jsonl by :meth:`train`)."""
        t0 = time.perf_counter()
        step = self.state.step + 1
        if self.remote is not None:  # the actors decode with the weights of the last update
            self.remote.set_weights(base_model(self.accelerator.unwrap_model(self.model)).state_dict())
        collected: Collected = self.collector.collect()
        items = to_items(collected.kept, self.config.algorithm.advantage)
        upd = self.update.run(items, step)
        self.state.step = step
        return {"step": step, **rollout_metrics(collected, self.config), **upd, "step_seconds": time.perf_counter() - t0}

    def save(self) -> Path:
        """A checkpoint of this step, by every rank together: the main process owns the folder, accelerate writes
        each rank's part (the model and optimizer once, an RNG state per rank)."""
        acc, step = self.accelerator, self.state.step
        tmp = checkpoint.begin(self.out, step) if acc.is_main_process else checkpoint.staging_dir(self.out, step)
        acc.wait_for_everyone()
        acc.save_state(str(tmp / "accelerate"))
        acc.wait_for_everyone()
        final = checkpoint.checkpoint_dir(self.out, step)
        if acc.is_main_process:
            save_policy(acc.unwrap_model(self.model), self.tokenizer, tmp / "hf")
            final = checkpoint.finish(self.out, step, self.config.save_total_limit)
        acc.wait_for_everyone()
        return final

    def train(self) -> dict[str, Any]:
        cfg = self.config
        t0 = time.perf_counter()
        first = self.state.step
        bar = Progress(cfg.max_steps, first, enabled=self.progress_enabled)
        try:
            while self.state.step < cfg.max_steps:
                record = self.step()
                if self.accelerator.is_main_process:
                    self.metrics.write(record)
                if "tensorboard" in cfg.report_to:
                    self.accelerator.log({k: v for k, v in record.items() if isinstance(v, (int, float))}, step=record["step"])
                bar.update(record)
                if self.state.step % cfg.save_steps == 0 or self.state.step == cfg.max_steps:
                    self.save()
        finally:
            bar.close()
            if "tensorboard" in cfg.report_to:
                self.accelerator.end_training()
        self.accelerator.wait_for_everyone()
        if not self.accelerator.is_main_process:
            return {"steps": self.state.step, "rank": self.ranks.rank}
        saved = save_policy(self.accelerator.unwrap_model(self.model), self.tokenizer, self.out / "model",
                            merge_lora=cfg.model.merge_lora)  # fmt: skip
        summary = summarize(self.metrics.read(), saved, time.perf_counter() - t0, steps_run=self.state.step - first)
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary


def summarize(records: list[dict[str, Any]], saved: dict[str, str], seconds: float, steps_run: int) -> dict[str, Any]:
    """The end-of-run summary: the first and last steps' figures and the means over the run."""
    keys = ("reward_mean", "accuracy", "format_valid", "parallel_rate", "branches_per_block", "total_tokens",
            "critical_path_tokens", "logprob_mismatch_max", "rollout_tokens_per_s", "update_tokens_per_s")  # fmt: skip

    def mean(key: str, rows: list[dict[str, Any]]) -> float | None:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return sum(vals) / len(vals) if vals else None

    tail = records[-max(1, len(records) // 5) :] if records else []
    rollout_s = sum(r.get("rollout_seconds") or 0.0 for r in records)
    update_s = sum(r.get("update_seconds") or 0.0 for r in records)
    return {
        "steps": records[-1]["step"] if records else 0,
        "steps_this_session": steps_run,
        "first": {k: records[0].get(k) for k in keys} if records else {},
        "last": {k: records[-1].get(k) for k in keys} if records else {},
        "last_fifth_mean": {k: mean(k, tail) for k in keys},
        "logprob_mismatch_max_over_run": max((r["logprob_mismatch_max"] for r in records
                                              if r.get("logprob_mismatch_max") is not None), default=None),
        "rollout_share_of_time": rollout_s / (rollout_s + update_s) if rollout_s + update_s else None,
        "seconds_this_session": round(seconds, 2),
        "saved": saved,
    }


def train_rl(config: RLConfig, out: str | Path, *, resume: bool = False, command: str = "npr train rl",
             progress: bool = True, log=print, rollout_engines=None) -> dict[str, Any]:  # fmt: skip
    """Run RL; see :class:`RLTrainer`. Returns the summary (also in ``out/summary.json``)."""
    trainer = RLTrainer(config, out, resume=resume, command=command, progress=progress, log=log,
                        rollout_engines=rollout_engines)  # fmt: skip
    try:
        return trainer.train()
    finally:
        if trainer.remote is not None:
            trainer.remote.close()
