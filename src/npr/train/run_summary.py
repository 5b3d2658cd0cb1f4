"""The end-of-run summary that ``npr train`` prints."""

from __future__ import annotations

from typing import Any


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_summary(stage: str, summary: dict[str, Any], out: str) -> str:
    """A few lines: what ran, the figures that moved, and where the outputs are."""
    saved = ", ".join(f"{k}: {v}" for k, v in summary.get("saved", {}).items())
    if stage == "sft":
        lines = [
            f"SFT finished: {summary['steps']} steps ({_fmt(summary['epochs'])} epochs) in {summary['seconds']} s on "
            f"{summary['trajectories']} trajectories ({summary['trained_tokens']} trained tokens)",
            f"loss {_fmt(summary['first_loss'])} (first log) -> {_fmt(summary['final_loss'])} (last log)",
        ]
    else:
        first, last, tail = summary["first"], summary["last"], summary["last_fifth_mean"]
        rows = ["metric                 first step   last step   last fifth (mean)"]
        for key in first:
            rows.append(f"{key:<22} {_fmt(first.get(key)):>10}   {_fmt(last.get(key)):>9}   {_fmt(tail.get(key)):>10}")
        lines = [
            f"RL finished: step {summary['steps']} ({summary['steps_this_session']} this session, "
            f"{summary['seconds_this_session']} s; rollout share of time {_fmt(summary['rollout_share_of_time'])})",
            *rows,
            f"largest |engine - trainer| log-prob over the run: {_fmt(summary['logprob_mismatch_max_over_run'])}",
        ]
    lines.append(f"saved {saved}; metrics.jsonl, checkpoints/ and summary.json in {out}")
    return "\n".join(lines)
