"""Parallel SFT (``npr train sft``): a ``transformers.Trainer`` with npr's collator and loss.

The Trainer brings what a training run needs around the loss - accelerate/torchrun DDP, FSDP and DeepSpeed,
gradient accumulation, LR schedules, gradient checkpointing, bf16, checkpoints and resume, TensorBoard and W&B.
npr brings two pieces:

* :class:`PackedCollator`: trajectories -> a :class:`~npr.train.packing.PackedBatch` (several per row, each with
  npr.topology's positions and block-diagonal parallel mask);
* :meth:`NPRTrainer.compute_loss`: the mean negative log-likelihood of every response token, scored at ``pred(i)``
  by :func:`npr.train.forward.score`.

The loss is a token mean over the whole optimizer step: the Trainer counts the targets of all accumulated
micro-batches (and all ranks) as ``num_items_in_batch``, so packing, micro-batching and world size change nothing.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from npr.tokens import TagIds
from npr.train.config.loader import to_dict
from npr.train.config.schedule import scheduler_name
from npr.train.config.sft import SFTConfig
from npr.train.corpus import load_corpus
from npr.train.forward import score
from npr.train.model import check_checkpoint, check_trainable_attention, load_policy, pad_id, save_policy
from npr.train.packing import LONGEST, PackedBatch, Sample, pack_samples
from npr.train import run_folder
from npr.train.run_folder import MetricsLog, is_main_process

#: Settings that may differ when a run is resumed: they do not change the training done so far.
RESUMABLE_KEYS = ("max_steps", "epochs", "save_steps", "save_total_limit", "logging_steps", "report_to", "dataloader_workers")


class SampleList(torch.utils.data.Dataset):
    def __init__(self, samples: Sequence[Sample]):
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> Sample:
        return self.samples[i]


class PackedCollator:
    """Samples -> ``{"packed": PackedBatch, "labels": Long[N], "shift_labels": Long[N]}``.

    ``labels``/``shift_labels`` hold the N response-token targets only so that the Trainer can count them for
    ``num_items_in_batch`` (``shift_labels`` is counted as given); the loss reads ``packed``.
    """

    def __init__(self, tags: TagIds, row_tokens: int | str | None, pad_id: int):
        self.tags, self.row_tokens, self.pad_id = tags, row_tokens, pad_id

    def __call__(self, samples: list[Sample]) -> dict[str, Any]:
        batch = pack_samples(samples, self.tags, row_tokens=self.row_tokens, pad_id=self.pad_id)
        return {"packed": batch, "labels": batch.targets, "shift_labels": batch.targets}


class NPRTrainer(Trainer):
    """``Trainer`` whose loss is the parallel-topology NLL of response tokens (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tokens_seen = 0  # real (non-pad) tokens forwarded since the last log

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        batch: PackedBatch = inputs["packed"].to(next(model.parameters()).device)
        nll = -score(model, batch).logp  # Float[N]
        self.tokens_seen += batch.num_tokens
        if num_items_in_batch is None:
            loss = nll.mean()  # the Trainer then divides by the accumulation steps
        else:
            loss = nll.sum() / num_items_in_batch  # the token mean over the whole step: all micro-batches, all ranks
            if self.args.average_tokens_across_devices:
                # DDP averages gradients over ranks, and num_items_in_batch already counts every rank's tokens.
                loss = loss * self.accelerator.num_processes
        return (loss, {"nll": nll.detach()}) if return_outputs else loss


class _Metrics(TrainerCallback):
    """Every Trainer log line -> metrics.jsonl, with the training tokens/s since the previous line."""

    def __init__(self, log: MetricsLog, trainer_ref: list):
        self.log, self.trainer_ref = log, trainer_ref
        self.t0 = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        trainer = self.trainer_ref[0]
        now = time.perf_counter()
        record = {"step": state.global_step, "epoch": state.epoch, **logs}
        if trainer is not None and "loss" in logs:
            record["tokens_per_s"] = trainer.tokens_seen / max(now - self.t0, 1e-9)
            trainer.tokens_seen = 0
        self.t0 = now
        self.log.write(record)


def _last_checkpoint(folder: Path) -> Path | None:
    """The newest ``checkpoint-N`` that was written to the end (the Trainer writes trainer_state.json last)."""
    done = [p for p in folder.glob("checkpoint-*") if (p / "trainer_state.json").is_file() and p.name[11:].isdigit()]
    return max(done, key=lambda p: int(p.name[11:])) if done else None


def train_sft(config: SFTConfig, out: str | Path, *, resume: bool = False, command: str = "npr train sft",
              progress: bool = True, log=print) -> dict[str, Any]:  # fmt: skip
    """Run parallel SFT; writes ``out/`` (see docs/TRAINING.md) and returns the run summary.

    Everything that can be checked is checked before the model loads: the config (by its dataclass), the output
    folder (``resume`` rules), then the corpus against the tokenizer and vocabulary.
    """
    out = Path(out)
    check_trainable_attention(config.model)
    resumed = run_folder.check(out, to_dict(config), resume=resume, may_change=RESUMABLE_KEYS)
    model, tokenizer, tags = load_policy(config.model, seed=config.seed)
    vocab = model.get_input_embeddings().weight.shape[0]
    corpus = load_corpus(config.data, tokenizer, tags, vocab)
    log(f"corpus: {len(corpus.samples)} trajectories, {corpus.tokens} tokens ({corpus.response_tokens} trained)"
        + (f", {corpus.skipped_overlong} over max_length skipped" if corpus.skipped_overlong else ""))  # fmt: skip

    ckpt_dir = out / "checkpoints"
    last = _last_checkpoint(ckpt_dir) if resumed else None
    if last is not None:
        check_checkpoint(model, last)
    run_folder.start(out, to_dict(config), resumed=resumed, command=command)  # every check passed
    metrics = MetricsLog(out)
    if resumed and is_main_process():
        step = int(last.name[11:]) if last else 0
        dropped = metrics.truncate(step)
        log(f"resuming from {last if last else 'the start (no checkpoint was finished)'}"
            + (f"; {dropped} metric lines after step {step} dropped" if dropped else ""))  # fmt: skip

    callbacks: list[TrainerCallback] = []
    if "tensorboard" in config.report_to:
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        callbacks.append(TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(out / "tensorboard"))))
    args = TrainingArguments(
        output_dir=str(ckpt_dir), seed=config.seed, data_seed=config.seed,
        per_device_train_batch_size=config.batch_size, gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr, lr_scheduler_type=scheduler_name(config.lr_scheduler), warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay, max_grad_norm=config.max_grad_norm,
        num_train_epochs=config.epochs, max_steps=config.max_steps or -1, bf16=config.bf16,
        save_strategy="steps", save_steps=config.save_steps, save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps, report_to=[r for r in config.report_to if r != "tensorboard"] or "none",
        remove_unused_columns=False, ddp_find_unused_parameters=False, dataloader_num_workers=config.dataloader_workers,
        disable_tqdm=not progress, use_cpu=not torch.cuda.is_available(),
        **({"activation_checkpointing": True} if config.model.gradient_checkpointing else {}),
    )  # fmt: skip
    collator = PackedCollator(tags, (config.pack_tokens or LONGEST) if config.pack else None, pad_id(tokenizer))
    ref: list = [None]
    trainer = NPRTrainer(
        model=model, args=args, train_dataset=SampleList(corpus.samples), data_collator=collator,
        callbacks=[*callbacks, _Metrics(metrics, ref)],
    )  # fmt: skip
    ref[0] = trainer
    if not progress:
        # The Trainer prints every log dict to stdout when its bar is off; metrics.jsonl already holds them.
        trainer.remove_callback(PrinterCallback)
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(last) if last else None)
    seconds = time.perf_counter() - t0

    trainer.accelerator.wait_for_everyone()
    if not trainer.accelerator.is_main_process:
        return {"steps": trainer.state.global_step, "rank": trainer.accelerator.process_index}
    saved = save_policy(trainer.accelerator.unwrap_model(trainer.model), tokenizer, out / "model",
                        merge_lora=config.model.merge_lora)  # fmt: skip
    losses = [r["loss"] for r in metrics.read() if r.get("loss") is not None]
    summary = {
        "steps": trainer.state.global_step,
        "epochs": trainer.state.epoch,
        "trajectories": len(corpus.samples),
        "corpus_tokens": corpus.tokens,
        "trained_tokens": corpus.response_tokens,
        "first_loss": losses[0] if losses else None,
        "final_loss": losses[-1] if losses else None,
        "train_loss": result.training_loss if math.isfinite(result.training_loss) else None,
        "seconds": round(seconds, 2),
        "saved": saved,
        "resumed": resumed,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
