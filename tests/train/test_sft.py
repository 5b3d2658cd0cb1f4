"""Parallel SFT on transformers.Trainer: the loss falls, packed equals unpacked, the tags are added, LoRA saves an
adapter (and merged weights on request), and text corpora are tokenised once with the tags as single tokens."""

from __future__ import annotations

import json

import pytest
import torch

from npr.train.config import SFTConfig, SFTDataConfig
from npr.train.config.loader import from_dict
from npr.train.corpus import load_corpus
from npr.train.forward import score
from npr.train.sft import PackedCollator, train_sft

from .helpers import id_corpus, sft_dict, write_jsonl


@pytest.fixture
def corpus(tmp_path):
    return write_jsonl(tmp_path / "corpus.jsonl", id_corpus(48))


def run(char_tokenizer_dir, corpus, out, **over):
    cfg = from_dict(SFTConfig, sft_dict(char_tokenizer_dir, corpus, **over))
    summary = train_sft(cfg, out, progress=False, log=lambda m: None)
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    return summary, [r for r in records if "loss" in r]


def test_loss_falls_and_outputs_are_written(char_tokenizer_dir, corpus, tmp_path):
    summary, logs = run(char_tokenizer_dir, corpus, tmp_path / "run", max_steps=12, report_to=["tensorboard"])
    assert logs[-1]["loss"] < 0.6 * logs[0]["loss"], [r["loss"] for r in logs]
    out = tmp_path / "run"
    for name in ("config.yaml", "metrics.jsonl", "summary.json", "model/config.json", "model/tokenizer.json"):
        assert (out / name).is_file(), name
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["checkpoint-10", "checkpoint-12"]
    assert summary["steps"] == 12 and all(r["tokens_per_s"] > 0 for r in logs)


def test_packed_equals_unpacked(char_tokenizer_dir, corpus, tmp_path):
    _, packed = run(char_tokenizer_dir, corpus, tmp_path / "packed", max_steps=3, pack=True, pack_tokens=128)
    _, unpacked = run(char_tokenizer_dir, corpus, tmp_path / "unpacked", max_steps=3, pack=False)
    for a, b in zip(packed, unpacked):
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-4)


def test_gradient_accumulation_gives_the_token_mean_of_the_whole_step(char_tokenizer_dir, corpus, tmp_path):
    """batch 8 x 2 accumulation steps = batch 16 at once: the loss is a token mean over the optimizer step."""
    _, acc = run(char_tokenizer_dir, corpus, tmp_path / "acc", max_steps=2, batch_size=8, grad_accum=2)
    _, whole = run(char_tokenizer_dir, corpus, tmp_path / "whole", max_steps=2, batch_size=16)
    assert acc[0]["loss"] == pytest.approx(whole[0]["loss"], abs=1e-5)
    assert acc[0]["grad_norm"] == pytest.approx(whole[0]["grad_norm"], rel=1e-4)


def test_flex_blockmask_loss_equals_sdpa(char_tokenizer_dir, corpus, tiny_qwen3):
    from npr.tokens import TagIds, load_tokenizer

    tok = load_tokenizer(char_tokenizer_dir)
    tags = TagIds.from_tokenizer(tok)
    cfg = SFTDataConfig(path=str(corpus))
    samples = load_corpus(cfg, tok, tags, len(tok)).samples[:12]
    batch = PackedCollator(tags, 256, 0)(samples)["packed"]
    sdpa = tiny_qwen3(len(tok), attn_implementation="sdpa")
    flex = tiny_qwen3(len(tok), attn_implementation="flex_attention")
    flex.load_state_dict(sdpa.state_dict())
    with torch.no_grad():
        a = -score(sdpa, batch).logp.mean()
        b = -score(flex, batch).logp.mean()
    assert float(a) == pytest.approx(float(b), abs=1e-5)


def test_text_corpus_is_tokenised_once_with_single_tag_tokens(npr_tokenizer, tmp_path):
    from npr.tokens import TagIds

    text = ("<guideline>\n<plan>1: a</plan>\n</guideline>\n<step>\n1: 6\n</step>\n<takeaway>\n6\n</takeaway>\n"
            "So \\boxed{6}.")  # fmt: skip
    path = write_jsonl(tmp_path / "text.jsonl", [{"prompt": "What is 2*3?", "response": text}])
    tags = TagIds.from_tokenizer(npr_tokenizer)
    [s] = load_corpus(SFTDataConfig(path=str(path)), npr_tokenizer, tags, len(npr_tokenizer)).samples
    response = list(s.token_ids[s.prompt_len :])
    assert response[-1] == npr_tokenizer.eos_token_id
    assert [t for t in response if tags.is_tag(t)] == [tags.guideline_open, tags.plan_open, tags.plan_close,
        tags.guideline_close, tags.step_open, tags.step_close, tags.takeaway_open, tags.takeaway_close]  # fmt: skip
    assert npr_tokenizer.decode(response[:-1]) == text
    assert "What is 2*3?" in npr_tokenizer.decode(list(s.token_ids[: s.prompt_len]))


def test_tags_are_added_when_the_model_lacks_them(qwen3_tokenizer, tiny_qwen3, tmp_path):
    """A saved model and tokenizer without the tags: SFT adds them, initialised from their words, and saves them."""
    from npr.tokens import TagIds
    from npr.train.config import ModelConfig
    from npr.train.model import load_policy

    folder = tmp_path / "base"
    model = tiny_qwen3(len(qwen3_tokenizer), attn_implementation="sdpa")
    model.save_pretrained(folder)
    qwen3_tokenizer.save_pretrained(folder)
    with pytest.raises(ValueError):
        TagIds.from_tokenizer(qwen3_tokenizer)
    policy, tok, tags = load_policy(ModelConfig(path=str(folder)))
    assert TagIds.from_tokenizer(tok) == tags
    emb = policy.get_input_embeddings().weight
    step_word = tok.encode("step", add_special_tokens=False)
    assert torch.allclose(emb[tags.step_open], emb[step_word].mean(0))


def test_lora_saves_an_adapter_and_merged_weights(char_tokenizer_dir, corpus, tmp_path):
    from transformers import AutoModelForCausalLM

    summary, logs = run(char_tokenizer_dir, corpus, tmp_path / "lora", max_steps=3,
                        model={"lora_r": 4, "lora_alpha": 8, "lora_target_modules": ["q_proj", "v_proj"],
                               "merge_lora": True})  # fmt: skip
    saved = summary["saved"]
    assert (tmp_path / "lora/model/adapter/adapter_config.json").is_file()
    assert saved["adapter"].endswith("adapter") and saved["model"].endswith("model")
    merged = AutoModelForCausalLM.from_pretrained(saved["model"])
    assert not any("lora" in n for n, _ in merged.named_parameters())
    assert logs[-1]["loss"] < logs[0]["loss"]


def test_config_refuses_inconsistent_values(char_tokenizer_dir, corpus):
    from npr.train.config import ConfigError

    with pytest.raises(ConfigError, match="pack_tokens=64 is below data.max_length=100"):
        from_dict(SFTConfig, sft_dict(char_tokenizer_dir, corpus, pack_tokens=64, data={"max_length": 100}))
    with pytest.raises(ConfigError, match="model.merge_lora needs LoRA"):
        from_dict(SFTConfig, sft_dict(char_tokenizer_dir, corpus, model={"merge_lora": True}))
