"""The completion race on real PostgreSQL row locks (skipped elsewhere, failed in CI without it)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections

from apps.core.errors import ApiError
from apps.instances.models import InstanceEvent
from apps.worklist.models import WorkItem
from apps.worklist.services import work_item_complete
from tests.apps.worklist import samples

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 20


def run_in_threads(count: int, work: Callable[[int], Any], *, timeout: float = 60) -> list[Any]:
    """Run `work(i)` in `count` threads (each with its own connection) released together."""
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [RuntimeError("did not finish")] * count

    def body(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = work(index)
        except BaseException as exc:
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung: deadlock or unbounded wait"
    return outcomes


def test_twenty_completers_one_winner(deploy, people, start) -> None:
    deploy(samples.PLAIN)
    instance, item = start("plain")
    candidates = [people["seller"], people["seller2"], people["ops"], people["admin"]]

    def complete(index: int) -> str:
        try:
            work_item_complete(user=candidates[index % 4], work_item_id=item.pk, variables={"winner": index})
        except ApiError as exc:
            return f"{exc.status_code} {exc.code}"
        return "ok"

    outcomes = run_in_threads(THREADS, complete)

    assert outcomes.count("ok") == 1, outcomes
    assert all(o == "ok" or o.startswith("409 ") for o in outcomes), outcomes
    instance.refresh_from_db()
    item.refresh_from_db()
    assert instance.status == "completed"
    assert item.status == "completed"
    winner = outcomes.index("ok")
    assert instance.variables["winner"] == winner
    assert item.completed_by == candidates[winner % 4]
    events = InstanceEvent.objects.filter(instance=instance)
    assert events.filter(type="work_item.completed").count() == 1
    assert events.filter(type="work_item.claimed").count() == 1
    assert WorkItem.objects.filter(instance=instance).count() == 1
