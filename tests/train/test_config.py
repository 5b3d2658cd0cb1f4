"""The YAML config loader: files, --set overrides, relative paths, the zero and algorithm presets, and round trips."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from npr.train.config import PRESETS, ZERO_DEFAULTS, ConfigError, RLConfig, SFTConfig, load_config, to_dict
from npr.train.config.loader import apply_overrides, from_dict

from .helpers import TINY_QWEN3, rl_dict, sft_dict


def minimal_rl(**algorithm) -> dict:
    """The smallest RLConfig dict; no file is opened while a config is built, so the paths need not exist."""
    return {
        "model": {"init": dict(TINY_QWEN3), "tokenizer": "/nonexistent/tokenizer"},
        "data": {"path": "/nonexistent/prompts.jsonl"},
        "rollout": {"max_tokens": 1000, "kv_budget": 4096},
        "algorithm": algorithm,
    }


def write_yaml(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


# ---- loading a file ---------------------------------------------------------------------------------------------


def test_a_yaml_file_loads_into_the_typed_config(tmp_path):
    file = write_yaml(tmp_path / "rl.yaml", {
        **minimal_rl(name="grpo", epochs=2, mini_batches=2),
        "rollout": {"prompts_per_step": 4, "group_size": 3, "mode": "sequential", "max_tokens": 64},
        "reward": {"terms": {"correctness": 1.0, "format": 0.5}, "format_aware": True},
        "lr": 3e-6, "max_steps": 7, "report_to": ["tensorboard"],
    })  # fmt: skip
    cfg = load_config(RLConfig, file)
    assert isinstance(cfg, RLConfig)
    assert (cfg.rollout.prompts_per_step, cfg.rollout.group_size, cfg.rollout.mode) == (4, 3, "sequential")
    assert (cfg.algorithm.name, cfg.algorithm.epochs, cfg.algorithm.mini_batches) == ("grpo", 2, 2)
    assert cfg.reward.terms == {"correctness": 1.0, "format": 0.5} and cfg.reward.format_aware is True
    assert (cfg.lr, cfg.max_steps, cfg.report_to) == (3e-6, 7, ["tensorboard"])
    assert cfg.model.init == TINY_QWEN3
    assert cfg.seed == 0  # unset keys keep their defaults


def test_an_sft_yaml_file_loads(tmp_path, char_tokenizer_dir):
    d = sft_dict(char_tokenizer_dir, tmp_path / "c.jsonl", pack=False, grad_accum=3)
    file = write_yaml(tmp_path / "sft.yaml", d)
    cfg = load_config(SFTConfig, file)
    assert (cfg.pack, cfg.grad_accum, cfg.max_steps, cfg.batch_size) == (False, 3, 4, 8)
    assert cfg.model.tokenizer == str(char_tokenizer_dir)


def test_an_empty_yaml_file_is_an_empty_config_not_a_crash(tmp_path):
    file = tmp_path / "empty.yaml"
    file.write_text("")
    with pytest.raises(ConfigError, match="model"):
        load_config(RLConfig, file)
    cfg = load_config(RLConfig, file, ["model.init={model_type: qwen3}", "model.tokenizer=t", "data.path=p.jsonl"])
    assert cfg.model.init == {"model_type": "qwen3"}


# ---- overrides --------------------------------------------------------------------------------------------------


def test_overrides_set_nested_keys_with_yaml_values():
    data = {"rollout": {"group_size": 8, "mode": "parallel"}, "lr": 1.0}
    before = copy.deepcopy(data)
    out = apply_overrides(data, [
        "rollout.group_size=4", "algorithm.filters=[invalid, truncated]", "reward.format_aware=true",
        "rollout.max_total_tokens=null", "data.instruction=", "model.init.hidden_size=48", "seed=3",
        "data.system=a=b", "lr=0.5", "reward.terms={correctness: 1.0, format: 0.5}",
    ])  # fmt: skip
    assert out == {
        "rollout": {"group_size": 4, "mode": "parallel", "max_total_tokens": None},
        "algorithm": {"filters": ["invalid", "truncated"]},
        "reward": {"format_aware": True, "terms": {"correctness": 1.0, "format": 0.5}},
        "data": {"instruction": None, "system": "a=b"},  # only the first '=' splits key from value
        "model": {"init": {"hidden_size": 48}},
        "seed": 3,
        "lr": 0.5,
    }
    assert data == before  # the input is not modified


def test_an_override_replaces_a_null_section():
    assert apply_overrides({"model": {"init": None}}, ["model.init.model_type=llama"]) == {
        "model": {"init": {"model_type": "llama"}}
    }


@pytest.mark.parametrize(
    "override, match",
    [
        ("lr", r"override 'lr' must look like key=value"),
        ("=3", r"override '=3' must look like key=value"),
        ("lr.x=1", r"override 'lr\.x=1': 'lr' is a value, not a section"),
        ("rollout.group_size=[4,", r"override 'rollout\.group_size=\[4,': the value is not valid YAML"),
    ],
)
def test_bad_overrides_are_config_errors(override, match):
    with pytest.raises(ConfigError, match=match):
        apply_overrides({"lr": 1.0}, [override])


def test_overrides_go_over_the_file_through_load_config(tmp_path):
    file = write_yaml(tmp_path / "rl.yaml", {**minimal_rl(name="dapo"), "lr": 1e-6})
    cfg = load_config(RLConfig, file, ["lr=1e-5", "rollout.group_size=4", "algorithm.filters=[truncated]",
                                       "rollout.max_total_tokens=null", "reward.format_aware=true"])  # fmt: skip
    # YAML 1.1 reads 1e-5 (no dot) as a string; a float field takes it as the number it says.
    assert cfg.lr == 1e-5 and isinstance(cfg.lr, float)
    assert cfg.rollout.group_size == 4 and cfg.rollout.max_tokens == 1000  # the rest of the section stays
    assert cfg.algorithm.filters == ["truncated"] and cfg.algorithm.name == "dapo"
    assert cfg.rollout.max_total_tokens is None and cfg.reward.format_aware is True


def test_an_override_with_an_unknown_key_is_refused_with_a_suggestion(tmp_path):
    file = write_yaml(tmp_path / "rl.yaml", minimal_rl())
    with pytest.raises(ConfigError, match=r"unknown config key 'rollout\.group_sise'; did you mean 'group_size'\?"):
        load_config(RLConfig, file, ["rollout.group_sise=4"])


# ---- relative paths ---------------------------------------------------------------------------------------------


@pytest.fixture
def two_folders(tmp_path, monkeypatch):
    """A config folder and a different working directory, each with its own ``prompts.jsonl``."""
    conf, cwd = tmp_path / "conf", tmp_path / "elsewhere"
    for folder in (conf, cwd):
        (folder / "tok").mkdir(parents=True)
        (folder / "prompts.jsonl").write_text("{}\n")
    monkeypatch.chdir(cwd)
    return conf, cwd


def test_relative_paths_in_a_file_are_taken_from_the_files_folder(two_folders):
    conf, cwd = two_folders
    file = write_yaml(conf / "rl.yaml", {"model": {"init": {"model_type": "qwen3"}, "tokenizer": "tok"},
                                         "data": {"path": "prompts.jsonl"}})  # fmt: skip
    cfg = load_config(RLConfig, file)
    assert cfg.data.path == str((conf / "prompts.jsonl").resolve())
    assert cfg.model.tokenizer == str((conf / "tok").resolve())


def test_relative_paths_in_a_file_work_when_the_file_is_named_relatively(two_folders):
    conf, cwd = two_folders
    write_yaml(conf / "rl.yaml", {"model": {"init": {"model_type": "qwen3"}, "tokenizer": "tok"},
                                  "data": {"path": "prompts.jsonl"}})  # fmt: skip
    cfg = load_config(RLConfig, Path("..") / "conf" / "rl.yaml")
    assert cfg.data.path == str((conf / "prompts.jsonl").resolve())


def test_override_paths_stay_relative_to_the_working_directory(two_folders):
    conf, cwd = two_folders
    file = write_yaml(conf / "rl.yaml", {"model": {"init": {"model_type": "qwen3"}, "tokenizer": "tok"},
                                         "data": {"path": "prompts.jsonl"}})  # fmt: skip
    cfg = load_config(RLConfig, file, ["data.path=prompts.jsonl", "model.tokenizer=tok"])
    assert Path(cfg.data.path).resolve() == (cwd / "prompts.jsonl").resolve()
    assert Path(cfg.model.tokenizer).resolve() == (cwd / "tok").resolve()


def test_an_sft_corpus_path_is_resolved_against_the_file_too(two_folders):
    conf, cwd = two_folders
    file = write_yaml(conf / "sft.yaml", {"model": {"init": {"model_type": "qwen3"}, "tokenizer": "tok"},
                                          "data": {"path": "prompts.jsonl"}})  # fmt: skip
    assert load_config(SFTConfig, file).data.path == str((conf / "prompts.jsonl").resolve())


def test_a_hub_id_or_missing_relative_path_is_kept_as_written(two_folders):
    conf, cwd = two_folders
    file = write_yaml(conf / "rl.yaml", {"model": {"path": "Qwen/Qwen3-0.6B"}, "data": {"path": "not-here.jsonl"}})
    cfg = load_config(RLConfig, file)
    assert cfg.model.path == "Qwen/Qwen3-0.6B" and cfg.model.tokenizer_path == "Qwen/Qwen3-0.6B"
    assert cfg.data.path == "not-here.jsonl"


def test_absolute_and_home_paths(two_folders, monkeypatch, tmp_path):
    conf, cwd = two_folders
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    file = write_yaml(conf / "rl.yaml", {"model": {"init": {"model_type": "qwen3"}, "tokenizer": str(cwd / "tok")},
                                         "data": {"path": "~/prompts.jsonl"}})  # fmt: skip
    cfg = load_config(RLConfig, file)
    assert cfg.model.tokenizer == str(cwd / "tok")
    assert cfg.data.path == str(tmp_path / "home" / "prompts.jsonl")


# ---- presets ----------------------------------------------------------------------------------------------------


def test_zero_defaults_go_under_the_file(tmp_path):
    data = {**minimal_rl(), "rollout": {"group_size": 4}}
    del data["algorithm"]
    file = write_yaml(tmp_path / "zero.yaml", data)
    snapshot = copy.deepcopy(ZERO_DEFAULTS)
    cfg = load_config(RLConfig, file, defaults=ZERO_DEFAULTS)
    assert cfg.algorithm.name == "dapo" and cfg.reward.format_aware is True and cfg.rollout.mode == "sequential"
    assert cfg.rollout.group_size == 4  # a section in the file merges with the preset's, key by key
    assert cfg.algorithm.clip_high == 0.28 and cfg.algorithm.dynamic_sampling is True
    assert ZERO_DEFAULTS == snapshot
    plain = load_config(RLConfig, file)  # `npr train rl` on the same file: no Stage-1 preset
    assert (plain.algorithm.name, plain.reward.format_aware, plain.rollout.mode) == ("papo", False, "parallel")


def test_the_file_wins_over_zero_defaults_and_overrides_win_over_both(tmp_path):
    file = write_yaml(tmp_path / "zero.yaml", {
        **minimal_rl(name="grpo"), "reward": {"format_aware": False}, "rollout": {"mode": "parallel"},
    })  # fmt: skip
    cfg = load_config(RLConfig, file, defaults=ZERO_DEFAULTS)
    assert (cfg.algorithm.name, cfg.reward.format_aware, cfg.rollout.mode) == ("grpo", False, "parallel")
    cfg = load_config(RLConfig, file, ["algorithm.name=papo", "rollout.mode=sequential"], defaults=ZERO_DEFAULTS)
    assert (cfg.algorithm.name, cfg.rollout.mode) == ("papo", "sequential")


def test_papo_preset():
    a = from_dict(RLConfig, minimal_rl(name="papo")).algorithm
    assert (a.advantage, a.policy_loss, a.aggregation) == ("papo", "reinforce", "token-mean")
    assert a.filters == ["invalid", "truncated"]
    assert (a.dynamic_sampling, a.kl, a.kl_coef, a.epochs, a.mini_batches) == (False, "none", 0.0, 1, 1)
    assert a.overlong_buffer == 0 and a.norm_length == 1000


def test_dapo_preset():
    a = from_dict(RLConfig, minimal_rl(name="dapo")).algorithm
    assert (a.advantage, a.policy_loss, a.aggregation) == ("grpo", "ppo_clip", "token-mean")
    assert (a.clip_low, a.clip_high) == (0.2, 0.28)
    assert a.dynamic_sampling is True and (a.kl, a.kl_coef) == ("none", 0.0)
    assert a.overlong_buffer == 1000 // 4 and a.overlong_factor == 1.0


def test_dapo_overlong_buffer_follows_max_tokens():
    for max_tokens, buffer in ((64, 16), (10, 2), (2, 1)):
        d = minimal_rl(name="dapo")
        d["rollout"]["max_tokens"] = max_tokens
        assert from_dict(RLConfig, d).algorithm.overlong_buffer == buffer


def test_grpo_preset():
    a = from_dict(RLConfig, minimal_rl(name="grpo")).algorithm
    assert (a.advantage, a.policy_loss, a.aggregation) == ("grpo", "ppo_clip", "seq-mean-token-mean")
    assert (a.kl, a.kl_coef) == ("k3", 0.04) and (a.clip_low, a.clip_high) == (0.2, 0.2)
    assert a.filters == [] and a.dynamic_sampling is False


def test_every_preset_key_is_filled():
    for name, preset in PRESETS.items():
        a = from_dict(RLConfig, minimal_rl(name=name)).algorithm
        assert all(getattr(a, key) is not None for key in preset), name


def test_fields_that_are_set_win_over_the_preset():
    a = from_dict(RLConfig, minimal_rl(name="dapo", clip_high=0.3, overlong_buffer=0, dynamic_sampling=False)).algorithm
    assert (a.clip_high, a.overlong_buffer, a.dynamic_sampling) == (0.3, 0, False)
    a = from_dict(RLConfig, minimal_rl(name="papo", filters=[], advantage="grpo")).algorithm
    assert a.filters == [] and a.advantage == "grpo" and a.policy_loss == "reinforce"
    a = from_dict(RLConfig, minimal_rl(name="grpo", kl="none")).algorithm
    assert (a.kl, a.kl_coef) == ("none", 0.0)  # switching the KL off also drops grpo's coefficient


# ---- round trips ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ["papo", "dapo", "grpo"])
def test_rl_config_round_trips(char_tokenizer_dir, tmp_path, algo):
    cfg = from_dict(RLConfig, rl_dict(char_tokenizer_dir, tmp_path / "p.jsonl", algorithm={"name": algo},
                                      reward={"terms": {"correctness": 1.0, "format": 0.5}, "format_aware": True},
                                      report_to=["tensorboard"], model={"lora_r": 4}))  # fmt: skip
    d = to_dict(cfg)
    again = from_dict(RLConfig, d)
    assert to_dict(again) == d and again == cfg
    assert d["algorithm"]["name"] == algo and d["model"]["lora_r"] == 4
    # config.yaml in an output folder is this dict in YAML: it loads back to the same config
    file = write_yaml(tmp_path / "config.yaml", d)
    assert to_dict(load_config(RLConfig, file)) == d


def test_sft_config_round_trips(char_tokenizer_dir, tmp_path):
    cfg = from_dict(SFTConfig, sft_dict(char_tokenizer_dir, tmp_path / "c.jsonl", pack=False,
                                        data={"max_length": 64, "skip_overlong": True, "format": "ids"}))  # fmt: skip
    d = to_dict(cfg)
    assert to_dict(from_dict(SFTConfig, d)) == d
    assert d["data"]["max_length"] == 64 and d["pack"] is False
    file = write_yaml(tmp_path / "config.yaml", d)
    assert to_dict(load_config(SFTConfig, file)) == d
