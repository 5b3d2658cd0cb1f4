"""Hand-checked segments, positions, visibility and prediction sources on small symbolic trajectories."""

from __future__ import annotations

import pytest
import torch

from npr.topology import SegmentKind, TopologyError, layout, pack

from .conftest import toks

NL, A, B, C, X, Y, W = 1, 2, 3, 4, 5, 6, 7
P = 9  # a prompt word

# prompt(2) | <guideline> <plan> W </plan> <plan> W </plan> </guideline> | \n <step> A </step> | \n <step> B C </step>
# | \n <takeaway> X </takeaway> | Y
TWO_BRANCH = toks(
    P, P,
    "<guideline>", "<plan>", W, "</plan>", "<plan>", W, "</plan>", "</guideline>",
    NL, "<step>", A, "</step>",
    NL, "<step>", B, C, "</step>",
    NL, "<takeaway>", X, "</takeaway>",
    Y,
)  # fmt: skip


def kinds(lay):
    return [(s.kind.value, s.start, s.end, s.block, s.branch) for s in lay.segments]


def test_two_branch_segments(tags):
    lay = layout(TWO_BRANCH, tags, prompt_len=2)
    assert kinds(lay) == [
        ("prompt", 0, 2, None, None),
        ("guideline", 2, 10, 0, None),
        ("step", 10, 14, 0, 0),
        ("step", 14, 19, 0, 1),
        ("takeaway", 19, 23, 0, None),
        ("text", 23, 24, None, None),
    ]


def test_two_branch_positions(tags):
    lay = layout(TWO_BRANCH, tags, prompt_len=2)
    # g = 9 (</guideline>); both steps start at 10; step ends are 13 and 14, so the takeaway side starts at 15.
    expected = list(range(10)) + [10, 11, 12, 13] + [10, 11, 12, 13, 14] + [15, 16, 17, 18] + [19]
    assert lay.position_ids.tolist() == expected


def test_two_branch_visibility_and_pred(tags):
    lay = layout(TWO_BRANCH, tags, prompt_len=2)
    m = lay.dense_mask()
    step0, step1 = range(10, 14), range(14, 19)
    for q in step1:
        assert not m[q, list(step0)].any(), "step 2 must not see step 1, its leading newline included"
        assert m[q, :10].all()
    for q in step0:
        assert not m[q, list(step1)].any()  # also excluded causally, but the rule holds either way
    assert m[19, :20].all(), "the takeaway sees both steps"
    assert m[23, :24].all()
    assert not m.triu(1).any(), "nothing sees the future"
    pred = lay.pred.tolist()
    assert pred[0] == -1
    assert pred[14] == 9, "step 2's first token is predicted from </guideline>"
    assert pred[19] == 18, "the first takeaway token is predicted from the last step's last token"
    assert all(pred[i] == i - 1 for i in range(1, 24) if i != 14)
    assert lay.response_mask.tolist() == [False, False] + [True] * 22


def test_unequal_branches_take_max_end(tags):
    ids = toks("<guideline>", "<plan>", "</plan>", "<plan>", "</plan>", "<plan>", "</plan>", "</guideline>",
               "<step>", A, A, A, A, "</step>", "<step>", B, "</step>", "<step>", C, C, "</step>", X)  # fmt: skip
    lay = layout(ids, tags, prompt_len=0)
    g = 7
    assert lay.position_ids[8:14].tolist() == list(range(g + 1, g + 7))
    assert lay.position_ids[14:17].tolist() == [g + 1, g + 2, g + 3]
    assert lay.position_ids[17:21].tolist() == [g + 1, g + 2, g + 3, g + 4]
    assert lay.position_ids[21].item() == 1 + (g + 6), "1 + the longest branch's end, not the last branch's"
    assert lay.pred[14].item() == g and lay.pred[17].item() == g
    # No leading whitespace: each step starts at its own <step>.
    assert [(s.start, s.end) for s in lay.segments if s.kind is SegmentKind.STEP] == [(8, 14), (14, 17), (17, 21)]


def test_two_blocks_and_text_between(tags):
    block = ["<guideline>", "<plan>", "</plan>", "</guideline>", "<step>", A, "</step>", "<takeaway>", X, "</takeaway>"]
    ids = toks(*block, NL, *block, Y)
    lay = layout(ids, tags, prompt_len=0)
    segs = kinds(lay)
    assert segs[:3] == [("guideline", 0, 4, 0, None), ("step", 4, 7, 0, 0), ("takeaway", 7, 10, 0, None)]
    assert segs[3] == ("text", 10, 11, None, None)
    assert segs[4:] == [
        ("guideline", 11, 15, 1, None),
        ("step", 15, 18, 1, 0),
        ("takeaway", 18, 21, 1, None),
        ("text", 21, 22, None, None),
    ]
    # A single-plan block is sequential, so all positions run straight through.
    assert lay.position_ids.tolist() == list(range(len(ids)))
    assert lay.dense_mask().equal(torch.ones(len(ids), len(ids), dtype=torch.bool).tril())


def test_later_block_sees_every_earlier_branch(tags):
    ids = toks("<guideline>", "<plan>", "</plan>", "<plan>", "</plan>", "</guideline>",
               "<step>", A, "</step>", "<step>", B, "</step>", "<takeaway>", "</takeaway>",
               "<guideline>", "<plan>", "</plan>", "<plan>", "</plan>", "</guideline>",
               "<step>", C, "</step>", "<step>", X, "</step>")  # fmt: skip
    lay = layout(ids, tags, prompt_len=0)
    m = lay.dense_mask()
    assert m[23:, :14].all(), "block 2's second branch sees both branches of block 1"
    assert not m[23:, 20:23].any(), "but not its own sibling"


def test_whitespace_between_steps_leads_the_next_step(tags):
    # DESIGN §3: in `</guideline>\n<step>…</step>\n<step>…</step>` every step owns exactly one leading newline.
    lay = layout(TWO_BRANCH, tags, prompt_len=2)
    steps = [s for s in lay.segments if s.kind is SegmentKind.STEP]
    assert [TWO_BRANCH[s.start] for s in steps] == [NL, NL]


@pytest.mark.parametrize(
    "ids, index",
    [
        (toks("<guideline>", "</guideline>", "<step>", A, "<step>"), 4),  # step in step
        (toks("<guideline>", "</guideline>", "<step>", "<guideline>"), 3),  # guideline in step
        (toks("<guideline>", "</guideline>", "<step>", "<plan>"), 3),  # plan in step
        (toks(A, "</step>"), 1),  # </step> with no step
        (toks(A, "<step>"), 1),  # step outside a block
        (toks(A, "</guideline>"), 1),
        (toks("<guideline>", "<step>"), 1),  # step inside the guideline
        (toks("<guideline>", "</guideline>", "</step>"), 2),
        (toks("<guideline>", "</guideline>", "<takeaway>", "<takeaway>"), 3),  # nested takeaway
        (toks("<plan>"), 0),
    ],
)
def test_structure_that_cannot_be_laid_out_names_the_token(tags, ids, index):
    with pytest.raises(TopologyError) as err:
        layout(toks(P) + ids, tags, prompt_len=1)
    assert err.value.index == index + 1
    assert f"token {index + 1}" in str(err.value)


def test_prompt_is_never_parsed(tags):
    # A system prompt may quote the tags; they must not open structure.
    ids = toks("<step>", "</guideline>", P, A)
    lay = layout(ids, tags, prompt_len=3)
    assert kinds(lay) == [("prompt", 0, 3, None, None), ("text", 3, 4, None, None)]


def test_truncated_inside_a_step_is_an_open_branch(tags):
    ids = TWO_BRANCH[:17]  # cut after `B` in step 2
    lay = layout(ids, tags, prompt_len=2)
    last = lay.segments[-1]
    assert (last.kind, last.branch, last.closed) == (SegmentKind.STEP, 1, False)
    assert lay.position_ids[14:].tolist() == [10, 11, 12]
    assert not lay.dense_mask()[16, 10:14].any()


def test_truncated_between_steps_goes_to_the_takeaway_side(tags):
    ids = TWO_BRANCH[:15]  # `</step>` then the newline that would lead step 2
    lay = layout(ids, tags, prompt_len=2)
    last = lay.segments[-1]
    assert (last.kind, last.start, last.end) == (SegmentKind.TEXT, 14, 15)
    assert lay.position_ids[14].item() == 14, "1 + the only step's end (13)"


def test_truncated_inside_guideline_and_takeaway(tags):
    lay = layout(TWO_BRANCH[:5], tags, prompt_len=2)
    assert (lay.segments[-1].kind, lay.segments[-1].closed) == (SegmentKind.GUIDELINE, False)
    lay = layout(TWO_BRANCH[:22], tags, prompt_len=2)
    assert (lay.segments[-1].kind, lay.segments[-1].closed) == (SegmentKind.TAKEAWAY, False)


def test_every_prefix_of_a_valid_trajectory_lays_out(tags):
    for cut in range(len(TWO_BRANCH) + 1):
        lay = layout(TWO_BRANCH[:cut], tags, prompt_len=min(2, cut))
        covered = sum(len(s) for s in lay.segments)
        assert covered == cut, "every token belongs to exactly one segment"


def test_zero_step_block_continues_sequentially(tags):
    ids = toks("<guideline>", "</guideline>", NL, "<takeaway>", X, "</takeaway>")
    lay = layout(ids, tags, prompt_len=0)
    assert lay.position_ids.tolist() == list(range(6))
    assert lay.segments[-1].kind is SegmentKind.TAKEAWAY


def test_sequential_mode_is_causal_and_accepts_anything(tags):
    ids = toks(P, "</step>", "<step>", A, "<plan>")
    lay = layout(ids, tags, prompt_len=1, parallel=False)
    assert lay.position_ids.tolist() == list(range(5))
    assert lay.dense_mask().equal(torch.ones(5, 5, dtype=torch.bool).tril())
    assert lay.pred.tolist() == [-1, 0, 1, 2, 3]


def test_bad_prompt_len(tags):
    with pytest.raises(ValueError, match="prompt_len"):
        layout([1, 2], tags, prompt_len=3)


def test_additive_mask_matches_bool(tags):
    lay = layout(TWO_BRANCH, tags, prompt_len=2)
    add = lay.additive_mask(torch.bfloat16)
    assert add.dtype == torch.bfloat16
    assert ((add == 0) == lay.dense_mask()).all()
    assert (add[~lay.dense_mask()] == torch.finfo(torch.bfloat16).min).all()


def test_pack_is_block_diagonal_with_restarting_positions(tags):
    a = layout(TWO_BRANCH, tags, prompt_len=2)
    b = layout(TWO_BRANCH[:17], tags, prompt_len=2)
    row = pack([a, b])
    n = len(a)
    m = row.dense_mask()
    assert m[:n, :n].equal(a.dense_mask()) and m[n:, n:].equal(b.dense_mask())
    assert not m[n:, :n].any() and not m[:n, n:].any()
    assert row.position_ids.tolist() == a.position_ids.tolist() + b.position_ids.tolist()
    assert row.pred[n].item() == -1 and row.pred[n + 14].item() == n + 9
    assert row.doc_ids.tolist() == [0] * n + [1] * len(b)
    assert [s.doc for s in row.segments] == [0] * len(a.segments) + [1] * len(b.segments)
    assert row.segments[len(a.segments)].start == n
    # Packing a packed row with another layout keeps trajectories apart.
    again = pack([row, a])
    assert again.num_docs == 3 and not again.dense_mask()[-1, : len(row)].any()
