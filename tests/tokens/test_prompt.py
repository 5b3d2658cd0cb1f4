"""The NPR instruction and the prompt builders (chat template, plain fallback, BOS handling)."""

from __future__ import annotations

import re

import pytest

from npr.schema.tags import TAGS
from npr.tokens import (
    NPR_INSTRUCTION,
    PLAIN_INSTRUCTION,
    build_messages,
    build_prompt,
    encode_prompt,
    format_instruction,
)

from .helpers import tiny_bos_tokenizer

QUESTION = "What is the sum of the first 10 odd numbers?"
QWEN3_ASSISTANT = "<|im_start|>assistant\n<think>\n\n</think>\n\n"


def test_instruction_mentions_every_rule():
    text = format_instruction()
    for tag in TAGS:
        assert tag in text
    assert "\\boxed{" in text and "never" in text and "k >= 1" in text
    assert format_instruction(example=False) == NPR_INSTRUCTION
    assert "Example" in text and "Example" not in NPR_INSTRUCTION


def test_example_in_instruction_is_a_valid_response():
    example = format_instruction().split("Example", 1)[1].split(":\n", 1)[1]
    _check_npr_response(example)
    try:
        from npr.schema import validate
    except ImportError:
        return
    assert validate(example) == []


def test_qwen3_chat_prompt(qwen3_tokenizer):
    prompt = build_prompt(qwen3_tokenizer, QUESTION)
    # enable_thinking=False makes the Qwen3 template write an empty think block after the assistant header.
    assert prompt == f"<|im_start|>user\n{QUESTION}\n\n{format_instruction()}<|im_end|>\n{QWEN3_ASSISTANT}"


def test_qwen3_chat_prompt_with_system_and_plain_mode(qwen3_tokenizer):
    prompt = build_prompt(qwen3_tokenizer, QUESTION, system="You are careful.", mode="plain")
    assert prompt.startswith("<|im_start|>system\nYou are careful.<|im_end|>\n<|im_start|>user\n")
    assert f"{QUESTION}\n\n{PLAIN_INSTRUCTION}<|im_end|>" in prompt
    assert "<guideline>" not in prompt
    assert prompt.endswith(QWEN3_ASSISTANT)


def test_custom_and_empty_instruction(qwen3_tokenizer):
    assert "Be brief.<|im_end|>" in build_prompt(qwen3_tokenizer, QUESTION, instruction="Be brief.")
    assert f"user\n{QUESTION}<|im_end|>" in build_prompt(qwen3_tokenizer, QUESTION, instruction="")
    with pytest.raises(ValueError, match="prompt mode"):
        build_messages(QUESTION, mode="fast")  # type: ignore[arg-type]


def test_fallback_without_chat_template(qwen3_tokenizer, monkeypatch):
    monkeypatch.setattr(qwen3_tokenizer, "chat_template", None)
    assert build_prompt(qwen3_tokenizer, QUESTION) == f"Question: {QUESTION}\n\n{format_instruction()}\n\nAnswer:\n"
    assert build_prompt(qwen3_tokenizer, QUESTION, system="S", mode="plain") == (
        f"S\n\nQuestion: {QUESTION}\n\n{PLAIN_INSTRUCTION}\n\nAnswer:\n"
    )


def test_encode_prompt_qwen3(qwen3_tokenizer):
    ids = encode_prompt(qwen3_tokenizer, QUESTION)
    assert ids[0] == qwen3_tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert ids.count(qwen3_tokenizer.convert_tokens_to_ids("<|im_start|>")) == 2
    assert qwen3_tokenizer.decode(ids) == build_prompt(qwen3_tokenizer, QUESTION)


def test_bos_once_with_template_that_writes_it():
    tok = tiny_bos_tokenizer("{{ bos_token }}{% for m in messages %}{{ m['content'] }} {% endfor %}answer :")
    assert tok.encode("what", add_special_tokens=True)[0] == tok.bos_token_id  # the tokenizer adds BOS by default
    ids = encode_prompt(tok, "what is two plus two ?", mode="plain")
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1


def test_bos_once_without_template():
    tok = tiny_bos_tokenizer(None)
    ids = encode_prompt(tok, "what is two plus two ?")
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
    assert tok.eos_token_id not in ids


def _check_npr_response(text: str) -> None:
    """A small stand-in for npr.schema.validate: the DESIGN §2 rules the example must follow."""
    pieces = re.split(r"(</?(?:guideline|plan|step|takeaway)>)", text)
    tags = pieces[1::2]
    between = pieces[0::2]
    assert between[0].strip() == "" and "\\boxed{" in between[-1] and between[-1].strip()
    blocks = "".join(_short(t) for t in tags)
    assert re.fullmatch(r"(G(Pp)+g(Ss)+Tt)+", blocks), blocks
    for i, tag in enumerate(tags):
        inside = between[i + 1]
        if tag in ("<plan>", "<step>", "<takeaway>"):
            assert inside.strip(), f"empty {tag}"
        elif i + 1 < len(tags):
            assert inside.strip() == "", f"text {inside!r} after {tag}"
    for block in re.findall(r"<guideline>.*?</takeaway>", text, flags=re.S):
        plans = re.findall(r"<plan>(\d+):", block)
        steps = re.findall(r"<step>\s*(\d+):", block)
        assert plans == steps == [str(i + 1) for i in range(len(plans))]


def _short(tag: str) -> str:
    letter = tag.strip("</>")[0]
    return letter.lower() if tag.startswith("</") else letter.upper()
