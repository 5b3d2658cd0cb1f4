"""Cutting a valid multi-block response at every character offset."""

from __future__ import annotations

from npr.schema import format_reward, parse, validate

from .samples import MULTI

CONCLUSION_START = MULTI.index("The sum is")


def test_full_text_is_valid():
    assert validate(MULTI) == []


def test_every_prefix_parses_and_every_prefix_before_the_conclusion_is_invalid():
    for cut in range(len(MULTI)):
        prefix = MULTI[:cut]
        found = validate(prefix)  # must not raise
        reward = format_reward(prefix)
        if cut <= CONCLUSION_START:
            assert found, f"prefix of length {cut} is accepted: ...{prefix[-30:]!r}"
            assert -2.0 <= reward < 0.0
        else:
            # A cut inside the conclusion leaves a shorter, still non-empty conclusion: a valid response.
            assert found == [] and reward == 0.0


def test_cut_inside_an_element_is_only_unclosed_tag():
    full = parse(MULTI)
    elements = [e.span for b in full.blocks for e in (*b.plans, *b.steps)]
    elements += [b.takeaway_span for b in full.blocks if b.takeaway_span is not None]
    assert len(elements) == 6 + 6 + 3
    for span in elements:
        open_end = MULTI.index(">", span.start) + 1
        for cut in range(open_end, span.end):  # after the open tag, up to just before the close tag is complete
            found = {v.code for v in validate(MULTI[:cut])}
            assert found == {"unclosed_tag"}, (cut, MULTI[span.start : cut])


def test_cut_block_keeps_what_was_written():
    cut = MULTI.index("2: $\\frac") + 5
    r = parse(MULTI[:cut])
    assert r.truncated
    assert r.plans_per_block == (1, 2)
    last = r.blocks[-1]
    assert last.open_element == "step" and len(last.steps) == 2 and last.steps[1].number == 2
    assert r.conclusion == "" and r.boxed is None


def test_cut_inside_a_tag_between_blocks():
    cut = MULTI.index("<guideline>", 10) + 4  # "...</takeaway>\n<gui"
    found = validate(MULTI[:cut])
    assert [v.code for v in found] == ["unclosed_tag"]
    assert found[0].span.of(MULTI[:cut]) == "<gui"
