"""The toy tokenizer: real, compact, round-trips every toy text, one id per tag, and drives the engine in parallel
mode with parity against the trainer's forward."""

from __future__ import annotations

import pytest
import torch

from npr.engine import Engine, EngineConfig, SamplingParams
from npr.eval.toy import TASKS
from npr.tokens import TagIds, encode_prompt, load_tokenizer
from npr.toy.tokenizer import TOY_INSTRUCTION, TOY_SEQUENTIAL_INSTRUCTION, toy_tokenizer
from npr.train import token_logprobs

TAGS = ("<guideline>", "</guideline>", "<plan>", "</plan>", "<step>", "</step>", "<takeaway>", "</takeaway>")


@pytest.fixture(scope="module")
def tok():
    return toy_tokenizer()


def test_every_toy_text_round_trips_without_unknown_characters(tok):
    for task in TASKS.values():
        for p in task.problems("train", 40, seed=7):
            for text in (task.sequential(p), task.parallel(p)):
                ids = tok.encode(text, add_special_tokens=False)
                assert tok.unk_token_id not in ids and tok.decode(ids) == text
            for instruction in (TOY_INSTRUCTION, TOY_SEQUENTIAL_INSTRUCTION):
                ids = encode_prompt(tok, p.question, instruction=instruction)
                assert tok.unk_token_id not in ids
                assert tok.decode(ids).endswith("<|im_start|>assistant\n")


def test_tags_and_chat_tokens_are_single_ids(tok):
    tags = TagIds.from_tokenizer(tok)
    for text, tid in zip(TAGS, tags.all):
        assert tok.encode(text, add_special_tokens=False) == [tid]
    for text in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        assert len(tok.encode(text, add_special_tokens=False)) == 1
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    for text in ("user", "assistant", "\\boxed{"):
        assert len(tok.encode(text, add_special_tokens=False)) == 1
    assert len(tok) == 69


def test_it_saves_and_loads_as_a_folder(tok, tmp_path):
    tok.save_pretrained(tmp_path)
    again = load_tokenizer(tmp_path)
    text = TASKS["pick"].parallel(TASKS["pick"].problems("train", 1)[0])
    assert again.encode(text, add_special_tokens=False) == tok.encode(text, add_special_tokens=False)
    assert encode_prompt(again, "2*3+4*5", instruction=TOY_INSTRUCTION) == encode_prompt(tok, "2*3+4*5", instruction=TOY_INSTRUCTION)


def test_the_engine_decodes_a_toy_model_in_parallel_with_trainer_parity(tok, tiny_qwen3):
    model = tiny_qwen3(tokenizer=tok, attn_implementation="sdpa").eval()
    engine = Engine(model, tok, EngineConfig(kv_budget=4096))
    prompt = encode_prompt(tok, "3*4+5*6+7*8", instruction=TOY_INSTRUCTION)
    words = tok.encode("3*4=12", add_special_tokens=False)
    rid = engine.submit(prompt, SamplingParams(seed=0, max_tokens=256), steer=engine.shape_steer([[6, 6, 6]], words=words))
    while engine.has_work():
        engine.step()
    traj = engine.take(rid)
    assert traj.stats["forks"] >= 1  # really decoded as branches
    with torch.no_grad():
        trainer = token_logprobs(model, traj.token_ids, engine.tags, traj.prompt_len)
    sampled = torch.tensor(traj.sampled[traj.prompt_len:])
    engine_lp = torch.tensor([float("nan") if x is None else x for x in traj.logprobs[traj.prompt_len:]])
    assert float((trainer[sampled] - engine_lp[sampled]).abs().max()) < 1e-4
