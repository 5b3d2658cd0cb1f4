"""``npr tour``: a CPU tour of the foundation on a real small model.

1. SmolLM2-135M-Instruct gets the eight NPR tags as single special tokens.
2. A hand-written NPR answer is checked by the format validator, next to a broken variant and its penalty.
3. The answer is tokenized after the chat prompt and laid out by :mod:`npr.topology`: segments and positions.
4. One forward with the parallel mask scores every token from the state that predicts it (``Layout.pred``).
5. Each branch is then run alone, as an ordinary causal sequence ``prefix + branch``: its log-probs match the
   parallel forward's, which is what "the branches cannot see each other" means in numbers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from npr.schema import format_reward, parse, validate
from npr.tokens import add_tags, encode_prompt
from npr.topology import SegmentKind, layout

QUESTION = "A shop sells pens at 3 dollars each and notebooks at 5 dollars each. How much do 4 pens and 2 notebooks cost?"
ANSWER = """<guideline>
<plan>1: Work out the cost of the 4 pens.</plan>
<plan>2: Work out the cost of the 2 notebooks.</plan>
</guideline>
<step>
1: Each pen costs 3 dollars, so 4 pens cost 4 * 3 = 12 dollars.
</step>
<step>
2: Each notebook costs 5 dollars, so 2 notebooks cost 2 * 5 = 10 dollars.
</step>
<takeaway>
The pens cost 12 dollars and the notebooks cost 10 dollars.
</takeaway>
<guideline>
<plan>1: Add the two costs.</plan>
</guideline>
<step>
1: 12 + 10 = 22 dollars.
</step>
<takeaway>
The total is 22 dollars.
</takeaway>
Together they cost \\boxed{22} dollars."""


def _say(quiet: bool, *lines: str) -> None:
    if not quiet:
        print(*lines, sep="\n")


def run_tour(model: str | None = None, out: str | None = None, quiet: bool = False) -> dict:
    """Run the tour, print it unless ``quiet``, and return (and with ``out``, save) every figure as a dict."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from npr.toy.smollm2 import smollm2_dir

    hf_logging.disable_progress_bar()  # the tour prints its own steps; weight-loading bars would only add noise
    started = time.perf_counter()
    path = Path(model) if model else smollm2_dir(quiet=quiet)
    tok = AutoTokenizer.from_pretrained(path)
    lm = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="sdpa").eval()
    tags = add_tags(lm, tok)
    _say(quiet, f"== 1. Model: {path.name}, {sum(p.numel() for p in lm.parameters()) / 1e6:.0f}M parameters",
         "   tags added as single tokens: " + ", ".join(f"{t}={i}" for t, i in tags.as_dict().items()))  # fmt: skip

    broken = ANSWER.replace("<step>\n2: Each notebook costs 5 dollars, so 2 notebooks cost 2 * 5 = 10 dollars.\n</step>\n", "")
    violations = validate(ANSWER)
    broken_violations = validate(broken)
    parsed = parse(ANSWER)
    _say(quiet, "", "== 2. Format",
         f"   answer: {len(parsed.blocks)} blocks, plans per block {[len(b.plans) for b in parsed.blocks]}, "
         f"boxed {parsed.boxed!r}, violations {[v.code for v in violations]}, format reward {format_reward(ANSWER)}",
         f"   with one step removed: violations {[v.code for v in broken_violations]}, "
         f"format reward {format_reward(broken)}")  # fmt: skip

    prompt_ids = encode_prompt(tok, QUESTION)
    response_ids = tok.encode(ANSWER, add_special_tokens=False) + [tok.eos_token_id]
    ids = prompt_ids + response_ids
    lay = layout(ids, tags, prompt_len=len(prompt_ids))
    _say(quiet, "", f"== 3. Topology: {len(prompt_ids)} prompt + {len(response_ids)} response tokens",
         "   segment     block branch  tokens  positions")  # fmt: skip
    for s in lay.segments:
        pos = lay.position_ids[s.start : s.end]
        _say(quiet, f"   {s.kind.value:<10} {s.block if s.block is not None else '-':>5} "
                    f"{s.branch + 1 if s.branch is not None else '-':>6} {len(s):>7}  {int(pos[0])}..{int(pos[-1])}")  # fmt: skip

    with torch.no_grad():
        logits = lm(**lay.attention_inputs("bool")).logits[0]
        logprobs = lay.token_logprobs(logits)
        seq = layout(ids, tags, prompt_len=len(prompt_ids), parallel=False)
        seq_logprobs = seq.token_logprobs(lm(**seq.attention_inputs("bool")).logits[0])
        branch_diffs = []
        first_block_steps = [s for s in lay.segments if s.kind is SegmentKind.STEP and s.block == 0]
        prefix = ids[: first_block_steps[0].start]
        for s in first_block_steps:
            alone = lm(input_ids=torch.tensor([prefix + ids[s.start : s.end]])).logits[0]
            alone_lp = torch.log_softmax(alone[len(prefix) - 1 : -1], -1).gather(-1, torch.tensor(ids[s.start : s.end])[:, None])[:, 0]  # fmt: skip
            branch_diffs.append(float((alone_lp - logprobs[s.start : s.end]).abs().max()))

    response = lay.response_mask
    total = int(response.sum())
    critical = int(lay.position_ids[response].max()) - len(prompt_ids) + 1
    summary = {
        "model": str(path),
        "tag_ids": tags.as_dict(),
        "format": {
            "valid": not violations,
            "format_reward": format_reward(ANSWER),
            "broken_violations": [v.code for v in broken_violations],
            "broken_format_reward": format_reward(broken),
        },
        "tokens": {"prompt": len(prompt_ids), "response": total, "critical_path": critical},
        "ideal_speedup": total / critical,
        "segments": [
            {"kind": s.kind.value, "block": s.block, "branch": s.branch, "start": s.start, "end": s.end}
            for s in lay.segments
        ],
        "mean_logprob_parallel": float(logprobs[response].mean()),
        "mean_logprob_sequential": float(seq_logprobs[response].mean()),
        "branch_vs_isolated_max_abs_logprob_diff": branch_diffs,
        "seconds": time.perf_counter() - started,
    }
    _say(quiet, "", "== 4. One forward with the parallel mask",
         f"   {total} response tokens on a critical path of {critical}: ideal speedup {total / critical:.2f}x",
         f"   mean log-prob per response token: parallel layout {summary['mean_logprob_parallel']:.3f}, "
         f"same tokens read sequentially {summary['mean_logprob_sequential']:.3f}",
         "", "== 5. Each branch of block 1 run alone (prefix + branch, plain causal forward)",
         *(f"   branch {i + 1}: max |log-prob difference| = {d:.2e}" for i, d in enumerate(branch_diffs)),
         "   (float32 round-off: the parallel forward gives each branch exactly the context it would have alone)",
         "", f"done in {summary['seconds']:.1f}s")  # fmt: skip
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "tour.json").write_text(json.dumps(summary, indent=2))
        _say(quiet, f"wrote {Path(out) / 'tour.json'}")
    return summary
