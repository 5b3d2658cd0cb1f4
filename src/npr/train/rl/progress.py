"""The live line of an RL run: a progress bar whose text shows the last step's reward, accuracy, format validity,
parallel rate and token rates."""

from __future__ import annotations

from typing import Any

from tqdm.auto import tqdm


def _f(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def line(record: dict[str, Any]) -> str:
    """``reward=+0.12 acc=0.45 fmt=0.80 par=0.30 roll=1234 tok/s upd=567 tok/s`` for one step's metrics."""
    return (
        f"reward={_f(record.get('reward_mean'), '+.3f')} acc={_f(record.get('accuracy'), '.3f')} "
        f"fmt={_f(record.get('format_valid'), '.2f')} par={_f(record.get('parallel_rate'), '.2f')} "
        f"roll={_f(record.get('rollout_tokens_per_s'), '.0f')} tok/s "
        f"upd={_f(record.get('update_tokens_per_s'), '.0f')} tok/s"
    )


class Progress:
    """tqdm over the run's steps (starting at ``initial`` on resume), its postfix the last step's :func:`line`."""

    def __init__(self, total: int, initial: int, enabled: bool = True):
        self.bar = tqdm(total=total, initial=initial, desc="rl", unit="step", disable=not enabled, dynamic_ncols=True)

    def update(self, record: dict[str, Any]) -> None:
        self.bar.set_postfix_str(line(record), refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
