"""The NPR special tokens, the prompt that asks for the NPR format, and tokenizer loading.

* :class:`TagIds` holds the token ids of the eight structural tags (``<guideline>`` ... ``</takeaway>``).
* :func:`add_tags` adds the tags to a tokenizer as special tokens and grows and initialises the model's embedding
  rows for them (DESIGN §5, "Special tokens").
* :func:`build_prompt` / :func:`encode_prompt` render a question with the instruction that explains the NPR format
  (DESIGN §2) through the tokenizer's chat template.
* :func:`load_tokenizer` loads a tokenizer folder, including one that ships ``tokenizer.json`` compressed as
  ``tokenizer.json.xz`` (as the test fixtures do).
"""

from npr.tokens.loading import cache_root, default_cache_dir, load_tokenizer
from npr.tokens.prompt import (
    NPR_INSTRUCTION,
    PLAIN_INSTRUCTION,
    PromptMode,
    build_messages,
    build_prompt,
    encode_chat,
    encode_prompt,
    format_instruction,
)
from npr.tokens.tags import TagIds, add_tags

__all__ = [
    "NPR_INSTRUCTION",
    "PLAIN_INSTRUCTION",
    "PromptMode",
    "TagIds",
    "add_tags",
    "build_messages",
    "build_prompt",
    "encode_chat",
    "cache_root",
    "default_cache_dir",
    "encode_prompt",
    "format_instruction",
    "load_tokenizer",
]
