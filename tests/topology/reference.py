"""A slow, obvious reference of DESIGN §3, written straight from the text, to test npr.topology against.

It works on segments as (kind, block, branch, start, end) tuples produced by an independent generator, not by the
code under test, and computes visibility, positions and prediction sources pair by pair.
"""

from __future__ import annotations


def ref_visible(seg_of: list[tuple], q: int, p: int) -> bool:
    if p > q:
        return False
    kq, bq, iq = seg_of[q]
    kp, bp, ip = seg_of[p]
    return not (kq == "step" and kp == "step" and bq == bp and iq != ip)


def ref_positions(seg_of: list[tuple]) -> list[int]:
    """Positions from the rule: steps start at g+1; the token after the steps gets 1 + max step end."""
    pos: list[int] = []
    step_start: dict[int, int] = {}
    block_max: dict[int, int] = {}
    prev_kind, prev_block = None, None
    for i, (kind, block, branch) in enumerate(seg_of):
        if kind == "step":
            if block not in step_start:
                step_start[block] = pos[i - 1] + 1  # the token before step 0 is </guideline>
            if i == 0 or seg_of[i - 1][:3] != (kind, block, branch):
                p = step_start[block]
            else:
                p = pos[i - 1] + 1
            block_max[block] = max(block_max.get(block, -1), p)
        elif prev_kind == "step":
            p = block_max[prev_block] + 1
        else:
            p = pos[i - 1] + 1 if i else 0
        pos.append(p)
        prev_kind, prev_block = kind, block
    return pos


def ref_pred(seg_of: list[tuple]) -> list[int]:
    return [max((p for p in range(q) if ref_visible(seg_of, q, p)), default=-1) for q in range(len(seg_of))]
