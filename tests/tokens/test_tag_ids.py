"""TagIds and add_tags on the real Qwen3 tokenizer: one id per tag, consecutive, lossless round trip."""

from __future__ import annotations

import copy
import dataclasses
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import AutoTokenizer

from npr.schema.tags import TAGS
from npr.tokens import TagIds, add_tags

QWEN3_LEN = 151669

TRAJECTORY = (
    "<guideline>\n<plan>1: Try small cases.</plan>\n<plan>2: Look for an invariant.</plan>\n</guideline>\n"
    "<step>\n1: For n=1 the sum is 1; for n=2 it is 4.</step>\n<step>\n2: Each term adds 2n-1.</step>\n"
    "<takeaway>\nThe sum of the first n odd numbers is n^2.\n</takeaway>\n"
    "<guideline>\n<plan>1: Check n=3.</plan>\n</guideline>\n<step>\n1: 1+3+5=9.</step>\n"
    "<takeaway>\nConfirmed.</takeaway>\nSo the answer is \\boxed{n^2}."
)


@pytest.fixture(scope="module")
def tagged(qwen3_tokenizer):
    """A module-private copy of the Qwen3 tokenizer with the tags added (and their TagIds)."""
    tok = copy.deepcopy(qwen3_tokenizer)
    return tok, add_tags(None, tok)


def test_tags_are_single_consecutive_ids_in_order(tagged):
    tok, ids = tagged
    assert len(tok) == QWEN3_LEN + len(TAGS)
    assert ids.all == tuple(range(QWEN3_LEN, QWEN3_LEN + len(TAGS)))
    for tag, tid in zip(TAGS, ids.all):
        assert tok.encode(tag, add_special_tokens=False) == [tid]
        assert tok.convert_ids_to_tokens(tid) == tag
        assert tok.decode([tid]) == tag
    assert TagIds.from_tokenizer(tok) == ids


def test_existing_special_tokens_are_kept(tagged, qwen3_tokenizer):
    tok, _ = tagged
    assert tok.extra_special_tokens == qwen3_tokenizer.extra_special_tokens
    assert tok.convert_tokens_to_ids("<|im_start|>") == 151644
    assert tok.encode("<|im_start|>", add_special_tokens=False) == [151644]


def test_trajectory_round_trip(tagged):
    tok, ids = tagged
    encoded = tok.encode(TRAJECTORY, add_special_tokens=False)
    tag_positions = [i for i, t in enumerate(encoded) if ids.is_tag(t)]
    assert [ids.name_of(encoded[i]) for i in tag_positions] == _tags_in(TRAJECTORY)
    assert tok.decode(encoded) == TRAJECTORY
    # Text glued to a tag stays outside it: "is 4.</step>" must not merge the tag with the period.
    assert tok.encode("4.</step>", add_special_tokens=False)[-1] == ids.step_close


# Qwen's normalizer applies NFC, so only NFC-stable text can round-trip; "<" is left out so no tag appears by chance,
# and lone surrogates (category Cs) are left out because they are not encodable text at all.
_CHUNKS = st.text(alphabet=st.characters(blacklist_characters="<", blacklist_categories=("Cs",)), max_size=12).filter(
    lambda s: unicodedata.normalize("NFC", s) == s
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_CHUNKS, st.sampled_from(TAGS)), max_size=8))
def test_any_text_between_tags_round_trips(tagged, pieces):
    tok, ids = tagged
    text = "".join(chunk + tag for chunk, tag in pieces)
    encoded = tok.encode(text, add_special_tokens=False)
    assert [ids.name_of(t) for t in encoded if ids.is_tag(t)] == [tag for _, tag in pieces]
    assert tok.decode(encoded) == text


def test_tags_survive_save_and_reload(tagged, tmp_path):
    tok, ids = tagged
    tok.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert TagIds.from_tokenizer(reloaded) == ids
    assert reloaded.decode(reloaded.encode(TRAJECTORY, add_special_tokens=False)) == TRAJECTORY


def test_from_tokenizer_without_tags_says_what_to_do(qwen3_tokenizer):
    with pytest.raises(ValueError, match=r"'<guideline>'.*add_tags"):
        TagIds.from_tokenizer(qwen3_tokenizer)


def test_add_tags_on_tokenizer_only_is_idempotent(fresh_qwen3_tokenizer):
    tok = fresh_qwen3_tokenizer
    first = add_tags(None, tok)
    assert add_tags(None, tok) == first
    assert len(tok) == QWEN3_LEN + len(TAGS)


def test_tag_ids_helpers():
    ids = TagIds(*range(100, 108))
    assert ids.all == tuple(range(100, 108))
    assert ids.step_close == 105
    assert ids.name_of(105) == "</step>" and ids.name_of(7) is None
    assert ids.is_tag(100) and not ids.is_tag(99)
    assert ids.id_of("<takeaway>") == 106
    assert list(ids.as_dict()) == list(TAGS)
    assert {ids: "ok"}[TagIds(*range(100, 108))] == "ok"  # hashable, equal by value
    with pytest.raises(dataclasses.FrozenInstanceError):
        ids.step_open = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="not an NPR tag"):
        ids.id_of("<think>")


def test_tag_ids_reject_bad_ids():
    with pytest.raises(ValueError, match="distinct"):
        TagIds(1, 1, 2, 3, 4, 5, 6, 7)
    with pytest.raises(ValueError, match="non-negative"):
        TagIds(-1, 1, 2, 3, 4, 5, 6, 7)


def _tags_in(text: str) -> list[str]:
    found = []
    i = 0
    while i < len(text):
        tag = next((t for t in TAGS if text.startswith(t, i)), None)
        if tag:
            found.append(tag)
            i += len(tag)
        else:
            i += 1
    return found
