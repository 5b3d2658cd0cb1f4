"""Token ids of the eight NPR tags, and adding the tags to a tokenizer and a model (DESIGN §5, "Special tokens").

:class:`TagIds` is small, frozen and hashable, so that the token-level state machines (topology, engine) can carry
it around. :func:`add_tags` adds the tags as special tokens in the order of :data:`npr.schema.tags.TAGS`, and grows
(never shrinks) and initialises the model's embedding rows for them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import TYPE_CHECKING

import torch

from npr.schema.tags import TAGS, bare_word

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

@dataclass(frozen=True)
class TagIds:
    """Token ids of the eight structural tags. Field order is the order of ``TAGS``."""

    guideline_open: int
    guideline_close: int
    plan_open: int
    plan_close: int
    step_open: int
    step_close: int
    takeaway_open: int
    takeaway_close: int

    def __post_init__(self) -> None:
        ids = self.all
        if any(not isinstance(i, int) or isinstance(i, bool) or i < 0 for i in ids):
            raise ValueError(f"TagIds needs eight non-negative integer token ids, got {ids}.")
        if len(set(ids)) != len(ids):
            raise ValueError(f"TagIds needs eight distinct token ids, got {ids}: two tags share an id.")

    @classmethod
    def from_tokenizer(cls, tokenizer: PreTrainedTokenizerBase) -> TagIds:
        """Look the eight tags up in ``tokenizer``.

        Each tag must encode (without extra special tokens) to exactly one id. Raises ``ValueError`` naming the first
        tag that does not, with the fix: call :func:`add_tags` on the tokenizer first.
        """
        ids: list[int] = []
        for tag in TAGS:
            encoded = list(tokenizer.encode(tag, add_special_tokens=False))
            if len(encoded) != 1:
                raise ValueError(
                    f"The tokenizer has no single token for the NPR tag {tag!r}: it encodes to {len(encoded)} ids "
                    f"{encoded}. Call npr.tokens.add_tags(model, tokenizer) (model may be None) to add the eight "
                    f"tags as special tokens, or load a tokenizer that already has them (e.g. an NPR checkpoint)."
                )
            ids.append(int(encoded[0]))
        return cls(*ids)

    @property
    def all(self) -> tuple[int, ...]:
        """The eight ids, in ``TAGS`` order."""
        return tuple(getattr(self, f.name) for f in fields(self))

    @cached_property
    def _tag_by_id(self) -> dict[int, str]:
        # Cached because the state machines call name_of/is_tag once per token.
        return dict(zip(self.all, TAGS))

    def as_dict(self) -> dict[str, int]:
        """``{tag text: id}`` in ``TAGS`` order."""
        return dict(zip(TAGS, self.all))

    def id_of(self, tag: str) -> int:
        """The id of a tag given by its text, e.g. ``id_of("</step>")``."""
        try:
            return self.as_dict()[tag]
        except KeyError:
            raise ValueError(f"{tag!r} is not an NPR tag; the tags are {', '.join(TAGS)}.") from None

    def name_of(self, token_id: int) -> str | None:
        """The tag text of ``token_id``, or ``None`` when it is not a tag."""
        return self._tag_by_id.get(int(token_id))

    def is_tag(self, token_id: int) -> bool:
        """Whether ``token_id`` is one of the eight tags."""
        return int(token_id) in self._tag_by_id


# --------------------------------------------------------------------------------------------------------------------
# Adding the tags to a tokenizer and a model
# --------------------------------------------------------------------------------------------------------------------


def add_tags(
    model: PreTrainedModel | None, tokenizer: PreTrainedTokenizerBase, *, force_init: bool = False
) -> TagIds:
    """Add the eight tags as special tokens and make room for them in the model.

    Tags are added in ``TAGS`` order as special ``AddedToken`` s (never split, not normalized, no stripping), so they
    encode to one id each and decode back to their text (with ``skip_special_tokens=False``, the default; like every
    special token they are dropped by ``skip_special_tokens=True``). The tokenizer's existing special-token list
    (e.g. ``<|im_start|>``) is left alone.

    The call is idempotent. Tags already in the tokenizer keep their ids, and their embedding rows are not touched,
    unless a row did not exist before (the table had to grow to hold it) or ``force_init`` is set. Use
    ``force_init=True`` when pairing a tokenizer that already has the tags with a base model that never trained them.

    The model's embedding table grows to ``max(rows, len(tokenizer))`` rows and never shrinks: Qwen3's table
    (151936 rows) is larger than its tokenizer (151669 tokens), so new ids may already fit. Each newly added tag gets
    input-embedding row ``E[tag] = mean(E[i] for i in ids(bare_word(tag)))``, where ``ids(w)`` encodes the bare word
    with no leading space and no special tokens (``"</step>"`` -> ``"step"``). No leading space because that is the
    word as written inside the tag, and because SentencePiece tokenizers add their own word-start marker: a leading
    space would give a double marker there. An untied output head gets the same mean of its own rows (and bias).

    Args:
        model: a causal LM with ``get_input_embeddings``/``get_output_embeddings``, or ``None`` to change only the
            tokenizer.
        tokenizer: a Hugging Face tokenizer; modified in place.
        force_init: also re-initialise the rows of tags that were already present.

    Returns:
        The :class:`TagIds` of ``tokenizer`` after the call.
    """
    from tokenizers import AddedToken

    vocab_before = tokenizer.get_vocab()
    tokenizer.add_tokens(
        [AddedToken(t, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False) for t in TAGS],
        special_tokens=True,
    )
    tag_ids = TagIds.from_tokenizer(tokenizer)
    if model is None:
        return tag_ids

    embed = model.get_input_embeddings()
    if embed is None or not hasattr(embed, "weight"):
        raise ValueError(
            f"{type(model).__name__} has no input embedding table (get_input_embeddings() gave {embed!r}); pass a "
            f"causal LM, or model=None to add the tags to the tokenizer only."
        )
    old_rows = int(embed.weight.shape[0])
    new_rows = max(old_rows, len(tokenizer), max(tag_ids.all) + 1)
    if new_rows > old_rows:
        # mean_resizing=False: the tag rows are set below; the covariance fit it would do is slow on big vocabularies.
        model.resize_token_embeddings(new_rows, mean_resizing=False)
        embed = model.get_input_embeddings()
    _sync_vocab_size(model, int(embed.weight.shape[0]))

    to_init = [
        (tag, tid)
        for tag, tid in zip(TAGS, tag_ids.all)
        if force_init or tag not in vocab_before or tid >= old_rows
    ]
    if not to_init:
        return tag_ids

    sources = {tag: _bare_word_ids(tokenizer, tag, old_rows) for tag, _ in to_init}
    head = model.get_output_embeddings()
    untied = head is not None and hasattr(head, "weight") and not _shares_storage(head.weight, embed.weight)
    with torch.no_grad():
        _init_rows(embed.weight, to_init, sources, old_rows)
        if untied:
            _init_rows(head.weight, to_init, sources, old_rows)
            bias = getattr(head, "bias", None)
            if isinstance(bias, torch.Tensor):
                _init_rows(bias, to_init, sources, old_rows)
    return tag_ids


def _bare_word_ids(tokenizer: PreTrainedTokenizerBase, tag: str, old_rows: int) -> list[int]:
    """Ids of the sub-tokens of the tag's bare word that index an existing row (may be empty)."""
    ids = tokenizer.encode(bare_word(tag), add_special_tokens=False)
    return [int(i) for i in ids if 0 <= int(i) < old_rows]


def _init_rows(
    weight: torch.Tensor, to_init: list[tuple[str, int]], sources: dict[str, list[int]], old_rows: int
) -> None:
    """Set ``weight[tid] = mean(weight[sources[tag]])`` for each ``(tag, tid)``.

    ``weight`` is ``[V, H]`` (embedding / lm_head) or ``[V]`` (lm_head bias). Means are taken in float32 from rows
    that existed before the call, so no new row feeds another.
    """
    rows = weight.shape[0]
    # All means first, then all writes, so the result never depends on the order of the tags.
    means: list[tuple[int, torch.Tensor]] = []
    for tag, tid in to_init:
        if tid >= rows:
            continue
        src = sources[tag]
        block = weight[src] if src else weight[: min(old_rows, rows)]
        means.append((tid, block.float().mean(dim=0).to(weight.dtype)))
    for tid, value in means:
        weight[tid] = value


def _shares_storage(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a is b or (a.device == b.device and a.data_ptr() == b.data_ptr())


def _sync_vocab_size(model: PreTrainedModel, rows: int) -> None:
    """Make ``config.vocab_size`` (top level and text config) equal the embedding row count."""
    config = model.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    text_config.vocab_size = rows
    # A composite (e.g. vision-language) config may have no top-level vocab_size; do not invent one.
    if config is not text_config and hasattr(config, "vocab_size"):
        config.vocab_size = rows
