"""Bad input, malformed model output and misconfiguration (DESIGN §4): every case ends in a clear error - the
exception type and a message that says what is wrong - or in a clean ``finish_reason``; never a hang or a crash.

Model misbehaviour (no plans, too many plans, a step that never closes, nested tags, EOS inside a step, an illegal
tag outside any element) is produced through real decode steps by steer callables that choose the tokens.
"""

from __future__ import annotations

import math
import re

import pytest

from npr.engine import Engine, EngineConfig, SamplingParams, UnsupportedModel
from npr.schema import tags as T
from npr.topology import SegmentKind, layout

PROMPT = list(range(1000, 1012))
WORD = 1500  # an ordinary token id


@pytest.fixture
def engine(tiny_parts):
    return Engine(*tiny_parts, EngineConfig(kv_budget=2000))


def run(engine: Engine, prompt=PROMPT, params=None, steer=None, mode="parallel", max_steps=400):
    """Submit one request, step it to the end (bounded: a hang fails), check the store, return the trajectory."""
    rid = engine.submit(prompt, params or SamplingParams(seed=0, max_tokens=200), mode, steer=steer)
    for _ in range(max_steps):
        if not engine.has_work():
            break
        engine.step()
        engine.kv.check()
    assert not engine.has_work(), f"the request did not finish within {max_steps} steps"
    traj = engine._results.pop(rid)
    engine.flush_cache()
    assert engine.kv.num_used == 0
    return traj


def response(engine: Engine, traj) -> list[tuple[str, bool]]:
    """The response as (tag text or 'w', sampled) pairs: the structure without the words."""
    return [
        (engine.tags.name_of(t) or "w", s) for t, s in zip(traj.response_ids, traj.sampled[traj.prompt_len :])
    ]


def assert_laid_out(engine: Engine, traj) -> None:
    assert "layout_error" not in traj.stats, traj.stats.get("layout_error")
    assert traj.segments
    lay = layout(traj.token_ids, engine.tags, traj.prompt_len)
    assert lay.position_ids.tolist() == traj.position_ids  # the engine decoded at the topology's positions


class Scripted:
    """A steer from explicit token lists: ``trunk[block]`` for the trunk, ``branch(block, branch)`` for steps.

    Lists are indexed by how many tokens the sequence already has (forced headers included), so a script says
    exactly which token comes at each place. Past the end of its list the trunk writes EOS and a branch ``</step>``.
    """

    def __init__(self, engine: Engine, trunk: dict[int, list[int]], branch=None):
        self.engine, self.trunk, self.branch = engine, trunk, branch
        self.eos = engine.tokenizer.eos_token_id

    def __call__(self, role, block, branch, tokens):
        tags = self.engine.tags
        if role == "trunk":
            forced = len(self.engine._join_header) if block > 0 else 0
            script = self.trunk.get(block, [])
            n = len(tokens) - forced
            return script[n] if n < len(script) else self.eos
        n = len(tokens) - len(self.engine._headers(branch + 1).step[branch])
        return self.branch(block, branch, n) if self.branch else (WORD if n < 3 else tags.step_close)


def guideline(engine: Engine, k: int) -> list[int]:
    t = engine.tags
    return [t.guideline_open] + [t.plan_open, WORD, t.plan_close] * k + [t.guideline_close]


# ---- prompts -----------------------------------------------------------------------------------------------------


def test_empty_prompt(engine):
    with pytest.raises(ValueError, match="empty prompt"):
        engine.submit([])
    with pytest.raises(ValueError, match="empty prompt"):
        engine.generate([[]])
    assert not engine.has_work()


def test_prompt_longer_than_the_kv_budget(tiny_parts):
    engine = Engine(*tiny_parts, EngineConfig(kv_budget=50))
    with pytest.raises(ValueError, match=r"prompt of 50 tokens does not fit in kv_budget=50.*raise .*kv_budget"):
        engine.submit(list(range(1000, 1050)))
    with pytest.raises(ValueError, match="does not fit in kv_budget=50"):
        engine.submit("What is 17 * 23?")  # the chat template and the format instruction make it long
    assert not engine.has_work()


def test_prompt_that_just_fits_the_kv_budget_ends_cleanly(tiny_parts):
    engine = Engine(*tiny_parts, EngineConfig(kv_budget=50))
    traj = run(engine, list(range(1000, 1049)), SamplingParams(seed=0, max_tokens=20))
    assert traj.finish_reason == "length"  # the store has room for the prompt and one response token, no more
    assert 1 <= traj.stats["total_tokens"] <= 2


@pytest.mark.parametrize(
    "bad", [lambda v: [-1], lambda v: [v], lambda v: [10**9], lambda v: [1000, 1001, v + 5000]],
    ids=["negative", "vocab", "huge", "last-of-three"],
)  # fmt: skip
def test_prompt_ids_outside_the_vocabulary(engine, bad):
    vocab = engine.model.get_input_embeddings().weight.shape[0]
    with pytest.raises(ValueError, match=rf"prompt token ids \[-?\d+\] are outside the model's vocabulary of {vocab}"):
        engine.submit(bad(vocab))
    assert not engine.has_work()


@pytest.mark.parametrize("mode", ["simulated", "Parallel", "", None])
def test_unknown_mode(engine, mode):
    with pytest.raises(ValueError, match=r"mode=.*'parallel'.*'sequential'"):
        engine.submit(PROMPT, mode=mode)
    with pytest.raises(ValueError, match=r"mode=.*'parallel'.*'sequential'"):
        engine.generate([PROMPT], mode=mode)
    assert not engine.has_work()


def test_generate_wants_a_list_of_prompts(engine):
    with pytest.raises(TypeError, match="list of prompts"):
        engine.generate("What is 2 + 2?")
    with pytest.raises(TypeError, match="list of prompts"):
        engine.generate(PROMPT)
    with pytest.raises(ValueError, match="2 SamplingParams for 1 prompts"):
        engine.generate([PROMPT], [SamplingParams(), SamplingParams()])
    assert not engine.has_work()


def test_duplicate_request_id(engine):
    engine.submit(PROMPT, SamplingParams(seed=0, max_tokens=2), request_id="x")
    with pytest.raises(ValueError, match="'x' is already in use"):
        engine.submit(PROMPT, request_id="x")
    assert engine.abort("x").finish_reason == "aborted"
    assert not engine.has_work()


def test_a_rejected_batch_leaves_nothing_behind(engine):
    """generate() that rejects one prompt of a batch must not leave the others queued as orphans.

    The caller gets the exception and no request ids: an orphan would run during the next call, spend KV and
    compute, and its result would stay in the engine forever.
    """
    with pytest.raises(ValueError, match="empty prompt"):
        engine.generate([PROMPT, []], SamplingParams(seed=0, max_tokens=4))
    assert not engine.has_work()
    [traj] = engine.generate([PROMPT], SamplingParams(seed=0, max_tokens=4))
    assert traj.finish_reason == "length"
    assert engine._results == {}


# ---- configuration -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(kv_budget=1), r"kv_budget=1: .*at least two tokens"),
        (dict(kv_budget=-5), r"kv_budget=-5"),
        (dict(max_batch_tokens=0), r"max_batch_tokens=0: .*at least one token"),
        (dict(max_running=0), r"max_running=0: .*at least one request"),
        (dict(step_header="\n<step>\n"), r"step_header=.*must contain.*\{i\}"),
        (dict(step_header="\n{i}:"), r"step_header=.*must contain '<step>'"),
        (dict(join_header="\n"), r"join_header=.*must contain '<takeaway>'"),
    ],
)
def test_bad_engine_config(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        EngineConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(step_header="\n<step><guideline>{i}:"), r"step_header="),
        (dict(step_header="<takeaway><step>{i}:"), r"step_header="),
        (dict(join_header="\n<takeaway><guideline>"), r"join_header="),
    ],
)
def test_headers_with_foreign_structural_tags_are_rejected(kwargs, fragment, tiny_parts):
    """A forced header that carries other structural tags makes every trajectory malformed: the engine writes it
    without interpreting it, so e.g. ``\n<takeaway><guideline>`` puts a guideline inside the takeaway, and
    npr.topology cannot lay the result out. Such a config must be refused when it is made (or, if accepted,
    still give trajectories that lay out).
    """
    try:
        config = EngineConfig(**kwargs)
    except ValueError as exc:
        assert re.search(fragment, str(exc)), str(exc)
        return
    # accepted: then the engine must still produce trajectories the topology can lay out
    engine = Engine(*tiny_parts, config)
    traj = run(engine, steer=engine.shape_steer([[2, 3], [1]]))
    assert_laid_out(engine, traj)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(temperature=-0.5), r"temperature=-0.5 must be >= 0"),
        (dict(temperature=math.nan), r"temperature=nan"),
        (dict(top_p=0.0), r"top_p=0.0 must be in \(0, 1\]"),
        (dict(top_p=1.5), r"top_p=1.5 must be in \(0, 1\]"),
        (dict(top_p=math.nan), r"top_p=nan must be in \(0, 1\]"),
        (dict(top_k=-1), r"top_k=-1 must be >= 0"),
        (dict(max_tokens=0), r"max_tokens=0 must be >= 1"),
        (dict(max_tokens=10, max_total_tokens=9), r"max_total_tokens=9 is below max_tokens=10"),
        (dict(max_branches=0), r"max_branches=0 must be >= 1"),
    ],
)
def test_bad_sampling_params(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        SamplingParams(**kwargs)


def test_boundary_sampling_params_are_accepted():
    p = SamplingParams(temperature=0.0, top_p=1.0, top_k=0, max_tokens=1, max_total_tokens=1, max_branches=1)
    assert p.total_budget == 1
    assert SamplingParams(max_tokens=7).total_budget == 56


def test_greedy_and_extreme_filters_run(engine):
    for params in (
        SamplingParams(temperature=0.0, max_tokens=4, seed=1),
        SamplingParams(top_k=1, max_tokens=4, seed=1),
        SamplingParams(top_p=1e-9, max_tokens=4, seed=1),
        SamplingParams(top_k=10**7, temperature=100.0, max_tokens=4, seed=1),
    ):
        traj = run(engine, params=params)
        assert traj.finish_reason == "length" and traj.stats["total_tokens"] == 4
    # greedy, top-1 and a vanishing nucleus all pick the argmax
    a = run(engine, params=SamplingParams(temperature=0.0, max_tokens=4, seed=1))
    b = run(engine, params=SamplingParams(top_k=1, max_tokens=4, seed=2))
    c = run(engine, params=SamplingParams(top_p=1e-9, max_tokens=4, seed=3))
    assert a.token_ids == b.token_ids == c.token_ids


# ---- models and tokenizers ---------------------------------------------------------------------------------------


def test_unknown_model_type(npr_tokenizer):
    from transformers import GPT2Config, GPT2LMHeadModel

    model = GPT2LMHeadModel(GPT2Config(vocab_size=512, n_embd=32, n_layer=1, n_head=2, n_positions=64)).eval()
    with pytest.raises(UnsupportedModel, match=r"model type 'gpt2' is not supported.*llama, qwen2, qwen3"):
        Engine(model, npr_tokenizer)
    assert issubclass(UnsupportedModel, ValueError)


def test_sliding_window_model(npr_tokenizer):
    from transformers import AutoModelForCausalLM, Qwen2Config

    from ..conftest import TINY_DIMS

    cfg = Qwen2Config(vocab_size=512, use_sliding_window=True, sliding_window=8, max_window_layers=0, **TINY_DIMS)
    model = AutoModelForCausalLM.from_config(cfg).eval()
    with pytest.raises(UnsupportedModel, match="sliding-window"):
        Engine(model, npr_tokenizer)


def test_tokenizer_larger_than_the_embedding_table(npr_tokenizer, tiny_qwen3):
    model = tiny_qwen3(1000)
    n = len(npr_tokenizer)
    with pytest.raises(ValueError, match=rf"tokenizer has {n} tokens but the model's embedding table only 1000 rows"):
        Engine(model, npr_tokenizer)


def test_tokenizer_without_the_npr_tags(qwen3_tokenizer, tiny_qwen3):
    model = tiny_qwen3(len(qwen3_tokenizer))
    with pytest.raises(ValueError, match=r"no single token for the NPR tag '<guideline>'.*add_tags"):
        Engine(model, qwen3_tokenizer)


# ---- the model writes a malformed trajectory ---------------------------------------------------------------------


def test_guideline_without_plans_is_a_format_error(engine):
    t = engine.tags
    traj = run(engine, steer=Scripted(engine, {0: [WORD, t.guideline_open, t.guideline_close, WORD]}))
    assert traj.finish_reason == "format_error"
    assert response(engine, traj) == [("w", True), (T.GUIDELINE_OPEN, True), (T.GUIDELINE_CLOSE, True)]
    assert traj.stats["forks"] == 0
    assert_laid_out(engine, traj)


def test_more_plans_than_max_branches_is_a_format_error(engine):
    params = SamplingParams(seed=0, max_tokens=200, max_branches=2)
    traj = run(engine, params=params, steer=engine.shape_steer([[2, 2, 2]]))
    assert traj.finish_reason == "format_error"
    assert traj.stats["forks"] == 0
    structure = [tag for tag, _ in response(engine, traj) if tag != "w"]
    assert structure == [T.GUIDELINE_OPEN] + [T.PLAN_OPEN, T.PLAN_CLOSE] * 3 + [T.GUIDELINE_CLOSE]
    assert_laid_out(engine, traj)


def test_as_many_plans_as_max_branches_is_fine(engine):
    params = SamplingParams(seed=0, max_tokens=200, max_branches=3)
    traj = run(engine, params=params, steer=engine.shape_steer([[2, 2, 2]]))
    assert traj.finish_reason == "stop"
    assert traj.stats["branches_per_block"] == [3]


@pytest.mark.parametrize(
    "max_tokens, max_total", [(30, None), (60, 70)], ids=["critical-path budget", "total budget"]
)
def test_step_that_never_closes_is_force_closed_at_its_budget(engine, max_tokens, max_total):
    steer = Scripted(engine, {0: guideline(engine, 3)}, branch=lambda block, branch, n: WORD)  # never </step>
    params = SamplingParams(seed=0, max_tokens=max_tokens, max_total_tokens=max_total)
    traj = run(engine, params=params, steer=steer)
    assert traj.finish_reason in {"length", "stop"}
    assert traj.stats["critical_path_tokens"] <= max_tokens
    assert traj.stats["total_tokens"] <= params.total_budget
    assert_laid_out(engine, traj)
    steps = [s for s in traj.segments if s.kind is SegmentKind.STEP]
    assert len(steps) == 3 and all(s.closed for s in steps)
    for s in steps:  # every step ends in a forced </step>, every word before it was sampled
        assert traj.token_ids[s.end - 1] == engine.tags.step_close and not traj.sampled[s.end - 1]
        assert traj.token_ids[s.end - 2] == WORD and traj.sampled[s.end - 2]
    if max_total is None:  # the critical-path budget binds: the longest step used all of it
        assert traj.stats["critical_path_tokens"] == max_tokens
    else:  # the total budget binds: all branches together used all of it
        assert traj.stats["total_tokens"] == max_total


@pytest.mark.parametrize("tag", [T.GUIDELINE_OPEN, T.STEP_OPEN, T.PLAN_OPEN, T.TAKEAWAY_CLOSE, T.GUIDELINE_CLOSE])
def test_tag_inside_a_step_force_closes_it(engine, tag):
    tid = engine.tags.id_of(tag)

    def branch(block, branch, n):  # branch 0: two words, then the tag; branch 1: four words and </step>
        if branch == 0:
            return tid if n == 2 else WORD
        return WORD if n < 4 else engine.tags.step_close

    steer = Scripted(engine, {0: guideline(engine, 2), 1: [WORD, engine.tags.takeaway_close, WORD]}, branch)
    traj = run(engine, steer=steer)
    assert traj.finish_reason == "stop"
    assert_laid_out(engine, traj)
    steps = [s for s in traj.segments if s.kind is SegmentKind.STEP]
    assert len(steps) == 2
    first = traj.token_ids[steps[0].start : steps[0].end]
    header = len(engine._headers(1).step[0])
    # two words, then the illegal tag replaced by a forced </step>
    assert first[header:] == [WORD, WORD, engine.tags.step_close]
    assert traj.sampled[steps[0].end - 1] is False
    assert traj.token_ids[steps[1].end - 1] == engine.tags.step_close and traj.sampled[steps[1].end - 1] is True
    assert len(steps[1]) == len(engine._headers(2).step[1]) + 5


@pytest.mark.parametrize("stop", ["eos", "stop_token_ids"])
def test_eos_inside_a_step_force_closes_it(engine, stop):
    eos = engine.tokenizer.eos_token_id if stop == "eos" else 1777
    params = SamplingParams(seed=0, max_tokens=200, stop_token_ids=(1777,) if stop != "eos" else ())
    steer = Scripted(
        engine, {0: guideline(engine, 2), 1: [WORD, engine.tags.takeaway_close, WORD, eos]},
        branch=lambda block, branch, n: WORD if n < 1 + branch else eos,
    )  # fmt: skip
    traj = run(engine, params=params, steer=steer)
    assert traj.finish_reason == "stop"  # the request goes on after the steps and stops at the conclusion's end
    assert_laid_out(engine, traj)
    steps = [s for s in traj.segments if s.kind is SegmentKind.STEP]
    assert [len(s) for s in steps] == [len(engine._headers(i + 1).step[i]) + 2 + i for i in range(2)]
    for s in steps:
        assert traj.token_ids[s.end - 1] == engine.tags.step_close and traj.sampled[s.end - 1] is False
        assert eos not in traj.token_ids[s.start : s.end]
    assert traj.response_ids[-1] == eos and traj.sampled[-1]
    assert traj.stats["branches_per_block"] == [2]


@pytest.mark.parametrize("tag", [T.STEP_CLOSE, T.STEP_OPEN, T.PLAN_OPEN, T.TAKEAWAY_CLOSE, T.GUIDELINE_CLOSE])
def test_illegal_tag_outside_any_element_is_a_format_error(engine, tag):
    t = engine.tags
    tid = t.id_of(tag)
    conclusion = [WORD, WORD, tid, WORD]
    steer = Scripted(engine, {0: guideline(engine, 1), 1: [WORD, t.takeaway_close] + conclusion})
    traj = run(engine, steer=steer)
    assert traj.finish_reason == "format_error"
    assert traj.response_ids[-2:] == [WORD, WORD]  # the illegal tag is not written
    assert traj.stats["forks"] == 1
    assert_laid_out(engine, traj)


def test_illegal_tag_before_any_guideline_is_a_format_error(engine):
    traj = run(engine, steer=Scripted(engine, {0: [WORD, engine.tags.step_close]}))
    assert traj.finish_reason == "format_error"
    assert traj.response_ids == [WORD]
    assert_laid_out(engine, traj)


def test_step_tag_inside_a_guideline_force_closes_the_guideline(engine):
    t = engine.tags
    # <guideline><plan>w</plan><step> -> the guideline is closed for the model, with one plan: one branch
    trunk = {0: [t.guideline_open, t.plan_open, WORD, t.plan_close, t.step_open], 1: [t.takeaway_close]}
    steer = Scripted(engine, trunk)
    traj = run(engine, steer=steer)
    assert traj.finish_reason == "stop"
    assert traj.stats["branches_per_block"] == [1]
    assert response(engine, traj)[:5] == [
        (T.GUIDELINE_OPEN, True), (T.PLAN_OPEN, True), ("w", True), (T.PLAN_CLOSE, True), (T.GUIDELINE_CLOSE, False),
    ]  # fmt: skip
    assert_laid_out(engine, traj)


def test_sequential_mode_does_not_interpret_tags(engine):
    t = engine.tags
    steer = Scripted(engine, {0: [t.step_close, WORD, t.guideline_open, t.guideline_close, WORD]})
    traj = run(engine, steer=steer, mode="sequential")
    assert traj.finish_reason == "stop"
    eos = engine.tokenizer.eos_token_id
    assert traj.response_ids == [t.step_close, WORD, t.guideline_open, t.guideline_close, WORD, eos]
    assert all(traj.sampled[traj.prompt_len :])


def test_shape_steer_rejects_empty_shapes(engine):
    with pytest.raises(ValueError, match="at least one block"):
        engine.shape_steer([])
    with pytest.raises(ValueError, match="every block at least one branch"):
        engine.shape_steer([[2], []])

