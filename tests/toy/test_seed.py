"""``npr toy seed``: a quick build writes a loadable model with the toy tokenizer and its figures, a second call
finds it in the cache, and the corpus mixes the answers as configured."""

from __future__ import annotations

import json

import pytest

from npr.cli import main
from npr.schema import validate
from npr.tokens import TagIds, load_tokenizer
from npr.toy.seed import QUICK, SeedConfig, build_seed, corpus, imperfect
from npr.toy.tokenizer import toy_tokenizer


def test_corpus_mixes_sequential_valid_and_flawed_answers():
    tok = toy_tokenizer()
    config = SeedConfig(problems=600, parallel_share=0.5, format_share=0.5, imperfect_share=0.5)
    rows = corpus(config, tok)
    assert len(rows) == 600
    texts = [tok.decode(r["response_ids"][:-1]) for r in rows]
    assert all(r["response_ids"][-1] == tok.eos_token_id for r in rows)
    tagged = [t for t in texts if t.startswith("<guideline>")]
    valid = [t for t in tagged if not validate(t)]
    assert 0.15 < len(tagged) / len(texts) < 0.35  # 0.5 x 0.5 of the examples
    assert 0.3 < len(valid) / len(tagged) < 0.85  # half perfect, and a third of the flawed ones (sibling) still valid


def test_each_flaw_is_what_it_says():
    import random

    from npr.eval.toy import get_task

    task = get_task("products")
    problem = task.problems("train", 1, parts=(3,))[0]
    codes = {tuple(v.code for v in validate(imperfect(task, problem, random.Random(s)))) for s in range(30)}
    assert codes == {("missing_takeaway",), ("step_count",), ()}


def test_the_cache_key_follows_the_settings_and_the_world(monkeypatch):
    from npr.eval.toy.largest import Largest

    base = SeedConfig().key()
    assert SeedConfig().key() == base and SeedConfig(seed=1).key() != base
    monkeypatch.setattr(Largest, "reduce", lambda self, p: [f"the largest is {p.answer}"])
    assert SeedConfig().key() != base  # a seed trained on the old wording is not reused


def test_a_bad_seed_config_is_refused():
    with pytest.raises(ValueError, match="format_share=1.5 must be in"):
        SeedConfig(format_share=1.5)
    with pytest.raises(ValueError, match="unknown toy task 'sums'"):
        SeedConfig(families=("sums",))


@pytest.mark.slow
def test_quick_build_then_cache(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NPR_CACHE", str(tmp_path / "cache"))
    assert main(["toy", "seed", "--quick", "--json", "--out", str(tmp_path / "seed")]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["cached"] is False and first["trained_tokens"] > 0 and 4e5 < first["parameters"] < 1e6
    for name in ("products", "pick", "largest"):
        assert 0 <= first[name]["format_valid"] <= 1 and 0 <= first[name]["accuracy"] <= 1
    tok = load_tokenizer(tmp_path / "seed")
    TagIds.from_tokenizer(tok)
    assert (tmp_path / "seed" / "model.safetensors").is_file()

    again = build_seed(SeedConfig(**QUICK), progress=False, log=lambda m: None)
    assert again["cached"] is True and again["products"] == first["products"]
    assert main(["toy", "seed", "--quick", "--out", str(tmp_path / "seed")]) == 2  # not empty: refused
    assert "is not empty" in capsys.readouterr().err
