"""The maximum-rate phase's back-pressure: a starter waits while its share of the backlog is full."""

from __future__ import annotations

import threading

from apps.bench.driver import Backlog


def _waits(backlog: Backlog, started: int, seconds: float) -> bool:
    """Whether `wait_for_room(started)` is still waiting after `seconds`."""
    released = threading.Event()
    threading.Thread(target=lambda: (backlog.wait_for_room(started, poll=0.001), released.set()), daemon=True).start()
    return not released.wait(seconds)


def test_a_starter_under_its_share_of_the_limit_starts_at_once() -> None:
    backlog = Backlog(limit=10, starters=2, finished=lambda: 0)

    assert not _waits(backlog, 4, 1.0)  # 4 unfinished of its 5


def test_a_starter_at_its_share_waits_until_enough_instances_finish() -> None:
    finished = [0]
    backlog = Backlog(limit=10, starters=2, finished=lambda: finished[0])
    released = threading.Event()

    def starter() -> None:
        backlog.wait_for_room(5, poll=0.001)  # 5 unfinished: its share is full
        released.set()

    thread = threading.Thread(target=starter)
    thread.start()
    assert not released.wait(0.05)

    finished[0] = 1  # one finish counts half for each of the two starters: still 4.5 of 5
    assert released.wait(1.0)
    thread.join()
