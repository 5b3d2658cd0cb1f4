"""From engine events to the text a client reads: incremental detokenisation, reasoning versus content, stop strings.

One :class:`ChoiceStream` follows one choice (one engine request). Streaming and non-streaming responses are both
built from its output, so the concatenated deltas equal the final message exactly.

Three rules:

* **Reasoning is the blocks, content is the rest.** Every token from ``<guideline>`` to ``</takeaway>`` (branches
  included) is reasoning; text outside the blocks is content. For a valid response that is the conclusion.
* **Reasoning text comes in canonical order.** Branches decode at the same time, but their text is released in the
  order of the flat trajectory: the first open branch streams live, the others are held until every branch before
  them has closed. An ordinary client reading ``reasoning_content`` sees readable text, while the ``npr.tokens``
  list of each chunk carries every token live with its block and branch, for clients that draw the tree.
* **Stop strings end the content.** They are matched in the content only (inside blocks, branches run in parallel
  and a string could straddle two of them); text that may be the start of a stop string is held back until it is
  not. Leading and trailing whitespace of the content is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from npr.engine import Event
from npr.tokens import TagIds


class Detokenizer:
    """Decodes one sequence token by token; a character split over several tokens waits for its last byte."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.prefix = 0  # ids[prefix:read] were decoded last time: the context that keeps spaces right
        self.read = 0

    def _decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)

    def add(self, token_id: int) -> str:
        self.ids.append(token_id)
        before = self._decode(self.ids[self.prefix : self.read])
        after = self._decode(self.ids[self.prefix :])
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self.prefix, self.read = self.read, len(self.ids)
            return after[len(before) :]
        return ""

    def flush(self) -> str:
        before = self._decode(self.ids[self.prefix : self.read])
        after = self._decode(self.ids[self.prefix :])
        self.prefix = self.read = len(self.ids)
        return after[len(before) :]


class _ContentGate:
    """Holds back content that may be the start of a stop string, and with ``strip`` whitespace at either end."""

    def __init__(self, stops: list[str], strip: bool = True):
        self.stops = stops
        self.strip = strip
        self.pending = ""
        self.started = not strip
        self.stopped = False

    def push(self, text: str) -> str:
        if self.stopped:
            return ""
        buf = self.pending + text
        for s in self.stops:
            i = buf.find(s)
            if i >= 0:
                self.stopped, self.pending = True, ""
                return self._out(buf[:i].rstrip() if self.strip else buf[:i])
        # the longest end of buf that may begin a stop string (and, when stripping, the whitespace before it)
        k = max((n for s in self.stops for n in range(min(len(s) - 1, len(buf)), 0, -1) if buf.endswith(s[:n])),
                default=0)  # fmt: skip
        rest = buf[: len(buf) - k]
        cut = len(rest.rstrip()) if self.strip else len(rest)
        self.pending = buf[cut:]
        return self._out(buf[:cut])

    def end(self) -> str:
        out, self.pending = (self.pending.rstrip() if self.strip else self.pending), ""
        return self._out(out) if not self.stopped else ""

    def _out(self, text: str) -> str:
        if not self.started:
            text = text.lstrip()
            self.started = bool(text)
        return text


@dataclass
class Delta:
    """What one batch of events adds to a choice."""

    reasoning: str = ""
    content: str = ""
    logprobs: list[dict[str, Any]] = field(default_factory=list)  # canonical order, for the chat logprobs field
    tokens: list[dict[str, Any]] = field(default_factory=list)  # arrival order: block, branch, id, text, sampled
    events: list[dict[str, Any]] = field(default_factory=list)  # fork and join; "at": tokens of this delta before it

    def __bool__(self) -> bool:
        return bool(self.reasoning or self.content or self.tokens or self.events)


class ChoiceStream:
    """Turns the events of one engine request into :class:`Delta` s.

    Args:
        tokenizer: the engine's tokenizer.
        tags: its :class:`~npr.tokens.TagIds`.
        stop_ids: ids that end a response (EOS); counted, never shown.
        stops: stop strings, matched in the content.
        reasoning_in_content: everything goes to ``content`` (blocks included), nothing to ``reasoning``.
        strip: drop the content's leading and trailing whitespace (chat); text completions keep every character.
    """

    def __init__(self, tokenizer, tags: TagIds, stop_ids: frozenset[int], stops: list[str] = (),
                 reasoning_in_content: bool = False, strip: bool = True):  # fmt: skip
        self.tokenizer = tokenizer
        self.tags = tags
        self.stop_ids = stop_ids
        self.all_content = reasoning_in_content
        self.gate = _ContentGate(list(stops), strip=strip)
        self.trunk = Detokenizer(tokenizer)
        self.branch_detok: dict[tuple[int, int], Detokenizer] = {}
        self.in_block = False
        # The open block's branches (a block opens at its first branch token): text held per branch, which
        # branches closed, and the branch released live.
        self.block: int | None = None
        self.held: dict[int, list[tuple[str, dict[str, Any] | None]]] = {}
        self.closed: set[int] = set()
        self.cursor = 0
        self.reasoning_tokens = 0
        self.tokens = 0

    @property
    def stopped(self) -> bool:
        """A stop string was found: the caller aborts the request."""
        return self.gate.stopped

    def feed(self, events: list[Event]) -> Delta:
        d = Delta()
        if self.stopped:
            return d  # the content hit a stop string: nothing after it is the client's, while the abort lands
        for e in events:
            if self.stopped:
                break
            if e.kind == "token":
                self._token(e, d)
            elif e.kind == "fork":
                d.events.append({"type": "fork", "block": e.block, "branches": e.branches, "at": len(d.tokens)})
            elif e.kind == "join":
                self._release_all(d)
                d.events.append({"type": "join", "block": e.block, "at": len(d.tokens)})
        return d

    def finish(self) -> Delta:
        """Whatever is still held: the last bytes of each sequence, the held branches, held content."""
        d = Delta()
        if self.stopped:
            return d
        for (block, branch), det in sorted(self.branch_detok.items()):
            text = det.flush()
            if text and block == self.block:
                self._branch_text(branch, text, None, d)
        self._release_all(d)
        tail = self.trunk.flush()
        if tail:
            self._trunk_text(tail, None, d)
        d.content += self.gate.end()
        return d

    # ---- pieces -------------------------------------------------------------------------------------------------

    def _logprob(self, e: Event, text: str) -> dict[str, Any]:
        return {"token": text, "logprob": e.logprob, "bytes": list(text.encode("utf-8", "replace")), "top_logprobs": []}

    def _token(self, e: Event, d: Delta) -> None:
        self.tokens += 1
        if e.token_id in self.stop_ids:
            d.tokens.append({"block": e.block, "branch": e.branch, "id": e.token_id, "text": "", "sampled": e.sampled})
            return
        if e.branch is not None:
            if e.block != self.block:
                self._release_all(d)
                self.block = e.block
            self.reasoning_tokens += 1
            det = self.branch_detok.setdefault((e.block, e.branch), Detokenizer(self.tokenizer))
            text = det.add(e.token_id)
            d.tokens.append({"block": e.block, "branch": e.branch, "id": e.token_id, "text": text, "sampled": e.sampled})
            self._branch_text(e.branch, text, self._logprob(e, text), d)
            if e.token_id == self.tags.step_close:
                self.closed.add(e.branch)
                while self.cursor in self.closed:
                    self.cursor += 1
                    for t, lp in self.held.pop(self.cursor, []):
                        self._emit_reasoning(t, lp, d)
            return
        opens = e.token_id == self.tags.guideline_open
        if opens:
            self.in_block = True
        reasoning = self.in_block
        if e.token_id == self.tags.takeaway_close:
            self.in_block = False
        if reasoning:
            self.reasoning_tokens += 1
        text = self.trunk.add(e.token_id)
        d.tokens.append({"block": e.block, "branch": None, "id": e.token_id, "text": text, "sampled": e.sampled})
        self._trunk_text(text, self._logprob(e, text), d, reasoning=reasoning)

    def _trunk_text(self, text: str, lp, d: Delta, reasoning: bool | None = None) -> None:
        reasoning = self.in_block if reasoning is None else reasoning
        if reasoning and not self.all_content:
            self._emit_reasoning(text, lp, d)
        else:
            self._emit_content(text, lp, d)

    def _branch_text(self, branch: int, text: str, lp, d: Delta) -> None:
        if branch == self.cursor:
            self._emit_reasoning(text, lp, d)
        else:
            self.held.setdefault(branch, []).append((text, lp))

    def _emit_reasoning(self, text: str, lp, d: Delta) -> None:
        if self.all_content:
            return self._emit_content(text, lp, d)
        d.reasoning += text
        if lp is not None:
            d.logprobs.append(lp)

    def _emit_content(self, text: str, lp, d: Delta) -> None:
        if self.gate.stopped:
            return
        d.content += self.gate.push(text)
        if lp is not None and not self.gate.stopped:  # the token that completes a stop string is not the client's
            d.logprobs.append(lp)

    def _release_all(self, d: Delta) -> None:
        for i in sorted(self.held):
            for t, lp in self.held[i]:
                self._emit_reasoning(t, lp, d)
        self.block, self.held, self.closed, self.cursor = None, {}, set(), 0
