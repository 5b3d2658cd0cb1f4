"""The prompt that asks a model for the NPR format, rendered through the tokenizer's chat template."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

NPR_INSTRUCTION = """\
Answer in parallel reasoning blocks. Each block has three parts:

1. A guideline: <guideline>, then k numbered plans (k >= 1) written as <plan>1: ...</plan>, <plan>2: ...</plan>, \
and so on, then </guideline>. Each plan names one piece of work: a sub-question, a case, or another way to check \
the result.
2. Exactly k steps, in plan order. Step i opens with <step>, starts with "i:", carries out plan i and ends with \
</step>. The steps of a block run at the same time: each one sees the question and all earlier blocks, but never \
the other steps of its own block, so write every step so that it stands on its own.
3. A takeaway: <takeaway> ... </takeaway>, which puts the results of the k steps together, settles any \
disagreement and says what is now known.

Use k = 1 when the work cannot be split. If one block does not finish the problem, write another block that builds \
on the takeaways so far. Do not nest blocks, and leave nothing but line breaks between tags outside plans, steps \
and takeaways. After the last block, write a short conclusion that gives the final answer in \\boxed{}."""

_NPR_EXAMPLE = """\
Example, for the question "What is 17 * 24?":
<guideline>
<plan>1: Multiply by splitting 24 into 20 + 4.</plan>
<plan>2: Multiply by splitting 17 into 10 + 7.</plan>
</guideline>
<step>
1: 17 * 20 = 340 and 17 * 4 = 68, so the product is 340 + 68 = 408.
</step>
<step>
2: 10 * 24 = 240 and 7 * 24 = 168, so the product is 240 + 168 = 408.
</step>
<takeaway>
Both splits give 408.
</takeaway>
The two methods agree, so 17 * 24 = \\boxed{408}."""

#: The instruction of the baseline prompt (``mode="plain"``): no NPR format, just a boxed answer.
PLAIN_INSTRUCTION = "Work through the problem step by step, then give the final answer in \\boxed{}."

PromptMode = Literal["npr", "plain"]


def format_instruction(*, example: bool = True) -> str:
    """The instruction that explains the NPR format (DESIGN §2), with a short worked example unless ``example=False``.

    It is appended to the user turn by :func:`build_prompt`.
    """
    return f"{NPR_INSTRUCTION}\n\n{_NPR_EXAMPLE}" if example else NPR_INSTRUCTION


def _user_text(question: str, instruction: str | None, mode: PromptMode) -> str:
    if mode not in ("npr", "plain"):
        raise ValueError(f"Unknown prompt mode {mode!r}; use 'npr' (NPR format) or 'plain' (baseline).")
    if instruction is None:
        instruction = format_instruction() if mode == "npr" else PLAIN_INSTRUCTION
    question = question.strip()
    return f"{question}\n\n{instruction}" if instruction else question


def build_messages(
    question: str, *, instruction: str | None = None, system: str | None = None, mode: PromptMode = "npr"
) -> list[dict[str, str]]:
    """The chat messages of a prompt: an optional system turn, then the question followed by the instruction.

    ``instruction=None`` picks the instruction of ``mode`` (:func:`format_instruction` for ``"npr"``,
    :data:`PLAIN_INSTRUCTION` for ``"plain"``); ``instruction=""`` sends the bare question.
    """
    messages = [{"role": "system", "content": system}] if system is not None else []
    messages.append({"role": "user", "content": _user_text(question, instruction, mode)})
    return messages


def _chat_template(tokenizer: PreTrainedTokenizerBase) -> str | None:
    template: Any = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        template = template.get("default")
    return template if isinstance(template, str) and template.strip() else None


def build_prompt(
    tokenizer: PreTrainedTokenizerBase,
    question: str,
    *,
    instruction: str | None = None,
    system: str | None = None,
    mode: PromptMode = "npr",
) -> str:
    """The prompt text for ``question``, ending where the assistant's answer starts.

    With a chat template: the messages of :func:`build_messages`, rendered with ``add_generation_prompt=True``.
    Templates that read ``enable_thinking`` (Qwen3) get ``enable_thinking=False``: NPR answers without a think
    block, and the Qwen3 template then writes an empty ``<think>\\n\\n</think>\\n\\n`` after the assistant header.

    Without a chat template (base models), a plain layout::

        {system}\\n\\n            (only when system is given)
        Question: {question}\\n\\n{instruction}\\n\\nAnswer:\\n
    """
    template = _chat_template(tokenizer)
    if template is None:
        head = f"{system}\n\n" if system else ""
        return f"{head}Question: {_user_text(question, instruction, mode)}\n\nAnswer:\n"
    extra: dict[str, Any] = {"enable_thinking": False} if "enable_thinking" in template else {}
    messages = build_messages(question, instruction=instruction, system=system, mode=mode)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **extra)


def encode_prompt(tokenizer: PreTrainedTokenizerBase, question: str, **kwargs: Any) -> list[int]:
    """Token ids of :func:`build_prompt` (same keyword arguments), with BOS exactly once where the model uses one.

    A chat template writes its own special tokens (a BOS included, if the model needs one), so the text is encoded
    with ``add_special_tokens=False``. Without a template, the BOS that the tokenizer would add by default is put
    in front, once; any EOS it would append is not, since the prompt is not finished.
    """
    text = build_prompt(tokenizer, question, **kwargs)
    ids = [int(i) for i in tokenizer.encode(text, add_special_tokens=False)]
    bos = getattr(tokenizer, "bos_token_id", None)
    if _chat_template(tokenizer) is None and bos is not None and ids[:1] != [bos]:
        if tokenizer.encode("a", add_special_tokens=True)[:1] == [bos]:
            ids.insert(0, int(bos))
    return ids


def encode_chat(
    tokenizer: PreTrainedTokenizerBase,
    messages: list[dict[str, str]],
    *,
    instruction: str | None = None,
    mode: PromptMode = "npr",
) -> list[int]:
    """Token ids of a conversation (``[{"role", "content"}, ...]``, ending with a user turn), ready for the answer.

    The instruction of ``mode`` (or ``instruction``; ``""`` for none) follows the last user turn, as in
    :func:`build_messages`. A conversation of one user turn, with or without a system turn before it, gives exactly
    :func:`encode_prompt`'s ids: what the model was trained on.
    """
    if not messages or messages[-1].get("role") != "user":
        raise ValueError("the conversation must end with a user turn: that is the turn the model answers")
    system = messages[0]["content"] if messages[0].get("role") == "system" else None
    rest = messages[1:] if system is not None else messages
    if len(rest) == 1:
        return encode_prompt(tokenizer, rest[0]["content"], instruction=instruction, system=system, mode=mode)
    template = _chat_template(tokenizer)
    last = {"role": "user", "content": _user_text(messages[-1]["content"], instruction, mode)}
    turns = [dict(m) for m in messages[:-1]] + [last]
    if template is None:  # base models: the turns in a plain layout, then the answer cue
        body = "\n\n".join(f"{m['role'].capitalize()}: {m['content']}" for m in turns)
        return encode_prompt(tokenizer, body, instruction="")
    extra: dict[str, Any] = {"enable_thinking": False} if "enable_thinking" in template else {}
    text = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True, **extra)
    return [int(i) for i in tokenizer.encode(text, add_special_tokens=False)]
