"""ChoiceStream against the obvious reference: reasoning is the response text up to the end of its last block,
content is the rest without the EOS and outer whitespace - whatever order the branches' tokens arrive in."""

from __future__ import annotations

import random

import pytest

from npr.engine import SamplingParams
from npr.serve.stream import ChoiceStream, Detokenizer, _ContentGate
from tests.serve.conftest import SteeredEngine


def reference(engine, traj):
    ids = [t for t in traj.response_ids if t not in engine.stop_ids]
    text = engine.tokenizer.decode(ids, skip_special_tokens=False)
    end = text.rfind("</takeaway>")
    if text.rfind("<guideline>") > end:  # cut off inside a block: all of it is reasoning (one-block answers here)
        return text, ""
    if end < 0:
        return "", text.strip()
    end += len("</takeaway>")
    return text[:end], text[end:].strip()


def run(engine, mode="parallel", seed=0, max_tokens=200, shuffle=None):
    stream = ChoiceStream(engine.tokenizer, engine.tags, engine.stop_ids)
    reasoning = content = ""
    traj = None
    for e in engine.stream(["What is 27 + 15?"], SamplingParams(seed=seed, max_tokens=max_tokens), mode=mode):
        if e.kind == "finish":
            traj = e.trajectory
        batch = [e]
        d = stream.feed(batch)
        reasoning, content = reasoning + d.reasoning, content + d.content
    d = stream.finish()
    return traj, reasoning + d.reasoning, content + d.content, stream


@pytest.fixture(scope="module")
def engines(npr_tokenizer, tiny_qwen3):
    from npr.engine import Engine, EngineConfig

    model = tiny_qwen3(len(npr_tokenizer), attn_implementation="sdpa")
    return SteeredEngine(model, npr_tokenizer, EngineConfig(kv_budget=4096)), Engine(model, npr_tokenizer, EngineConfig(kv_budget=4096))


def test_a_parallel_answer_splits_into_canonical_reasoning_and_content(engines):
    steered, _ = engines
    traj, reasoning, content, stream = run(steered)
    assert (reasoning, content) == reference(steered, traj)
    assert stream.tokens == traj.stats["total_tokens"]


@pytest.mark.parametrize("budget", [30, 60, 75, 90])
def test_an_answer_cut_anywhere_keeps_every_token(engines, budget):
    steered, _ = engines
    traj, reasoning, content, _ = run(steered, max_tokens=budget)
    assert traj.finish_reason == "length"
    assert (reasoning, content) == reference(steered, traj)


def test_a_response_without_blocks_is_all_content(engines):
    _, plain = engines
    traj, reasoning, content, _ = run(plain, mode="sequential", seed=3, max_tokens=40)
    assert reasoning == "" and content == reference(plain, traj)[1]


def test_branch_tokens_in_any_arrival_order_give_the_same_text(engines):
    steered, _ = engines
    events = list(steered.stream(["q"], SamplingParams(seed=0, max_tokens=200)))
    traj = events[-1].trajectory
    fork = next(i for i, e in enumerate(events) if e.kind == "fork")
    join = next(i for i, e in enumerate(events) if e.kind == "join")
    # the branch tokens between fork and join, shuffled across branches but in order within each branch
    inside = events[fork + 1 : join]
    rng = random.Random(0)
    for _ in range(5):
        per = {}
        for e in inside:
            per.setdefault(e.branch, []).append(e)
        order = [b for b, es in per.items() for _ in es]
        rng.shuffle(order)
        shuffled = [per[b].pop(0) for b in order]
        stream = ChoiceStream(steered.tokenizer, steered.tags, steered.stop_ids)
        out = [stream.feed([e]) for e in events[: fork + 1] + shuffled + events[join:]] + [stream.finish()]
        assert ("".join(d.reasoning for d in out), "".join(d.content for d in out)) == reference(steered, traj)


def test_the_detokenizer_waits_for_the_last_byte_of_a_character(npr_tokenizer):
    text = "héllo 世界 🎉 done"
    det = Detokenizer(npr_tokenizer)
    pieces = [det.add(t) for t in npr_tokenizer.encode(text, add_special_tokens=False)]
    assert "".join(pieces) + det.flush() == text
    assert all("\ufffd" not in p for p in pieces)


@pytest.mark.parametrize("chunks, stops, expected", [
    (["So the answer", " is 4", ".", " STOP", " more"], ["STOP"], "So the answer is 4."),
    (["ab", "cS", "T", "OPxyz"], ["STOP"], "abc"),
    (["  lead", "ing  ", " "], [], "leading"),
    (["a S", "TOOP b"], ["STOP"], "a STOOP b"),
    (["x\n\n", "END", "y"], ["END", "zzz"], "x"),
])  # fmt: skip
def test_the_content_gate(chunks, stops, expected):
    gate = _ContentGate(stops)
    assert "".join(gate.push(c) for c in chunks) + gate.end() == expected
