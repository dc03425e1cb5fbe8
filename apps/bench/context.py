"""What every workload gets: the options, the running children, the agent's login, profiling."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apps.bench.config import Options, var_dir
from apps.bench.processes import Child, Fleet, process_tree, py_spy_available

PROFILE_TOP = 25


@dataclass
class Context:
    """The state of one bench run shared by the workloads."""

    options: Options
    fleet: Fleet
    agent: Any
    token: str
    workers: list[Child] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)

    def worker_pids(self) -> list[int]:
        """Every process of every worker (main processes and their pool children)."""
        return [pid for child in self.workers for pid in process_tree(child.process.pid)]

    @contextlib.contextmanager
    def profiled(self, name: str, pids: list[int]) -> Iterator[None]:
        """With `--profile`, sample `pids` and their children with py-spy while the block runs (raw
        collapsed stacks, then a summary of the hottest frames)."""
        spy = py_spy_available() if self.options.profile else None
        if spy is None or not pids:
            yield
            return
        spies = []
        for pid in pids:
            out = var_dir() / "bench" / f"profile-{name}-{pid}.txt"
            argv = [spy, "record", "--nonblocking", "--subprocesses", "-r", "200", "-f", "raw", "-o", str(out),
                    "-p", str(pid)]
            spies.append((subprocess.Popen(argv,  # noqa: S603 - our own py-spy, fixed arguments
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
        try:
            yield
        finally:
            for process, _ in spies:
                process.send_signal(signal.SIGINT)
            for process, _ in spies:
                process.wait(timeout=30)
            self.profiles[name] = str(summarise([out for _, out in spies], name))


def summarise(raw_files: list[Path], name: str) -> Path:
    """Merge py-spy's collapsed stacks into var/bench/profile-<name>.txt: top self and total frames."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for raw in raw_files:
        if not raw.exists():
            continue
        for line in raw.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            frames = stack.split(";")
            samples += int(count)
            own[frames[-1]] += int(count)
            for frame in set(frames):
                total[frame] += int(count)
    out = var_dir() / "bench" / f"profile-{name}.txt"
    lines = [f"# {name}: {samples} samples from {len(raw_files)} process(es); raw stacks beside this file", ""]
    for title, counter in (("self", own), ("total (inclusive)", total)):
        lines.append(f"## top {PROFILE_TOP} by {title}")
        lines += [f"{100 * n / max(samples, 1):6.1f}%  {frame}" for frame, n in counter.most_common(PROFILE_TOP)]
        lines.append("")
    out.write_text("\n".join(lines))
    return out


def own_pid() -> int:
    """The bench process (it runs the starts of B1/B2)."""
    return os.getpid()
