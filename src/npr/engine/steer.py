"""Scripted shapes: make any model walk a chosen NPR shape through real decode steps.

A random or untrained model will not write the format by itself. For benchmarks and tests, :class:`ShapeSteer`
chooses every token instead of the sampler: the trunk writes a guideline of k plans, each branch writes its given
number of words and closes, the trunk writes a takeaway, and after the last block a conclusion and EOS. Everything
else - forced headers, forks, joins, budgets, log-probs - is the engine's own, so a steered request costs exactly
what a sampled one of the same shape costs.
"""

from __future__ import annotations

from collections.abc import Sequence

from npr.tokens import TagIds


class ShapeSteer:
    """``shape[b][i]`` = words that branch i of block b writes before ``</step>``.

    Args:
        tags: the tag ids.
        eos: the id that ends the response.
        shape: step lengths per block, e.g. ``[[5, 9], [4]]``.
        step_header_len: tokens of the engine's step header for branch i (``len(header(i))``), a callable.
        join_header_len: tokens of the engine's join header.
        words: ordinary token ids to write, cycled.
        plan_len, takeaway_len, conclusion_len: words in each plan, takeaway and the conclusion.
    """

    def __init__(
        self,
        tags: TagIds,
        eos: int,
        shape: Sequence[Sequence[int]],
        step_header_len,
        join_header_len: int,
        words: Sequence[int] = tuple(range(1000, 1100)),
        plan_len: int = 2,
        takeaway_len: int = 3,
        conclusion_len: int = 4,
    ):
        if not shape or any(not block for block in shape):
            raise ValueError("shape needs at least one block, and every block at least one branch")
        self.tags, self.eos, self.shape = tags, eos, [list(b) for b in shape]
        self.step_header_len, self.join_header_len = step_header_len, join_header_len
        self.words = list(words)
        self.plan_len, self.takeaway_len, self.conclusion_len = plan_len, takeaway_len, conclusion_len

    def _word(self, n: int) -> int:
        return self.words[n % len(self.words)]

    def trunk_script(self, block: int) -> list[int]:
        t = self.tags
        out: list[int] = []
        if block > 0:  # after the forced join header: the takeaway's words and its close
            out += [self._word(block * 7 + j) for j in range(self.takeaway_len)] + [t.takeaway_close]
        if block < len(self.shape):
            out.append(t.guideline_open)
            for i in range(len(self.shape[block])):
                out += [t.plan_open] + [self._word(i * 3 + j) for j in range(self.plan_len)] + [t.plan_close]
            out.append(t.guideline_close)
        else:
            out += [self._word(50 + j) for j in range(self.conclusion_len)] + [self.eos]
        return out

    def __call__(self, role: str, block: int, branch: int | None, tokens: list[int]) -> int:
        if role == "trunk":
            forced = self.join_header_len if block > 0 else 0
            script = self.trunk_script(block)
            n = len(tokens) - forced
            return script[n] if n < len(script) else self.eos
        n = len(tokens) - self.step_header_len(branch)
        return self._word(branch * 11 + n) if n < self.shape[block][branch] else self.tags.step_close

    def sizes(self) -> dict[str, int]:
        """Response tokens this shape should produce, without headers: trunk and per-block branch totals."""
        trunk = sum(len(self.trunk_script(b)) for b in range(len(self.shape) + 1))
        return {"trunk": trunk, "branch_words": sum(sum(b) for b in self.shape)}
