"""The toy world's language: a compact character tokenizer and the short instructions its prompts carry.

:func:`toy_tokenizer` builds a real ``transformers`` fast tokenizer - one token per character of :data:`CHARS`,
the chat tokens ``<|im_start|>``, ``<|im_end|>`` (EOS) and ``<|endoftext|>`` (padding), the words of
:data:`WORDS`, the eight NPR tags as single special tokens, and a ChatML chat template - so that the engine,
:func:`npr.tokens.encode_prompt`, ``npr eval`` and the trainers use it unchanged once it is saved beside a model.

The full NPR instruction would cost thousands of character tokens; the toy world asks with
:data:`TOY_INSTRUCTION` (parallel blocks) or :data:`TOY_SEQUENTIAL_INSTRUCTION` (step by step) instead.
"""

from __future__ import annotations

import string

from npr.eval.toy import INSTRUCTIONS
from npr.tokens import add_tags

#: Every character a toy prompt or solution may use (lower-case letters, digits, arithmetic, LaTeX's \boxed{}).
CHARS = string.ascii_lowercase + string.digits + " \n+-*/=:.,?()\\{}_'"
SPECIAL = ("<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>")
#: Words every example carries, one token each: the chat roles and the answer's opening. Fewer tokens an example
#: is faster training, and a model emits ``\boxed{`` as one decision, not seven.
WORDS = ("user", "assistant", "\\boxed{")
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TOY_INSTRUCTION = INSTRUCTIONS["npr"]
TOY_SEQUENTIAL_INSTRUCTION = INSTRUCTIONS["plain"]


def toy_tokenizer():
    """The toy tokenizer (69 tokens with the tags), built in memory: no files, no network."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate((*SPECIAL, *CHARS))}
    # BPE without merges splits text into characters; Fuse joins them back without the spaces WordLevel would add.
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    core.decoder = decoders.Fuse()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", pad_token="<|endoftext|>", eos_token="<|im_end|>",
        additional_special_tokens=["<|im_start|>"],
    )  # fmt: skip
    tok.add_tokens(list(WORDS))
    tok.chat_template = CHAT_TEMPLATE
    add_tags(None, tok)
    return tok
