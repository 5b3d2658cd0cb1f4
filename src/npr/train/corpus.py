"""The SFT corpus: trajectories as token ids, checked line by line before any training starts.

Two formats (:class:`~npr.train.config.sft.SFTDataConfig`):

* **ids**, the distillation format: ``{"prompt_ids": [...], "response_ids": [...], ...}`` per line, the engine's own
  ids, used exactly as given (never re-tokenised);
* **text**: ``{"prompt": "...", "response": "..."}`` per line, tokenised here once, with the tags as single tokens.

Every sample must fit the vocabulary, have a non-empty response and, for parallel training, a structure that
:func:`npr.topology.layout` can lay out. Each failure names the line.
"""

from __future__ import annotations

from dataclasses import dataclass

from npr.tokens import TagIds, encode_prompt
from npr.topology import TopologyError, layout
from npr.train.config.sft import SFTDataConfig
from npr.train.jsonl import DataError, read_jsonl
from npr.train.packing import Sample

WHAT = "SFT corpus"


@dataclass
class Corpus:
    """The samples, and what loading found."""

    samples: list[Sample]
    skipped_overlong: int = 0

    @property
    def tokens(self) -> int:
        return sum(len(s.token_ids) for s in self.samples)

    @property
    def response_tokens(self) -> int:
        return sum(s.response_len for s in self.samples)


def _ids(record: dict, key: str, where: str) -> list[int]:
    value = record.get(key)
    if not isinstance(value, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in value):
        raise DataError(f"{where}: {key!r} must be a list of integer token ids")
    return value


def _text(record: dict, key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise DataError(f"{where}: field {key!r} is missing or not a string (fields here: {', '.join(record)})")
    return value


def load_corpus(cfg: SFTDataConfig, tokenizer, tags: TagIds, vocab_size: int) -> Corpus:
    """Read and check the whole corpus. Raises :class:`~npr.train.jsonl.DataError` naming the first bad line."""
    fmt = cfg.format
    samples: list[Sample] = []
    skipped = 0
    eos = tokenizer.eos_token_id
    if cfg.append_eos and eos is None and fmt != "ids":
        raise DataError("data.append_eos is set but the tokenizer has no EOS token; set data.append_eos: false")
    for number, record in read_jsonl(cfg.path, WHAT):
        where = f"{WHAT} {cfg.path!r}, line {number}"
        if fmt == "auto":
            fmt = "ids" if "prompt_ids" in record else "text"
        if fmt == "ids":
            prompt, response = _ids(record, "prompt_ids", where), _ids(record, "response_ids", where)
        else:
            question = _text(record, cfg.prompt_field, where)
            answer = _text(record, cfg.response_field, where)
            if cfg.chat_template:
                prompt = encode_prompt(tokenizer, question, instruction=cfg.instruction, system=cfg.system)
            else:
                prompt = [int(t) for t in tokenizer.encode(question, add_special_tokens=False)]
            response = [int(t) for t in tokenizer.encode(answer, add_special_tokens=False)]
            if cfg.append_eos and response and response[-1] != eos:
                response.append(int(eos))
        if not prompt:
            raise DataError(f"{where}: the prompt is empty")
        if not response:
            raise DataError(f"{where}: the response is empty: there is nothing to train on")
        bad = next((t for t in prompt + response if not 0 <= t < vocab_size), None)
        if bad is not None:
            raise DataError(
                f"{where}: token id {bad} is outside the model's vocabulary of {vocab_size} (was the corpus made "
                "with another tokenizer?)"
            )
        ids = prompt + response
        if cfg.max_length is not None and len(ids) > cfg.max_length:
            if cfg.skip_overlong:
                skipped += 1
                continue
            raise DataError(
                f"{where}: {len(ids)} tokens exceed data.max_length={cfg.max_length} (raise it, or set "
                "data.skip_overlong: true to drop such lines)"
            )
        if cfg.parallel:
            try:
                layout(ids, tags, len(prompt))
            except TopologyError as exc:
                raise DataError(
                    f"{where}: the response cannot be laid out in parallel (response token "
                    f"{exc.index - len(prompt)}: {str(exc).split(': ', 1)[-1]}); fix the line, or set data.parallel: false"
                ) from None
        samples.append(Sample(ids, len(prompt), cfg.parallel))
    if not samples:
        raise DataError(f"{WHAT} {cfg.path!r}: every line was longer than data.max_length={cfg.max_length}")
    return Corpus(samples, skipped)
