"""npr.topology against the slow reference (tests/topology/reference.py) on random trajectories."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from npr.topology import layout

from .conftest import TOY_TAGS, toks
from .reference import ref_positions, ref_pred, ref_visible

WORD = st.integers(min_value=0, max_value=50)


@st.composite
def trajectories(draw):
    """Random (ids, labels, prompt_len); labels are (kind, block, branch) per token, made without npr.topology."""
    ids, labels = [], []

    def put(parts, label):
        ids.extend(toks(*parts))
        labels.extend([label] * len(parts))

    prompt_len = draw(st.integers(0, 3))
    put(draw(st.lists(WORD, min_size=prompt_len, max_size=prompt_len)), ("prompt", None, None))
    put(draw(st.lists(WORD, max_size=2)), ("text", None, None))
    for b in range(draw(st.integers(1, 3))):
        k = draw(st.integers(1, 4))
        plans = ["<guideline>"]
        for _ in range(k):
            plans += ["<plan>", *draw(st.lists(WORD, max_size=2)), "</plan>"]
        put(plans + ["</guideline>"], ("guideline", b, None))
        for i in range(k):
            lead = draw(st.lists(WORD, max_size=2))
            body = draw(st.lists(WORD, max_size=6))
            put(lead + ["<step>"] + body + ["</step>"], ("step", b, i))
        side = draw(st.lists(WORD, max_size=2)) + ["<takeaway>"] + draw(st.lists(WORD, max_size=3)) + ["</takeaway>"]
        put(side + draw(st.lists(WORD, max_size=2)), ("takeaway", b, None))
    cut = draw(st.integers(prompt_len, len(ids)))
    ids, labels = ids[:cut], labels[:cut]
    # A step whose <step> tag was cut off has not begun: its leading tokens fall to the takeaway side.
    if labels and labels[-1][0] == "step":
        j = len(labels)
        while j > 0 and labels[j - 1] == labels[-1]:
            j -= 1
        if toks("<step>")[0] not in ids[j:]:
            labels[j:] = [("text", None, None)] * (len(labels) - j)
    return ids, labels, prompt_len


@settings(max_examples=150, deadline=None)
@given(trajectories())
def test_layout_matches_reference(case):
    ids, labels, prompt_len = case
    lay = layout(ids, TOY_TAGS, prompt_len)
    n = len(ids)
    kinds = [(s.kind.value, s.block, s.branch) for s in lay.segments for _ in range(len(s))]
    assert [k[0] == "step" and (k[1], k[2]) for k in kinds] == [lab[0] == "step" and (lab[1], lab[2]) for lab in labels]
    expect = torch.tensor([[ref_visible(labels, q, p) for p in range(n)] for q in range(n)], dtype=torch.bool).reshape(n, n)
    assert lay.dense_mask().equal(expect)
    assert lay.position_ids.tolist() == ref_positions(labels)
    assert lay.pred.tolist() == ref_pred(labels)
