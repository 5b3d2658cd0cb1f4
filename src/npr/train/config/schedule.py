"""Learning-rate schedules by name, shared by the SFT and RL configs.

The names are ``transformers.get_scheduler``'s. One difference: there, ``constant`` ignores warmup; here a warmup
set in the config always applies, so ``constant`` with warmup runs as ``constant_with_warmup``.
"""

from __future__ import annotations

from typing import Literal

Schedule = Literal["constant", "linear", "cosine", "cosine_with_restarts", "polynomial", "inverse_sqrt"]


def scheduler_name(name: str) -> str:
    """The ``transformers`` scheduler that runs ``name`` with the config's warmup (zero warmup changes nothing)."""
    return "constant_with_warmup" if name == "constant" else name
