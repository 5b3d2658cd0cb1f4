"""Hand-written cases: one or more per rule of the format, checking the exact codes and where they point."""

from __future__ import annotations

import pytest

from npr.schema import CODES, Block, Plan, Response, Step, format_reward, parse, render, validate

from .samples import CONCLUSION, MULTI, ONE, TWO, block


def codes(text: str) -> list[str]:
    return [v.code for v in validate(text)]


def test_codes_are_stable_and_unique():
    assert len(set(CODES)) == len(CODES) == 15
    assert CODES[0] == "no_blocks"


@pytest.mark.parametrize(
    "text",
    [
        f"{ONE}\n{CONCLUSION}",
        f"{TWO}\n{CONCLUSION}",
        f"{ONE}\n{TWO}\n{ONE}\n{CONCLUSION}",
        MULTI,
        # Whitespace of any amount and kind between tags is fine; so is a conclusion without \boxed.
        f"\n\n  {ONE}\r\n\t\n{TWO}   \nNo boxed answer here.",
        # Bodies may have whitespace around the number and newlines inside.
        "<guideline><plan> 1:  a\nb </plan></guideline><step>1:x</step><takeaway>t</takeaway>c",
    ],
)
def test_valid(text):
    assert validate(text) == []
    assert format_reward(text) == 0.0


def test_multi_block_structure():
    r = parse(MULTI)
    assert r.plans_per_block == (1, 2, 3)
    assert r.is_parallel and not r.blocks[0].is_parallel and r.blocks[1].is_parallel
    assert r.blocks[1].plans[1] == Plan(2, "Use n(n+1)(2n+1)/6 with n = 2.")
    assert r.blocks[1].steps[1] == Step(2, "$\\frac{2\\cdot 3\\cdot 5}{6} = 5$.")
    assert r.blocks[1].takeaway == "Both give 5 ✓."
    assert r.preamble == "" and r.between == ("", "")
    assert r.conclusion == "The sum is \\boxed{5}." and r.boxed == "5"
    assert r.problems == () and not r.truncated


def test_spans_point_at_the_source():
    r = parse(MULTI)
    plan = r.blocks[1].plans[0]
    assert plan.span.of(MULTI) == "<plan>1: Compute $1^2 + 2^2$ directly.</plan>"
    step = r.blocks[2].steps[2]
    assert step.span.of(MULTI) == "<step>\n3: did 3\n</step>"
    b = r.blocks[0]
    assert b.span.of(MULTI).startswith("<guideline>") and b.span.of(MULTI).endswith("</takeaway>")
    assert b.guideline_span.of(MULTI).endswith("</guideline>")
    assert b.takeaway_span is not None and b.takeaway_span.of(MULTI).startswith("<takeaway>")


def test_single_plan_block_is_legal_and_not_parallel():
    r = parse(f"{ONE}\n{CONCLUSION}")
    assert r.plans_per_block == (1,) and not r.is_parallel


def test_plain_chain_of_thought():
    text = "First 12*12 = 144, so \\boxed{144}."
    assert codes(text) == ["no_blocks"]
    assert format_reward(text) == -2.0
    r = parse(text)
    assert r.blocks == () and r.conclusion == text and r.boxed == "144"


def test_empty_text():
    assert codes("") == ["no_blocks"]
    assert codes(" \n ") == ["no_blocks"]


def test_text_before_first_block():
    text = f"Let me think.\n{ONE}\n{CONCLUSION}"
    (v,) = validate(text)
    assert v.code == "stray_text" and v.span.of(text) == "Let me think."
    assert parse(text).preamble == "Let me think."


def test_text_between_blocks():
    text = f"{ONE}\nNow a second round.\n{TWO}\n{CONCLUSION}"
    (v,) = validate(text)
    assert v.code == "stray_text" and v.span.of(text) == "Now a second round."
    assert parse(text).between == ("Now a second round.",)


@pytest.mark.parametrize(
    "text, stray",
    [
        ("<guideline>\nhmm<plan>1: a</plan>\n</guideline>", "hmm"),
        ("<guideline>\n<plan>1: a</plan>\nhmm\n<plan>2: b</plan>\n</guideline>", "hmm"),
        ("<guideline>\n<plan>1: a</plan>\n</guideline>\nfirst I think\n<step>\n1: x\n</step>", "first I think"),
    ],
)
def test_stray_text_inside_a_block(text, stray):
    k = text.count("<plan>")
    steps = "".join(f"\n<step>\n{i}: x\n</step>" for i in range(1, k + 1)) if "<step>" not in text else ""
    full = f"{text}{steps}\n<takeaway>\nt\n</takeaway>\n{CONCLUSION}"
    (v,) = validate(full)
    assert v.code == "stray_text" and v.span.of(full) == stray


def test_stray_text_between_steps_and_before_takeaway():
    base = block("1: a", "2: b", steps=["1: x", "2: y"])
    between_steps = base.replace("</step>\n<step>", "</step>\nand then\n<step>")
    before_takeaway = base.replace("</step>\n<takeaway>", "</step>\nso\n<takeaway>")
    for text, stray in ((between_steps, "and then"), (before_takeaway, "so")):
        full = f"{text}\n{CONCLUSION}"
        (v,) = validate(full)
        assert v.code == "stray_text" and v.span.of(full) == stray


def test_missing_takeaway_last_block():
    text = f"{block('1: a', takeaway=None)}\n{CONCLUSION}"
    assert codes(text) == ["missing_takeaway"]
    r = parse(text)
    assert r.blocks[0].takeaway is None and r.conclusion == CONCLUSION


def test_missing_takeaway_before_next_block():
    text = f"{block('1: a', takeaway=None)}\n{TWO}\n{CONCLUSION}"
    assert codes(text) == ["missing_takeaway"]
    assert parse(text).plans_per_block == (1, 2)


@pytest.mark.parametrize("steps", [["1: x"], ["1: x", "2: y", "3: z"], []])
def test_wrong_step_count(steps):
    text = f"{block('1: a', '2: b', steps=steps)}\n{CONCLUSION}"
    found = codes(text)
    assert "step_count" in found
    assert set(found) <= {"step_count", "unexpected_tag"}  # no steps at all: the takeaway comes too early


def test_takeaway_before_any_step():
    text = f"{block('1: a', steps=[])}\n{CONCLUSION}"
    assert sorted(codes(text)) == ["step_count", "unexpected_tag"]


@pytest.mark.parametrize("plans", [("1: a", "3: b"), ("2: a", "1: b"), ("a", "b"), ("1: a", "1: b"), ("0: a", "1: b")])
def test_plan_numbering(plans):
    text = f"{block(*plans, steps=['1: x', '2: y'])}\n{CONCLUSION}"
    assert set(codes(text)) == {"plan_numbering"}


@pytest.mark.parametrize("steps", [["1: x", "3: y"], ["x", "y"], ["1: x", "1: y"]])
def test_step_numbering(steps):
    text = f"{block('1: a', '2: b', steps=steps)}\n{CONCLUSION}"
    assert set(codes(text)) == {"step_numbering"}


def test_swapped_steps():
    text = f"{block('1: a', '2: b', steps=['2: y', '1: x'])}\n{CONCLUSION}"
    assert codes(text) == ["step_numbering", "step_numbering"]


def test_step_checks_inspect_steps_not_plans():
    # DESIGN 9.3: the reference tested plan text in its step check. Perfect plans must not hide bad steps ...
    bad_steps = f"{block('1: a', '2: b', steps=['1:', 'two'])}\n{CONCLUSION}"
    assert sorted(codes(bad_steps)) == ["empty_step", "step_numbering"]
    # ... and bad plans must not be blamed on good steps.
    bad_plans = f"{block('1:', 'two', steps=['1: x', '2: y'])}\n{CONCLUSION}"
    assert sorted(codes(bad_plans)) == ["empty_plan", "plan_numbering"]


@pytest.mark.parametrize(
    "inner, nested",
    [
        ("<guideline>\n<plan>1: inner</plan>\n</guideline>", ["<guideline>", "<plan>"]),
        ("<plan>1: inner</plan>", ["<plan>"]),
        ("<takeaway>\ninner\n</takeaway>", ["<takeaway>"]),
    ],
)
def test_nested_in_step(inner, nested):
    text = f"{block('1: a', steps=[f'1: x {inner} y'])}\n{CONCLUSION}"
    found = validate(text)
    assert [v.code for v in found] == ["nested_tag"] * len(nested)
    assert [v.span.of(text) for v in found] == nested
    assert parse(text).blocks[0].steps[0].text == f"x {inner} y"


def test_step_in_step():
    # A step's own close tag always closes it (the usual cause is a forgotten </step>), so a complete inner step
    # leaves its tail outside: nesting, then stray text, then a close tag that matches nothing.
    text = f"{block('1: a', steps=['1: x <step>2: inner</step> y'])}\n{CONCLUSION}"
    assert codes(text) == ["nested_tag", "stray_text", "unmatched_close"]
    two = block("1: a", "2: b", steps=["1: x", "2: y"])
    forgotten_close = two.replace("1: x\n</step>", "1: x") + "\n" + CONCLUSION
    assert codes(forgotten_close) == ["step_count", "nested_tag"]


def test_nested_in_plan_and_takeaway():
    in_plan = f"{block('1: a <step>x</step>', steps=['1: x'])}\n{CONCLUSION}"
    assert codes(in_plan) == ["nested_tag"]
    in_takeaway = f"{block('1: a', takeaway='t <guideline> u')}\n{CONCLUSION}"
    assert codes(in_takeaway) == ["nested_tag"]


def test_step_inside_guideline():
    text = "<guideline>\n<plan>1: a</plan>\n<step>\n1: x\n</step>\n</guideline>\n<step>\n1: x\n</step>\n"
    text += f"<takeaway>\nt\n</takeaway>\n{CONCLUSION}"
    assert codes(text) == ["nested_tag"]


@pytest.mark.parametrize("close", ["</step>", "</plan>", "</guideline>", "</takeaway>"])
def test_unmatched_close(close):
    text = f"{ONE}\n{close}\n{CONCLUSION}"
    (v,) = validate(text)
    assert v.code == "unmatched_close" and v.span.of(text) == close


def test_unmatched_close_inside_step():
    text = f"{block('1: a', steps=['1: x </plan> y'])}\n{CONCLUSION}"
    assert codes(text) == ["unmatched_close"]


def test_plan_closed_by_guideline_close():
    text = f"<guideline>\n<plan>1: a\n</guideline>\n<step>\n1: x\n</step>\n<takeaway>\nt\n</takeaway>\n{CONCLUSION}"
    assert codes(text) == ["unclosed_tag"]
    assert parse(text).blocks[0].plans == (Plan(1, "a"),)


def test_unclosed_at_end():
    text = f"{ONE}\n<guideline>\n<plan>1: a</plan>\n</guideline>\n<step>\n1: cut here"
    (v,) = validate(text)
    assert v.code == "unclosed_tag" and v.span.of(text) == "<step>\n1: cut here"
    r = parse(text)
    assert r.truncated and r.blocks[1].open_element == "step" and r.blocks[1].steps[0].text == "cut here"


@pytest.mark.parametrize(
    "misplaced",
    [
        "<plan>1: a</plan>",  # a plan outside a guideline
        "<step>\n2: more\n</step>",  # a step after the block's takeaway
        "<takeaway>\nagain\n</takeaway>",  # a second takeaway
    ],
)
def test_unexpected_tag(misplaced):
    text = f"{ONE}\n{misplaced}\n{CONCLUSION}"
    (v,) = validate(text)
    assert v.code == "unexpected_tag" and v.span.of(text) == misplaced.split(">")[0] + ">"


def test_unexpected_tag_before_any_block():
    text = f"<step>\n1: x\n</step>\n{ONE}\n{CONCLUSION}"
    assert codes(text) == ["unexpected_tag"]


def test_no_plans():
    text = f"<guideline>\n</guideline>\n<step>\n1: x\n</step>\n<takeaway>\nt\n</takeaway>\n{CONCLUSION}"
    assert codes(text) == ["no_plans"]


def test_empty_plan_step_takeaway():
    assert codes(f"{block('1:  ', steps=['1: x'])}\n{CONCLUSION}") == ["empty_plan"]
    assert codes(f"{block('1: a', steps=['1:'])}\n{CONCLUSION}") == ["empty_step"]
    assert codes(f"{block('1: a', takeaway=' ')}\n{CONCLUSION}") == ["empty_takeaway"]
    assert parse(f"{block('1: a', takeaway='')}\n{CONCLUSION}").blocks[0].takeaway == ""


def test_missing_conclusion():
    for text in (ONE, f"{ONE}\n{TWO}\n \n"):
        assert codes(text) == ["missing_conclusion"]


def test_missing_boxed_is_not_a_violation():
    assert validate(f"{ONE}\nThe answer is forty-two.") == []
    assert parse(f"{ONE}\nThe answer is forty-two.").boxed is None


def test_several_failures_are_all_reported_in_order():
    text = f"intro\n{block('1: a', '2: b', steps=['1: x'], takeaway=None)}\n</plan>"
    found = validate(text)
    assert [v.code for v in found] == ["stray_text", "step_count", "missing_takeaway", "unmatched_close"]
    starts = [v.span.start for v in found]
    assert starts == sorted(starts)


def test_tag_lookalikes_are_text():
    text = f"{block('1: compare <plans> and < step >', steps=['1: a <b> c'])}\n<guideline > is not a tag"
    assert validate(text) == []


def test_number_parsing():
    r = parse(
        "<guideline><plan>12: x</plan><plan>1234567890: y</plan><plan>١: z</plan></guideline>"
        "<step>\n 3 : w\n</step>"
    )
    plans = r.blocks[0].plans
    assert plans[0] == Plan(12, "x")
    assert plans[1] == Plan(None, "1234567890: y")  # too long to be a plan number
    assert plans[2] == Plan(None, "١: z")  # only ASCII digits number a plan
    assert r.blocks[0].steps[0] == Step(None, "3 : w")


def test_render_canonical_shape():
    r = Response(
        blocks=[Block(plans=[Plan(1, "a"), Plan(2, "b")], steps=[Step(1, "x"), Step(2, "y")], takeaway="t")],
        conclusion="\\boxed{1}",
    )
    assert render(r) == (
        "<guideline>\n<plan>1: a</plan>\n<plan>2: b</plan>\n</guideline>\n"
        "<step>\n1: x\n</step>\n<step>\n2: y\n</step>\n<takeaway>\nt\n</takeaway>\n\\boxed{1}"
    )
    assert parse(render(r)) == r
    assert r.boxed == "1"


def test_render_blocks_and_unnumbered_bodies():
    b = Block(plans=[Plan(None, "a")], steps=[Step(None, "x")], takeaway=None)
    r = Response(blocks=[b, b], preamble="pre", between=["mid"], conclusion="end")
    text = render(r)
    assert text == (
        "pre\n<guideline>\n<plan>a</plan>\n</guideline>\n<step>\nx\n</step>\nmid\n"
        "<guideline>\n<plan>a</plan>\n</guideline>\n<step>\nx\n</step>\nend"
    )
    assert parse(text) == r


def test_equality_ignores_spans_and_accepts_lists():
    a = Block(plans=[Plan(1, "a")], steps=(Step(1, "x"),), takeaway="t")
    b = Block(plans=(Plan(1, "a", span=parse(ONE).blocks[0].plans[0].span),), steps=[Step(1, "x")], takeaway="t")
    assert a == b
    assert Response(blocks=[a, a], conclusion="c").between == ("",)
