"""The benchmark's options: what the command line sets, with the full and the `--short` defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORKLOADS = ("B1", "B2", "B3", "B4", "B5", "B6")
DEFAULT_DATABASE = "patchbay_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
# Set in the re-executed bench process: its settings already point at the bench database.
CHILD_FLAG = "PATCHBAY_BENCH_CHILD"


@dataclass
class Options:
    """Everything a run depends on; recorded in the JSON report so a run can be repeated."""

    workloads: list[str] = field(default_factory=lambda: list(WORKLOADS))
    workers: int = 1
    starters: int = 2
    # Threads, as for any I/O-bound Celery work: the connector waits release the GIL, and no
    # hand-over between a pool's parent and child process (prefork) on every message.
    concurrency: int = 4
    pool: str = "threads"
    duration: float = 20.0
    rate: float = 100.0
    # The maximum-rate phase keeps at most this many instances started and not finished (0: no bound).
    in_flight: int = 64
    short: bool = False
    out: str = ""
    profile: bool = False
    allow_sqlite: bool = False
    references: bool = True
    database_url: str = ""
    redis_url: str = DEFAULT_REDIS_URL
    scales: list[int] = field(default_factory=lambda: [1_000, 100_000])
    timers: int = 10_000
    timer_window: float = 60.0
    # As docs/operations.md deploys the web tier: with 2 sync workers, each waited on PostgreSQL half
    # the time and B3 left a tenth of the two cores idle (docs/performance.md, round 8).
    web_workers: int = 4
    clients: int = 8
    loop_steps: int = 500
    state_bytes: int = 1_000_000
    # B5's p99s: with 200 samples a p99 was the second-worst, and two runs' ratios moved 1.2-2.4x.
    samples: int = 500

    def apply_short(self) -> None:
        """Tiny counts and seconds: proves every workload works (CI), says nothing about speed."""
        self.duration = min(self.duration, 2.0)
        self.rate = min(self.rate, 20.0)
        self.scales = [100, 500]
        self.timers = min(self.timers, 200)
        self.timer_window = min(self.timer_window, 3.0)
        self.loop_steps = min(self.loop_steps, 10)
        self.state_bytes = min(self.state_bytes, 100_000)
        self.samples = min(self.samples, 5)
        self.clients = min(self.clients, 2)
        self.web_workers = min(self.web_workers, 2)

    def as_dict(self) -> dict[str, Any]:
        """The options as the JSON report records them (without credentials in URLs)."""
        values = dict(self.__dict__)
        values["database_url"] = _without_password(self.database_url)
        return values


def _without_password(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"


def var_dir() -> Path:
    """Where reports and profiles go (PATCHBAY_VAR_DIR or ./var)."""
    return Path(os.environ.get("PATCHBAY_VAR_DIR", Path(__file__).resolve().parents[2] / "var"))
