"""A tiny random model over the toy tokenizer, and an engine that writes chosen answers through real decode steps."""

from __future__ import annotations

import json

import pytest

from npr.engine import Engine, EngineConfig
from npr.engine.bench import replay_steer
from npr.eval.runner import sample_seed


class ScriptedEngine(Engine):
    """The real engine, but sample ``s`` of problem ``p`` writes ``answers[p][s]``, token by token, with its
    forks, joins, budgets and log-probs all the engine's own: the built cases of the distillation tests."""

    def __init__(self, model_dir, answers: dict[str, list[str]], *, seed: int = 0, stop_after: int | None = None):
        from transformers import AutoModelForCausalLM

        from npr.tokens import load_tokenizer

        tokenizer = load_tokenizer(model_dir)
        super().__init__(AutoModelForCausalLM.from_pretrained(model_dir).eval(), tokenizer, EngineConfig(kv_budget=1 << 14))
        self.by_seed = {
            sample_seed(seed, "distill", pid, s): tokenizer.encode(text, add_special_tokens=False)
            for pid, texts in answers.items() for s, text in enumerate(texts)
        }  # fmt: skip
        self.taken = []  # every trajectory handed out, to compare with the corpus
        self.stop_after = stop_after

    def submit(self, prompt, params=None, mode="parallel", request_id=None, *, steer=None, _script=None):
        response = self.by_seed.get(params.seed)
        if response is None:
            raise AssertionError("a sample was drawn that no built case expects")
        eos = self.tokenizer.eos_token_id
        return super().submit(prompt, params, mode, request_id, steer=replay_steer(response, eos))

    def take(self, request_id):
        traj = super().take(request_id)
        self.taken.append(traj)
        if self.stop_after is not None and len(self.taken) >= self.stop_after:
            raise KeyboardInterrupt  # a run killed after this many samples were graded... or not yet written
        return traj


def write_problems(path, problems: dict[str, str]) -> None:
    path.write_text("".join(json.dumps({"id": pid, "question": f"what is {a}", "answer": a}) + "\n"
                            for pid, a in problems.items()))  # fmt: skip
