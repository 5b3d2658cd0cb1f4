"""add_tags on tiny models: grows but never shrinks the table, keeps old rows bitwise, initialises new tag rows."""

from __future__ import annotations

import pytest
import torch

from npr.schema.tags import TAGS, bare_word
from npr.tokens import add_tags

QWEN3_LEN = 151669
QWEN3_ROWS = 151936  # Qwen3's real table: larger than its tokenizer


def _snapshot(model) -> dict[str, torch.Tensor]:
    head = model.get_output_embeddings()
    snap = {"embed": model.get_input_embeddings().weight.detach().clone(), "head": head.weight.detach().clone()}
    if getattr(head, "bias", None) is not None:
        snap["bias"] = head.bias.detach().clone()
    return snap


def _expected_rows(tok, old: torch.Tensor) -> torch.Tensor:
    """[8, H] (or [8] for a bias): the mean of the old rows of each tag's bare word."""
    rows = [old[tok.encode(bare_word(tag), add_special_tokens=False)].mean(dim=0) for tag in TAGS]
    return torch.stack(rows)


CASES = [
    pytest.param("qwen3", False, QWEN3_LEN, id="qwen3-untied-grow"),
    pytest.param("qwen3", False, QWEN3_ROWS, id="qwen3-untied-no-shrink"),
    pytest.param("qwen3", True, QWEN3_LEN, id="qwen3-tied-grow"),
    pytest.param("qwen3", True, QWEN3_ROWS, id="qwen3-tied-no-shrink"),
    pytest.param("llama", False, QWEN3_LEN, id="llama-untied-grow"),
    pytest.param("llama", True, QWEN3_ROWS, id="llama-tied-no-shrink"),
]


@pytest.mark.parametrize(("arch", "tie", "rows"), CASES)
def test_resize_keeps_old_rows_and_initialises_tags(fresh_qwen3_tokenizer, tiny_qwen3, tiny_llama, arch, tie, rows):
    tok = fresh_qwen3_tokenizer
    model = (tiny_qwen3 if arch == "qwen3" else tiny_llama)(rows, tie_word_embeddings=tie)
    before = _snapshot(model)

    ids = add_tags(model, tok)

    embed, head = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    expected_rows = max(rows, len(tok))
    assert embed.shape[0] == head.shape[0] == model.config.vocab_size == expected_rows
    assert (head is embed) == tie
    tag_rows = torch.tensor(ids.all)
    keep = torch.ones(expected_rows, dtype=torch.bool)
    keep[tag_rows] = False
    keep_old = keep[:rows]
    # Old rows bitwise unchanged (for "no-shrink" the tag ids fall inside the old table; skip exactly those rows).
    assert torch.equal(embed[:rows][keep_old], before["embed"][keep_old])
    assert torch.equal(head[:rows][keep_old], before["head"][keep_old])
    torch.testing.assert_close(embed[tag_rows], _expected_rows(tok, before["embed"]), rtol=0, atol=1e-6)
    source = before["embed"] if tie else before["head"]
    torch.testing.assert_close(head[tag_rows], _expected_rows(tok, source), rtol=0, atol=1e-6)
    if not tie:  # the head rows really came from the head: they differ from the embedding rows
        assert not torch.allclose(head[tag_rows], embed[tag_rows])

    prompt = tok.encode("<guideline>\n<plan>1: x</plan>\n</guideline>\n<step>", add_special_tokens=False)
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt])).logits
    assert logits.shape == (1, len(prompt), expected_rows) and torch.isfinite(logits).all()


def test_head_bias_row_initialised(fresh_qwen3_tokenizer, tiny_llama):
    tok = fresh_qwen3_tokenizer
    model = tiny_llama(tokenizer=tok)  # vocabulary = len(tok) = QWEN3_LEN
    assert model.config.vocab_size == QWEN3_LEN
    with torch.no_grad():
        model.lm_head = torch.nn.Linear(64, QWEN3_LEN, bias=True)
        model.lm_head.bias.normal_()
    before = _snapshot(model)
    ids = add_tags(model, tok)
    bias = model.get_output_embeddings().bias
    assert bias.shape[0] == len(tok)
    assert torch.equal(bias[:QWEN3_LEN], before["bias"])
    torch.testing.assert_close(bias[list(ids.all)], _expected_rows(tok, before["bias"]), rtol=0, atol=1e-6)


@pytest.mark.parametrize("rows", [QWEN3_LEN, QWEN3_ROWS], ids=["grow", "no-shrink"])
def test_second_call_changes_nothing(fresh_qwen3_tokenizer, tiny_qwen3, rows):
    tok = fresh_qwen3_tokenizer
    model = tiny_qwen3(rows)
    first = add_tags(model, tok)
    after_first, n_tokens = _snapshot(model), len(tok)
    with torch.no_grad():  # training moves the tag rows; a second call must not reset them
        model.model.embed_tokens.weight[first.step_open] += 1.0
    moved = model.model.embed_tokens.weight[first.step_open].clone()

    assert add_tags(model, tok) == first
    assert len(tok) == n_tokens and model.config.vocab_size == max(rows, n_tokens)
    assert torch.equal(model.model.embed_tokens.weight[first.step_open], moved)
    assert torch.equal(model.lm_head.weight, after_first["head"])


def test_tokenizer_with_tags_and_untrained_model(fresh_qwen3_tokenizer, tiny_qwen3):
    """An NPR tokenizer with a base model: rows the table lacked are created and initialised; others need force_init."""
    tok = fresh_qwen3_tokenizer
    ids = add_tags(None, tok)

    small = tiny_qwen3(QWEN3_LEN)
    old = _snapshot(small)
    add_tags(small, tok)
    torch.testing.assert_close(small.model.embed_tokens.weight[list(ids.all)], _expected_rows(tok, old["embed"]))

    large = tiny_qwen3(QWEN3_ROWS)
    old = _snapshot(large)
    add_tags(large, tok)
    assert torch.equal(large.model.embed_tokens.weight, old["embed"])  # present tags, rows existed: untouched
    add_tags(large, tok, force_init=True)
    torch.testing.assert_close(large.model.embed_tokens.weight[list(ids.all)], _expected_rows(tok, old["embed"]))

