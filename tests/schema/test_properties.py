"""Property tests: total functions on arbitrary text, and round trips on generated valid structures."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npr.schema import (
    SEVERITY,
    TAGS,
    Block,
    Plan,
    Response,
    Step,
    format_reward,
    last_boxed,
    parse,
    render,
    validate,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TAG_RE = re.compile("|".join(re.escape(t) for t in TAGS))

SNIPPETS = [
    "\n", " ", "1: ", "2:", "x", "\\boxed{", "}", "{", "\\boxed 7", "\\fbox{a}", "<", ">", "</", "<ste", "p>",
    "é∑", "\r\n", "\t", "\\{", "$",
]  # fmt: skip

#: Text made mostly of tags and the pieces that sit between them, so that the parser's states all get visited.
tag_soup = st.lists(st.sampled_from(list(TAGS) + SNIPPETS) | st.text(max_size=5), max_size=60).map("".join)
any_text = st.text(max_size=300) | tag_soup


def _ends_in_tag_fragment(text: str) -> bool:
    start = text.rfind("<")
    return start >= 0 and any(t.startswith(text[start:]) and t != text[start:] for t in TAGS)


# Free text for generated structures: no tags, no surrounding whitespace, non-empty.
content = st.text(min_size=1, max_size=40).filter(lambda t: t == t.strip() and t and not TAG_RE.search(t))
# A conclusion also must not end halfway through a tag, which reads as a cut-off response.
conclusion = content.filter(lambda t: not _ends_in_tag_fragment(t))


@st.composite
def blocks(draw) -> Block:
    k = draw(st.integers(1, 5))
    plans = [Plan(i, draw(content)) for i in range(1, k + 1)]
    steps = [Step(i, draw(content)) for i in range(1, k + 1)]
    return Block(plans=plans, steps=steps, takeaway=draw(content))


valid_responses = st.builds(
    lambda bs, c: Response(blocks=bs, conclusion=c), st.lists(blocks(), min_size=1, max_size=4), conclusion
)


@SETTINGS
@given(any_text)
def test_total_on_arbitrary_text(text):
    response = parse(text)
    found = validate(text)
    reward = format_reward(text)
    assert reward == 0.0 or -2.0 <= reward < 0.0
    assert (reward == 0.0) == (found == [])
    assert all(v.code in SEVERITY for v in found)
    assert all(0 <= v.span.start <= v.span.end <= len(text) for v in found)
    render(response)  # rendering whatever was parsed never raises
    last_boxed(text)


@SETTINGS
@given(any_text)
def test_spans_are_in_bounds_and_ordered(text):
    response = parse(text)
    previous_end = 0
    for block in response.blocks:
        assert previous_end <= block.span.start <= block.span.end <= len(text)
        assert text.startswith("<guideline>", block.span.start)
        previous_end = block.span.end
        for element in (*block.plans, *block.steps):
            assert block.span.start <= element.span.start <= element.span.end <= block.span.end


@SETTINGS
@given(valid_responses)
def test_round_trip_of_valid_structures(response):
    text = render(response)
    assert parse(text) == response
    assert validate(text) == []
    assert format_reward(text) == 0.0
    assert parse(text).boxed == last_boxed(response.conclusion)
    assert render(parse(text)) == text


@SETTINGS
@given(valid_responses, st.data())
def test_deleting_any_one_tag_breaks_validity(response, data):
    text = render(response)
    matches = list(TAG_RE.finditer(text))
    m = data.draw(st.sampled_from(matches))
    broken = text[: m.start()] + text[m.end() :]
    assert validate(broken) != []
    assert -2.0 <= format_reward(broken) < 0.0


@SETTINGS
@given(valid_responses, st.sampled_from(["plan", "step"]), st.data())
def test_renumbering_one_element_is_caught(response, kind, data):
    b = data.draw(st.integers(0, len(response.blocks) - 1))
    block = response.blocks[b]
    items = list(block.plans if kind == "plan" else block.steps)
    i = data.draw(st.integers(0, len(items) - 1))
    wrong = data.draw(st.integers(0, 99).filter(lambda n: n != i + 1))
    items[i] = type(items[i])(wrong, items[i].text)
    changed = Block(
        plans=items if kind == "plan" else block.plans,
        steps=items if kind == "step" else block.steps,
        takeaway=block.takeaway,
    )
    blocks_ = list(response.blocks)
    blocks_[b] = changed
    text = render(Response(blocks=blocks_, conclusion=response.conclusion))
    assert {v.code for v in validate(text)} == {f"{kind}_numbering"}
