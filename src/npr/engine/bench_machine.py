"""Timing on a shared machine, for the engine benchmarks: wall time with GPU synchronisation, the load that other
processes put on the CPU while a figure was taken, and a description of the machine."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Any

import torch


def timed(device: str, fn):
    """(fn(), wall seconds), with the GPU synchronised around it."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else lambda: None
    sync()
    t0 = time.perf_counter()
    out = fn()
    sync()
    return out, time.perf_counter() - t0


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy ticks of the whole machine, ticks of this process), from /proc; None elsewhere."""
    try:
        total = sum(int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:4])
        mine = sum(int(x) for x in Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[11:15])
    except (OSError, ValueError):
        return None
    return total, mine


class OtherLoad:
    """CPU cores kept busy by *other* processes since construction, on average (0.0 on a quiet machine).

    Timings on a shared CPU are only as good as the machine was quiet: every figure carries this next to it.
    """

    def __init__(self) -> None:
        self.t0, self.ticks = time.perf_counter(), _cpu_ticks()

    def cores(self) -> float | None:
        now = _cpu_ticks()
        if self.ticks is None or now is None:
            return None
        busy = (now[0] - self.ticks[0]) - (now[1] - self.ticks[1])
        return round(max(0.0, busy / os.sysconf("SC_CLK_TCK") / (time.perf_counter() - self.t0)), 3)


def machine_info() -> dict[str, Any]:
    import transformers

    info = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []
    names = [ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")]
    cpu = names[0] if names else platform.processor() or platform.machine()
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "loadavg": os.getloadavg(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}  # fmt: skip
