"""Why branches help in the toy world: the written NPR solutions, replayed through the engine's real forks and joins,
have a critical path well below their total length, and more so the more parts a problem has."""

from __future__ import annotations

import pytest
from transformers import AutoConfig, AutoModelForCausalLM

from npr.engine import Engine, EngineConfig
from npr.eval.toy import INSTRUCTIONS, TASKS
from npr.tokens import encode_prompt
from npr.toy.seed import MODEL
from npr.toy.tokenizer import toy_tokenizer


@pytest.fixture(scope="module")
def engine():
    tok = toy_tokenizer()
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**{**MODEL, "vocab_size": len(tok)})).eval()
    return Engine(model, tok, EngineConfig(kv_budget=1 << 14))


def _ideal_speedup(engine, task, parts: int, n: int = 12) -> float:
    tok = engine.tokenizer
    total = critical = 0
    for p in task.problems("test", n, seed=0, parts=(parts,)):
        prompt = encode_prompt(tok, p.question, instruction=INSTRUCTIONS["npr"])
        response = tok.encode(task.parallel(p), add_special_tokens=False) + [tok.eos_token_id]
        traj = engine.replay(prompt, response, "parallel")
        assert traj.token_ids[traj.prompt_len :] == response  # the replay went through the whole written solution
        total += len(response)
        critical += traj.stats["critical_path_tokens"]
    return total / critical


@pytest.mark.parametrize("name", sorted(TASKS))
def test_written_solutions_shorten_the_critical_path_more_with_more_parts(engine, name):
    speedups = [_ideal_speedup(engine, TASKS[name], k) for k in (2, 3, 4)]
    assert 1.15 < speedups[0] < speedups[1] < speedups[2]
    # pick and largest write several operations per branch, so 4 parts cut the path by more than a third
    assert speedups[2] > (1.6 if name in ("pick", "largest") else 1.35)
