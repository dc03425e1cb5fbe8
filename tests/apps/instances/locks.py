"""A row lock held by another connection, for tests of what a step does when it meets one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction

from apps.instances.models import ProcessInstance


@contextmanager
def row_lock_held_elsewhere(instance_pk: Any) -> Iterator[None]:
    """Hold the instance's row lock from another thread (its own connection) for the block."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                ProcessInstance.objects.select_for_update().get(pk=instance_pk)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()  # the thread's own connection

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10), "the other connection did not get the lock"
        yield
    finally:
        release.set()
        holder.join(10)
