"""Figures from samples: percentiles, rates, and the CPU that the bench and the others used.

The machine is shared: `CpuMeter` reads /proc before and after a workload and splits the CPU time into
the bench's own processes, the servers it uses (PostgreSQL, Redis) and everything else ("others").
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection

from apps.bench.processes import process_tree

_TICKS = os.sysconf("SC_CLK_TCK")
_SERVERS = ("postgres", "redis-server")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(seconds: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / max of durations given in seconds, in milliseconds."""
    millis = [s * 1000 for s in seconds]
    return {
        "p50_ms": round(percentile(millis, 50), 2),
        "p95_ms": round(percentile(millis, 95), 2),
        "p99_ms": round(percentile(millis, 99), 2),
        "max_ms": round(max(millis, default=0.0), 2),
        "samples": len(millis),
    }


def _process_name(entry: Path, raw: str) -> str:
    """The command name; a PostgreSQL backend serving another database is named `other-backend`."""
    name = raw[raw.find("(") + 1 : raw.rfind(")")]
    if name.startswith("postgres"):
        try:
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return name
        client = "127.0.0.1(" in title or "[local]" in title
        if client and f" {connection.settings_dict['NAME']} " not in title:
            return "other-backend"
    return name


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    ticks: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = _process_name(entry, raw)
        fields = raw.rsplit(")", 1)[1].split()
        # utime, stime, cutime, cstime: fields 14-17 of stat, 12-15 after the name.
        ticks[int(entry.name)] = (name, sum(int(f) for f in fields[11:15]))
    return ticks


@dataclass
class CpuMeter:
    """CPU used between `start()` and `stop()`, in cores, split into bench / servers / others."""

    started: float = 0.0
    before: dict[int, tuple[str, int]] | None = None

    def start(self) -> None:
        """Take the first reading."""
        self.started = time.monotonic()
        self.before = _cpu_ticks()

    def stop(self) -> dict[str, float]:
        """Cores used on average since `start()` (2.0 = both cores of a 2-core machine busy)."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        after = _cpu_ticks()
        ours = set(process_tree(os.getpid()))
        split = {"bench": 0.0, "servers": 0.0, "others": 0.0}
        for pid, (name, ticks) in after.items():
            used = ticks - (self.before or {}).get(pid, (name, 0))[1]
            if used <= 0:
                continue
            kind = "bench" if pid in ours else "servers" if name.startswith(_SERVERS) else "others"
            split[kind] += used / _TICKS
        return {f"{kind}_cores": round(value / elapsed, 2) for kind, value in split.items()}


def machine() -> dict[str, Any]:
    """What the report says about the machine: cores, memory, load averages."""
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": sys.version.split()[0],
    }


def rate(count: int, seconds: float) -> float:
    """`count` per second, rounded; 0.0 for an empty interval."""
    return round(count / seconds, 1) if seconds > 0 else 0.0
