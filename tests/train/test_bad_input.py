"""Bad input is a clear error - a ``ValueError`` subclass whose message names the problem - raised before any
training compute starts: configs before the model loads, RL prompts before the model loads, the SFT corpus after
the model (it needs the tokenizer) but before the first step, and resumes before the first step."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

import npr.cli
import npr.train.model
import npr.train.rl.trainer
import npr.train.sft
from npr.train.config import ConfigError, RLConfig, SFTConfig, load_config
from npr.train.config.loader import from_dict
from npr.train.corpus import load_corpus
from npr.train.jsonl import DataError
from npr.train.model import check_checkpoint, load_policy
from npr.train.prompts import load_prompts
from npr.train.rl.trainer import train_rl
from npr.train.run_folder import RunFolderError
from npr.train.sft import train_sft

from ..conftest import QWEN3_TOKENIZER_DIR
from .helpers import TINY_QWEN3, id_corpus, rl_dict, sft_dict, write_jsonl

QUIET = dict(progress=False, log=lambda m: None)
G0, G1, P0, P1, S0, S1, T0, T1 = range(12, 20)  # the character tokenizer's tag ids
GOOD = {"prompt_ids": [2, 3], "response_ids": [G0, P0, 2, P1, G1, S0, 4, S1, T0, 5, T1, 6, 1]}
PROMPT = {"id": "a", "prompt_ids": [2, 3, 4], "answer": "1"}


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{what} ran before the bad input was refused")

    return refuse


@pytest.fixture
def no_model(monkeypatch):
    """The model must not load: the check under test is documented to run before it."""
    for module in (npr.train.model, npr.train.sft, npr.train.rl.trainer):
        monkeypatch.setattr(module, "load_policy", _refuse("load_policy"))


@pytest.fixture
def no_training(monkeypatch):
    """SFT's first training step must not start."""
    monkeypatch.setattr(npr.train.sft.NPRTrainer, "train", _refuse("NPRTrainer.train"))


def lines(path: Path, *rows) -> Path:
    """Write ``rows`` (dicts as JSON, strings as they are) one per line."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def assert_nothing_trained(out: Path) -> None:
    assert not (out / "checkpoints").exists() and not (out / "metrics.jsonl").exists()
    assert not (out / "model").exists() and not (out / "summary.json").exists()


# ---- the SFT corpus ---------------------------------------------------------------------------------------------

CORPORA = {
    "empty file": ([], r"SFT corpus '.*corpus\.jsonl' is empty: it holds no records"),
    "only blank lines": (["", "   "], r"is empty: it holds no records"),
    "malformed JSON": ([GOOD, "", '{"prompt_ids": [2,'], r"corpus\.jsonl', line 3: not valid JSON"),
    "not an object": ([GOOD, "[2, 3]"], r"line 2: expected a JSON object, got list"),
    "no response_ids": ([{"prompt_ids": [2, 3]}], r"line 1: 'response_ids' must be a list of integer token ids"),
    "no prompt_ids": ([GOOD, {"response_ids": [2]}], r"line 2: 'prompt_ids' must be a list of integer token ids"),
    "no response text": ([{"prompt": "12"}], r"line 1: field 'response' is missing or not a string \(fields here: prompt\)"),
    "no prompt text": ([{"question": "1", "response": "2"}], r"line 1: field 'prompt' is missing or not a string"),
    "response text not a string": ([{"prompt": "1", "response": 2}], r"line 1: field 'response' is missing or not a string"),
    "empty response ids": ([{"prompt_ids": [2], "response_ids": []}], r"line 1: the response is empty"),
    "empty response text": ([{"prompt": "12", "response": ""}], r"line 1: the response is empty"),
    "empty prompt": ([{"prompt_ids": [], "response_ids": [2]}], r"line 1: the prompt is empty"),
    "float id": ([GOOD, {"prompt_ids": [2], "response_ids": [3.5]}], r"line 2: 'response_ids' must be a list of integer"),
    "string id": ([{"prompt_ids": ["2"], "response_ids": [3]}], r"line 1: 'prompt_ids' must be a list of integer"),
    "bool id": ([{"prompt_ids": [2], "response_ids": [True]}], r"line 1: 'response_ids' must be a list of integer"),
    "ids not a list": ([{"prompt_ids": "23", "response_ids": [3]}], r"line 1: 'prompt_ids' must be a list of integer"),
    "id past the vocabulary": ([GOOD, {"prompt_ids": [2], "response_ids": [3, 20, 1]}],
                               r"line 2: token id 20 is outside the model's vocabulary of 20"),
    "negative id": ([GOOD, GOOD, {"prompt_ids": [-1], "response_ids": [3]}],
                    r"line 3: token id -1 is outside the model's vocabulary of 20"),
    "step inside a step": ([GOOD, {"prompt_ids": [2, 3], "response_ids": [G0, P0, 2, P1, G1, S0, 2, S0, 3, S1, S1, 1]}],
                           r"line 2: the response cannot be laid out in parallel \(response token 7: <step> inside a step"),
    "step outside a block": ([{"prompt_ids": [2], "response_ids": [3, S0, 3, S1, 1]}],
                             r"line 1: the response cannot be laid out in parallel \(response token 1: <step> outside a block"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CORPORA))
def test_a_bad_sft_corpus_is_refused_before_training(case, char_tokenizer_dir, tmp_path, no_training):
    rows, match = CORPORA[case]
    corpus = lines(tmp_path / "corpus.jsonl", *rows)
    cfg = from_dict(SFTConfig, sft_dict(char_tokenizer_dir, corpus, max_steps=1))
    with pytest.raises(DataError, match=match):
        train_sft(cfg, tmp_path / "run", **QUIET)
    assert_nothing_trained(tmp_path / "run")


def test_a_missing_sft_corpus_names_the_file(char_tokenizer_dir, tmp_path, no_training):
    cfg = from_dict(SFTConfig, sft_dict(char_tokenizer_dir, tmp_path / "nope.jsonl", max_steps=1))
    with pytest.raises(DataError, match=r"SFT corpus '.*nope\.jsonl' does not exist"):
        train_sft(cfg, tmp_path / "run", **QUIET)
    assert_nothing_trained(tmp_path / "run")


def test_the_corpus_checks_accept_good_data_and_sequential_layouts(char_tokenizer_dir, tmp_path):
    """The structure check is a parallel-layout check: the same line trains causally with data.parallel false."""
    from npr.tokens import TagIds, load_tokenizer

    tok = load_tokenizer(char_tokenizer_dir)
    tags = TagIds.from_tokenizer(tok)
    nested = {"prompt_ids": [2, 3], "response_ids": [G0, P0, 2, P1, G1, S0, 2, S0, 3, S1, S1, 1]}
    corpus = lines(tmp_path / "corpus.jsonl", GOOD, nested)
    cfg = from_dict(SFTConfig, sft_dict(char_tokenizer_dir, corpus, data={"parallel": False})).data
    assert len(load_corpus(cfg, tok, tags, vocab_size=20).samples) == 2
    cfg = from_dict(SFTConfig, sft_dict(char_tokenizer_dir, corpus)).data
    with pytest.raises(DataError, match="line 2"):
        load_corpus(cfg, tok, tags, vocab_size=20)
    with pytest.raises(DataError, match=r"line 1: token id 19 is outside the model's vocabulary of 19"):
        load_corpus(cfg, tok, tags, vocab_size=19)


def test_an_overlong_line_is_an_error_unless_skipped(char_tokenizer_dir, tmp_path):
    from npr.tokens import TagIds, load_tokenizer

    tok = load_tokenizer(char_tokenizer_dir)
    tags = TagIds.from_tokenizer(tok)
    corpus = lines(tmp_path / "corpus.jsonl", GOOD, {"prompt_ids": [2], "response_ids": [3, 1]})
    cfg = from_dict(SFTConfig, sft_dict(char_tokenizer_dir, corpus, pack_tokens=8, data={"max_length": 8})).data
    with pytest.raises(DataError, match=r"line 1: 15 tokens exceed data\.max_length=8 .*skip_overlong"):
        load_corpus(cfg, tok, tags, vocab_size=20)
    cfg.skip_overlong = True
    assert load_corpus(cfg, tok, tags, vocab_size=20).skipped_overlong == 1
    only_long = lines(tmp_path / "long.jsonl", GOOD)
    cfg.path = str(only_long)
    with pytest.raises(DataError, match=r"every line was longer than data\.max_length=8"):
        load_corpus(cfg, tok, tags, vocab_size=20)


# ---- RL prompts -------------------------------------------------------------------------------------------------

PROMPTS = {
    "no answer": ([PROMPT, {"id": "b", "prompt_ids": [2]}], {"correctness": 1.0},
                  r"line 2: no gold answer in field 'answer': the reward grades answers \(the correctness term\)"),
    "blank answer": ([PROMPT, {"id": "b", "prompt_ids": [2], "answer": "  "}], {"correctness": 1.0},
                     r"line 2: no gold answer"),
    "no answer, acceleration term": ([{"id": "b", "question": "1+1?"}], {"format": 1.0, "acceleration": 0.1},
                                     r"line 1: no gold answer"),
    "no question": ([PROMPT, {"id": "b", "answer": "1"}], {"correctness": 1.0},
                    r"line 2: no question: field 'question' is missing or empty \(fields here: id, answer"),
    "blank question": ([PROMPT, {"id": "b", "question": " ", "answer": "1"}], {"format": 1.0}, r"line 2: no question"),
    "duplicate id": ([PROMPT, {"id": "b", "prompt_ids": [2], "answer": "2"}, PROMPT], {"correctness": 1.0},
                     r"line 3: id 'a' appears twice"),
    "duplicate implicit id": ([{"id": "2", "question": "1+1?", "answer": "2"}, {"question": "2+2?", "answer": "4"}],
                              {"correctness": 1.0}, r"line 2: id '2' appears twice"),
    "malformed line": ([PROMPT, "{'id': 'b'}"], {"correctness": 1.0}, r"prompts\.jsonl', line 2: not valid JSON"),
    "not an object": ([PROMPT, '"text"'], {"correctness": 1.0}, r"line 2: expected a JSON object, got str"),
    "empty file": ([], {"correctness": 1.0}, r"RL prompts '.*prompts\.jsonl' is empty"),
    "bad prompt_ids": ([PROMPT, {"id": "b", "prompt_ids": [2, "3"], "answer": "1"}], {"correctness": 1.0},
                       r"line 2: 'prompt_ids' must be a non-empty list of integer token ids"),
    "empty prompt_ids": ([{"id": "b", "prompt_ids": [], "answer": "1"}], {"format": 1.0},
                         r"line 1: 'prompt_ids' must be a non-empty list"),
    "unknown kind": ([PROMPT, {"id": "b", "prompt_ids": [2], "answer": "1", "kind": "poetry"}], {"correctness": 1.0},
                     r"line 2: unknown grading kind 'poetry'"),
    "a timeout among the grade options": ([PROMPT, {"id": "b", "prompt_ids": [2], "answer": "1", "grade_options": {"timeout": 1}}],
                                          {"correctness": 1.0}, r"line 2: grade_options may not set 'timeout'"),
    "bad choice answer": ([PROMPT, {"id": "b", "prompt_ids": [2], "answer": "zz", "kind": "choice"}],
                          {"correctness": 1.0}, r"line 2: choice gold answer"),
    "unknown grade option": ([PROMPT, {"id": "b", "prompt_ids": [2], "answer": "1", "grade_options": {"zzz": 1}}],
                             {"correctness": 1.0}, r"line 2: .*option 'zzz'"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(PROMPTS))
def test_bad_rl_prompts_are_refused_before_the_model_loads(case, char_tokenizer_dir, tmp_path, no_model):
    rows, terms, match = PROMPTS[case]
    prompts = lines(tmp_path / "prompts.jsonl", *rows)
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, prompts, reward={"terms": terms}))
    with pytest.raises(DataError, match=match):
        train_rl(cfg, tmp_path / "run", **QUIET)
    assert not (tmp_path / "run").exists()  # the output folder is not even started


def test_a_missing_prompts_file_names_the_file(char_tokenizer_dir, tmp_path, no_model):
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, tmp_path / "nope.jsonl"))
    with pytest.raises(DataError, match=r"RL prompts '.*nope\.jsonl' does not exist"):
        train_rl(cfg, tmp_path / "run", **QUIET)
    assert not (tmp_path / "run").exists()


def test_answers_are_needed_only_when_a_term_grades(char_tokenizer_dir, tmp_path):
    prompts = lines(tmp_path / "prompts.jsonl", {"id": "a", "prompt_ids": [2]}, {"id": "b", "question": "1+1?"})
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, prompts, reward={"terms": {"format": 1.0}}))
    assert [p.id for p in load_prompts(cfg.data, need_answers=False)] == ["a", "b"]
    with pytest.raises(DataError, match="line 1: no gold answer"):
        load_prompts(cfg.data, need_answers=True)


def test_the_missing_answer_message_names_the_grading_term(char_tokenizer_dir, tmp_path):
    prompts = lines(tmp_path / "prompts.jsonl", {"id": "b", "question": "1+1?"})
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, prompts, reward={"terms": {"format": 1.0, "acceleration": 0.1}}))
    with pytest.raises(DataError, match=r"line 1: no gold answer.*the acceleration term"):
        train_rl(cfg, tmp_path / "run", **QUIET)


def test_grade_options_that_are_not_a_mapping_are_a_data_error(char_tokenizer_dir, tmp_path, no_model):
    prompts = lines(tmp_path / "prompts.jsonl", PROMPT, {"id": "b", "prompt_ids": [2], "answer": "1", "grade_options": [1]})
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, prompts))
    with pytest.raises(DataError, match=r"line 2: .*grade_options"):
        train_rl(cfg, tmp_path / "run", **QUIET)


def test_an_rl_prompt_past_the_vocabulary_is_refused_before_training(char_tokenizer_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(npr.train.rl.trainer.RLTrainer, "train", _refuse("RLTrainer.train"))
    prompts = lines(tmp_path / "prompts.jsonl", PROMPT, {"id": "b", "prompt_ids": [2, 20]})
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, prompts, reward={"terms": {"format": 1.0}}))
    with pytest.raises(DataError, match=r"RL prompt 'b': token id 20 is outside the vocabulary of 20"):
        train_rl(cfg, tmp_path / "run", **QUIET)
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


# ---- configs ----------------------------------------------------------------------------------------------------


def _without(d: dict, dotted: str) -> dict:
    *parents, last = dotted.split(".")
    node = d
    for p in parents:
        node = node[p]
    del node[last]
    return d


RL_CONFIGS = {
    "unknown top-level key": (dict(max_step=3), r"unknown config key 'max_step'; did you mean 'max_steps'\?"),
    "unknown key, no close name": (dict(flux=3), r"unknown config key 'flux' \(keys here: model, data, rollout"),
    "unknown nested key": (dict(rollout={"group_sise": 4}),
                           r"unknown config key 'rollout\.group_sise'; did you mean 'group_size'\?"),
    "unknown model key": (dict(model={"tokeniser": "x"}), r"unknown config key 'model\.tokeniser'; did you mean 'tokenizer'\?"),
    "string for an int": (dict(max_steps="ten"), r"max_steps: expected an integer, got 'ten'"),
    "quoted int nested": (dict(rollout={"group_size": "4"}), r"rollout\.group_size: expected an integer, got '4'"),
    "float for an int": (dict(max_steps=2.5), r"max_steps: expected an integer, got 2\.5"),
    "bool for an int": (dict(seed=True), r"seed: expected an integer, got True"),
    "string for a bool": (dict(reward={"terms": {"correctness": 1.0}, "format_aware": "yes"}),
                          r"reward\.format_aware: expected true or false, got 'yes'"),
    "word for a number": (dict(lr="fast"), r"lr: expected a number, got 'fast'"),
    "list for a mapping": (dict(reward={"terms": ["correctness"]}), r"reward\.terms: expected a mapping"),
    "string for a list": (dict(algorithm={"filters": "invalid"}), r"algorithm\.filters: expected a list"),
    "bad weight": (dict(reward={"terms": {"correctness": "one"}}), r"reward\.terms\.correctness: expected a number"),
    "bad literal": (dict(rollout={"mode": "paralel"}), r"rollout\.mode: 'paralel' is not one of 'parallel', 'sequential'"),
    "unknown algorithm": (dict(algorithm={"name": "ppo"}), r"algorithm\.name: 'ppo' is not one of 'papo', 'dapo', 'grpo'"),
    "groups not divisible into mini-batches": (
        dict(rollout={"prompts_per_step": 3}, algorithm={"name": "grpo", "mini_batches": 2}),
        r"rollout\.prompts_per_step=3 is not divisible by algorithm\.mini_batches=2"),
    "mini-batches past the rollouts": (
        dict(rollout={"prompts_per_step": 1, "group_size": 2}, algorithm={"name": "grpo", "mini_batches": 4}),
        r"2 rollouts per step .* cannot fill algorithm\.mini_batches=4"),
    "group of one": (dict(rollout={"group_size": 1}), r"rollout\.group_size=1 must be >= 2"),
    "papo with two epochs": (dict(algorithm={"name": "papo", "epochs": 2}),
                             r"policy_loss reinforce is strictly on-policy: it needs epochs=1 .* got epochs=2"),
    "reinforce with two mini-batches": (dict(algorithm={"name": "grpo", "policy_loss": "reinforce", "mini_batches": 2}),
                                        r"reinforce is strictly on-policy.*mini_batches=2"),
    "kl_coef without kl": (dict(algorithm={"name": "dapo", "kl_coef": 0.1}), r"kl_coef > 0 needs algorithm\.kl: k1 or k3"),
    "kl without kl_coef": (dict(algorithm={"name": "papo", "kl": "k3"}), r"algorithm\.kl=k3 with kl_coef 0 does nothing"),
    "clip_low 1": (dict(algorithm={"name": "dapo", "clip_low": 1.0}), r"algorithm\.clip_low=1\.0 must be in \[0, 1\)"),
    "path and init": (dict(model={"path": "/some/model"}), r"give exactly one of model\.path .* and model\.init"),
    "init without model_type": (dict(model={"init": {"model_type": None}}), r"model\.init needs a model_type"),
    "init not a mapping": (dict(model={"init": "qwen3"}), r"model\.init: expected a mapping, got 'qwen3'"),
    "unknown advantage": (dict(algorithm={"advantage": "gpro"}),
                          r"unknown advantage estimator 'gpro' \(did you mean 'grpo'\?\); known: grpo, dr_grpo, papo"),
    "unknown policy loss": (dict(algorithm={"policy_loss": "ppo"}), r"unknown policy loss 'ppo'.*known: reinforce, ppo_clip"),
    "unknown aggregation": (dict(algorithm={"aggregation": "token_mean"}),
                            r"unknown loss aggregation 'token_mean' \(did you mean 'token-mean'\?\)"),
    "unknown filter": (dict(algorithm={"filters": ["invalidd"]}),
                       r"algorithm\.filters: unknown rollout filter 'invalidd' \(did you mean 'invalid'\?\)"),
    "unknown reward term": (dict(reward={"terms": {"correct": 1.0}}),
                            r"unknown reward term 'correct' \(did you mean 'correctness'\?\)"),
    "no reward terms": (dict(reward={"terms": {}}), r"reward\.terms is empty"),
    "temperature 0": (dict(rollout={"temperature": 0}), r"rollout\.temperature=0\.0 must be > 0"),
    "kv budget below a rollout": (dict(rollout={"kv_budget": 6}), r"rollout\.kv_budget=6 cannot hold one rollout"),
    "negative lora rank": (dict(model={"lora_r": -1}), r"model\.lora_r=-1 must be >= 0"),
    "report_to unknown": (dict(report_to=["wandb"]), r"report_to\[0\]: 'wandb' is not one of 'tensorboard'"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(RL_CONFIGS))
def test_a_bad_rl_config_is_a_config_error(case, char_tokenizer_dir, tmp_path):
    over, match = RL_CONFIGS[case]
    with pytest.raises(ConfigError, match=match):
        from_dict(RLConfig, rl_dict(char_tokenizer_dir, tmp_path / "p.jsonl", **over))


def test_init_without_a_tokenizer_is_a_config_error(char_tokenizer_dir, tmp_path):
    d = _without(rl_dict(char_tokenizer_dir, tmp_path / "p.jsonl"), "model.tokenizer")
    with pytest.raises(ConfigError, match=r"model\.init builds a model without a tokenizer: set model\.tokenizer"):
        from_dict(RLConfig, d)


@pytest.mark.parametrize("section", ["model", "data"])
def test_a_missing_section_is_named(section, char_tokenizer_dir, tmp_path):
    d = _without(rl_dict(char_tokenizer_dir, tmp_path / "p.jsonl"), section)
    with pytest.raises(ConfigError, match=f"'{section}'"):
        from_dict(RLConfig, d)


def test_a_section_given_as_a_value_is_named_cleanly(char_tokenizer_dir, tmp_path):
    with pytest.raises(ConfigError, match=r"^rollout must be a mapping of keys, got int$"):
        from_dict(RLConfig, rl_dict(char_tokenizer_dir, tmp_path / "p.jsonl", rollout=5))


SFT_CONFIGS = {
    "unknown nested key": (dict(data={"formt": "ids"}), r"unknown config key 'data\.formt'; did you mean 'format'\?"),
    "batch size 0": (dict(batch_size=0), r"batch_size=0 must be >= 1"),
    "rows shorter than a trajectory": (dict(pack_tokens=8, data={"max_length": 16}),
                                       r"pack_tokens=8 is below data\.max_length=16"),
    "skip_overlong without max_length": (dict(data={"skip_overlong": True}), r"data\.skip_overlong needs data\.max_length"),
    "bad format": (dict(data={"format": "csv"}), r"data\.format: 'csv' is not one of"),
    "merge without lora": (dict(model={"merge_lora": True}), r"model\.merge_lora needs LoRA"),
    "no data path": (dict(data={"path": None}), r"data\.path is required"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SFT_CONFIGS))
def test_a_bad_sft_config_is_a_config_error(case, char_tokenizer_dir, tmp_path):
    over, match = SFT_CONFIGS[case]
    with pytest.raises(ConfigError, match=match):
        from_dict(SFTConfig, sft_dict(char_tokenizer_dir, tmp_path / "c.jsonl", **over))


def test_an_unknown_sft_lr_scheduler_is_a_config_error(char_tokenizer_dir, tmp_path):
    with pytest.raises(ConfigError, match=r"lr_scheduler.*'bogus'"):
        from_dict(SFTConfig, sft_dict(char_tokenizer_dir, tmp_path / "c.jsonl", lr_scheduler="bogus"))


@pytest.mark.parametrize(
    "content, match",
    [
        (None, r"config file '.*rl\.yaml' does not exist"),
        ("model: [1,\n", r"config file '.*rl\.yaml' is not valid YAML"),
        ("- a\n- b\n", r"config file '.*rl\.yaml' must hold a mapping of keys, not list"),
    ],
)
def test_a_bad_config_file_is_a_config_error(content, match, tmp_path):
    file = tmp_path / "rl.yaml"
    if content is not None:
        file.write_text(content)
    with pytest.raises(ConfigError, match=match):
        load_config(RLConfig, file)


@pytest.mark.parametrize(
    "command, override, match",
    [
        ("rl", "foo=1", r"unknown config key 'foo'"),
        ("rl", "rollout.group_sise=4", r"did you mean 'group_size'\?"),
        ("rl", "rollout.group_size=1", r"rollout\.group_size=1 must be >= 2"),
        ("zero", "algorithm.advantage=gpro", r"unknown advantage estimator 'gpro'"),
        ("sft", "max_steps=ten", r"max_steps: expected an integer, got 'ten'"),
        ("sft", "model.path=/some/model", r"give exactly one of model\.path"),
    ],
)
def test_the_cli_refuses_a_bad_config_before_the_model_loads(command, override, match, char_tokenizer_dir, tmp_path,
                                                             no_model, capsys):  # fmt: skip
    data = tmp_path / "data.jsonl"
    d = (sft_dict if command == "sft" else rl_dict)(char_tokenizer_dir, lines(data, PROMPT))
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(d))
    out = tmp_path / "run"
    rc = npr.cli.main(["train", command, "--config", str(config), "--out", str(out), "--set", override])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith(f"npr train {command}: ") and len(err.strip().splitlines()) == 1, err
    assert re.search(match, err), err
    assert not out.exists()


# ---- model.init -------------------------------------------------------------------------------------------------


def _init_cfg(char_tokenizer_dir, tmp_path, init: dict) -> SFTConfig:
    d = sft_dict(char_tokenizer_dir, tmp_path / "c.jsonl")
    d["model"]["init"] = init  # replaced, not merged: the test's keys are the whole spec
    return from_dict(SFTConfig, d)


def test_an_unknown_model_type_is_a_value_error(char_tokenizer_dir, tmp_path):
    cfg = _init_cfg(char_tokenizer_dir, tmp_path, {"model_type": "nonesuch"})
    with pytest.raises(ValueError, match=r"model\.init: transformers cannot build a 'nonesuch' config"):
        load_policy(cfg.model)


@pytest.mark.parametrize(
    "init",
    [
        {**TINY_QWEN3, "hidden_size": "big"},
        {"model_type": "llama", "hidden_size": 32, "num_attention_heads": 3, "num_key_value_heads": 3,
         "intermediate_size": 16, "num_hidden_layers": 1},
    ],
    ids=["wrong type", "heads do not divide hidden"],
)  # fmt: skip
def test_an_impossible_model_init_is_a_value_error(init, char_tokenizer_dir, tmp_path):
    cfg = _init_cfg(char_tokenizer_dir, tmp_path, init)
    with pytest.raises(ValueError, match=r"model\.init"):
        load_policy(cfg.model)


def test_a_misspelt_model_init_key_is_refused(char_tokenizer_dir, tmp_path):
    init = dict(TINY_QWEN3)
    init["hiden_size"] = init.pop("hidden_size")
    cfg = _init_cfg(char_tokenizer_dir, tmp_path, init)
    with pytest.raises(ValueError, match=r"hiden_size.*hidden_size"):
        load_policy(cfg.model)


# ---- run folders and resume -------------------------------------------------------------------------------------


def save_model(folder: Path, tokenizer_dir: Path, **sizes) -> Path:
    """A tiny random Qwen3 over the character tokenizer, saved with it as an HF folder."""
    from transformers import AutoConfig, AutoModelForCausalLM

    spec = {**TINY_QWEN3, **sizes}
    config = AutoConfig.for_model(spec.pop("model_type"), vocab_size=20, **spec)
    shutil.rmtree(folder, ignore_errors=True)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    shutil.copytree(tokenizer_dir, folder, dirs_exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def sft_run(char_tokenizer_dir, tmp_path_factory):
    """(config dict, output folder) of a finished 2-step SFT run with checkpoints 1 and 2."""
    root = tmp_path_factory.mktemp("sft-run")
    corpus = write_jsonl(root / "corpus.jsonl", id_corpus(16))
    d = sft_dict(char_tokenizer_dir, corpus, max_steps=2, save_steps=1, save_total_limit=None)
    train_sft(from_dict(SFTConfig, d), root / "run", **QUIET)
    return d, root / "run"


@pytest.fixture(scope="module")
def rl_run(char_tokenizer_dir, tmp_path_factory):
    """(config dict, output folder) of a finished 1-step RL run."""
    root = tmp_path_factory.mktemp("rl-run")
    prompts = write_jsonl(root / "prompts.jsonl", [PROMPT, {**PROMPT, "id": "b"}])
    d = rl_dict(char_tokenizer_dir, prompts, max_steps=1)
    train_rl(from_dict(RLConfig, d), root / "run", **QUIET)
    return d, root / "run"


def test_an_sft_folder_holding_a_run_needs_resume(sft_run, no_model):
    d, out = sft_run
    saved = (out / "config.yaml").read_text()
    with pytest.raises(RunFolderError, match=r"already holds a run; pass --resume to continue it, or choose another"):
        train_sft(from_dict(SFTConfig, d), out, **QUIET)
    assert (out / "config.yaml").read_text() == saved


def test_an_rl_folder_holding_a_run_needs_resume(rl_run, no_model):
    d, out = rl_run
    with pytest.raises(RunFolderError, match=r"already holds a run; pass --resume"):
        train_rl(from_dict(RLConfig, d), out, **QUIET)


def test_resuming_sft_with_another_architecture_is_refused_before_the_model_loads(sft_run, no_model):
    d, out = sft_run
    changed = yaml.safe_load(yaml.safe_dump(d))
    changed["model"]["init"]["hidden_size"] = 48
    with pytest.raises(RunFolderError, match=r"cannot resume .*model\.init\.hidden_size: 32 -> 48"):
        train_sft(from_dict(SFTConfig, changed), out, resume=True, **QUIET)


def test_resuming_rl_with_other_settings_is_refused_before_the_model_loads(rl_run, no_model):
    d, out = rl_run
    changed = yaml.safe_load(yaml.safe_dump(d))
    changed["model"]["init"]["num_hidden_layers"] = 3
    changed["lr"] = 0.5
    with pytest.raises(RunFolderError, match=r"lr: 0\.01 -> 0\.5; model\.init\.num_hidden_layers: 2 -> 3"):
        train_rl(from_dict(RLConfig, changed), out, resume=True, **QUIET)


def test_check_checkpoint_names_the_fields_that_differ(sft_run, tmp_path):
    from transformers import AutoModelForCausalLM

    _, out = sft_run
    model = AutoModelForCausalLM.from_pretrained(out / "model")
    checkpoint = out / "checkpoints" / "checkpoint-2"
    check_checkpoint(model, checkpoint)  # its own checkpoint passes
    other = tmp_path / "other"
    other.mkdir()
    config = json.loads((checkpoint / "config.json").read_text())
    config.update(vocab_size=24, hidden_size=64)
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"belongs to another model") as info:
        check_checkpoint(model, other)
    message = str(info.value)
    assert "vocab_size: checkpoint 24 vs model 20" in message and "hidden_size: checkpoint 64 vs model 32" in message
    assert "num_hidden_layers" not in message and "resume with the model it was made from" in message
    (other / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"unreadable config\.json"):
        check_checkpoint(model, other)


def test_resuming_sft_on_a_swapped_model_folder_is_refused_before_training(char_tokenizer_dir, tmp_path, monkeypatch):
    """Same config, but model.path now holds another model: the checkpoint check catches what the config cannot."""
    model = save_model(tmp_path / "model", char_tokenizer_dir)
    corpus = write_jsonl(tmp_path / "corpus.jsonl", id_corpus(16))
    d = sft_dict(char_tokenizer_dir, corpus, max_steps=2, save_steps=2)
    d["model"] = {"path": str(model)}
    out = tmp_path / "run"
    train_sft(from_dict(SFTConfig, d), out, **QUIET)
    monkeypatch.setattr(npr.train.sft.NPRTrainer, "train", _refuse("NPRTrainer.train"))
    metrics = (out / "metrics.jsonl").read_text()
    save_model(model, char_tokenizer_dir, hidden_size=48)
    d["max_steps"] = 4
    with pytest.raises(ValueError, match=r"checkpoint-2' belongs to another model \(hidden_size: checkpoint 32 vs model 48"):
        train_sft(from_dict(SFTConfig, d), out, resume=True, **QUIET)
    assert (out / "metrics.jsonl").read_text() == metrics
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-2"]


def test_resuming_rl_on_a_swapped_model_folder_is_refused_before_training(char_tokenizer_dir, tmp_path, monkeypatch):
    model = save_model(tmp_path / "model", char_tokenizer_dir)
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [PROMPT, {**PROMPT, "id": "b"}])
    d = rl_dict(char_tokenizer_dir, prompts, max_steps=1)
    d["model"] = {"path": str(model)}
    out = tmp_path / "run"
    train_rl(from_dict(RLConfig, d), out, **QUIET)
    save_model(model, char_tokenizer_dir, hidden_size=48)
    monkeypatch.setattr(npr.train.rl.trainer.RLTrainer, "step", _refuse("RLTrainer.step"))
    d["max_steps"] = 2
    with pytest.raises(ValueError, match=r"step-1/hf' belongs to another model \(hidden_size: checkpoint 32 vs model 48"):
        train_rl(from_dict(RLConfig, d), out, resume=True, **QUIET)
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1


def test_a_refused_sft_start_leaves_the_folder_free(char_tokenizer_dir, tmp_path):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", id_corpus(8))
    out = tmp_path / "run"
    with pytest.raises(DataError):
        train_sft(from_dict(SFTConfig, sft_dict(char_tokenizer_dir, tmp_path / "typo.jsonl")), out, **QUIET)
    summary = train_sft(from_dict(SFTConfig, sft_dict(char_tokenizer_dir, corpus, max_steps=1)), out, **QUIET)
    assert summary["steps"] == 1


def test_a_refused_rl_start_leaves_the_folder_free(char_tokenizer_dir, tmp_path):
    prompts = write_jsonl(tmp_path / "prompts.jsonl", [PROMPT, {**PROMPT, "id": "b"}])
    out = tmp_path / "run"
    bad = rl_dict(char_tokenizer_dir, prompts, max_steps=1, model={"tokenizer": str(tmp_path / "no-tokenizer")})
    with pytest.raises(ValueError, match="no tokenizer"):
        train_rl(from_dict(RLConfig, bad), out, **QUIET)
    assert train_rl(from_dict(RLConfig, rl_dict(char_tokenizer_dir, prompts, max_steps=1)), out, **QUIET)["steps"] == 1


def test_a_tokenizer_larger_than_the_models_embedding_is_refused(char_tokenizer_dir, tmp_path):
    """A saved model with another model's (larger) tokenizer: the embedding would grow to fit and train on noise."""
    model = save_model(tmp_path / "model", char_tokenizer_dir)
    cfg = from_dict(SFTConfig, sft_dict(char_tokenizer_dir, tmp_path / "c.jsonl",
                                        model={"init": None, "path": str(model), "tokenizer": str(QWEN3_TOKENIZER_DIR)}))  # fmt: skip
    with pytest.raises(ValueError, match=r"has \d+ tokens, more than the 20 embedding rows of the model"):
        load_policy(cfg.model)


def test_the_model_shortcut_brings_its_own_tokenizer(char_tokenizer_dir, tmp_path, capsys):
    """--model clears the config's model.tokenizer, so the example configs can be pointed at any saved model."""
    model = save_model(tmp_path / "model", char_tokenizer_dir)
    corpus = write_jsonl(tmp_path / "corpus.jsonl", id_corpus(8))
    config = tmp_path / "sft.yaml"
    d = sft_dict(QWEN3_TOKENIZER_DIR, corpus, max_steps=1)  # the file names another tokenizer, as the examples do
    config.write_text(yaml.safe_dump(d))
    rc = npr.cli.main(["train", "sft", "--config", str(config), "--out", str(tmp_path / "run"), "--model", str(model),
                       "--json"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["steps"] == 1


def test_lora_dropout_with_gradient_checkpointing_is_refused_for_rl(char_tokenizer_dir, tmp_path):
    d = rl_dict(char_tokenizer_dir, tmp_path / "p.jsonl",
                model={"lora_r": 4, "lora_dropout": 0.1, "gradient_checkpointing": True})  # fmt: skip
    with pytest.raises(ConfigError, match=r"model\.lora_dropout=0\.1 with gradient checkpointing"):
        from_dict(RLConfig, d)
