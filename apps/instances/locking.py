"""How the step pipeline locks an instance row: named strategies, each with its rules written down.

The rules (for humans; the pipeline follows them):

* Every step holds the instance row lock from its first read to its commit, so two steps of one
  instance never interleave and no update is lost. Different instances never wait for each other.
* A step waits a bounded time for the lock, then answers "busy" (`Conflict`, code `instance_busy`,
  HTTP 409): callers retry (the Celery task does, with back-off) or show the answer.
* Only one row is locked per transaction, always the instance row and always first, so two steps
  cannot deadlock on each other.
* Nothing slow happens under the lock: no network I/O, no XML parsing (specs are cached).

PostgreSQL: `SELECT ... FOR UPDATE OF instance` after `SET LOCAL lock_timeout` =
`settings.PATCHBAY_LOCK_TIMEOUT_MS`; the lock-timeout error (SQLSTATE 55P03) becomes `instance_busy`.
`SET LOCAL` ends with the transaction, so the timeout never leaks to other work on the connection.

SQLite (embedded demo, dev tests): `FOR UPDATE` does not exist; the settings open every transaction
`IMMEDIATE`, which takes the database write lock at `BEGIN`, so writers are serialised as a whole and
the connection's `timeout` bounds the wait ("database is locked" also becomes `instance_busy`).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import OperationalError, connection
from django.db.models import Q, QuerySet

from apps.core.errors import Conflict, NotFound
from apps.instances.models import ProcessInstance

# PostgreSQL's SQLSTATE for "lock_not_available", raised when lock_timeout expires.
_PG_LOCK_NOT_AVAILABLE = "55P03"


def _instance_rows() -> QuerySet[ProcessInstance]:
    # The definition comes along (one query) without its uploaded bytes; `of=("self",)` keeps
    # PostgreSQL from locking the shared definition row too.
    return (
        ProcessInstance.objects.select_related("definition")
        .defer("definition__source", "definition__warnings")
        .select_for_update(of=("self",))
    )


def _is_lock_timeout(exc: OperationalError) -> bool:
    if connection.vendor == "postgresql":
        return getattr(exc.__cause__, "pgcode", None) == _PG_LOCK_NOT_AVAILABLE
    return "database is locked" in str(exc).lower()


def raise_if_busy(exc: OperationalError) -> None:
    """Raise `Conflict(code="instance_busy")` from `exc` if it is a lock wait that timed out."""
    if _is_lock_timeout(exc):
        raise Conflict("Another step of this instance is running; try again shortly.", code="instance_busy") from exc


def bound_lock_wait() -> None:
    """Make every lock wait of the current transaction give up after the configured time (PostgreSQL).

    Must run inside `transaction.atomic()`; ends with the transaction. A no-op on SQLite.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # set_config(..., is_local => true) is `SET LOCAL` with a bind parameter.
            timeout = f"{int(settings.PATCHBAY_LOCK_TIMEOUT_MS)}ms"
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [timeout])


def lock_instance_bounded(instance_id: uuid.UUID | str) -> ProcessInstance:
    """Strategy *bounded wait*: lock the row, waiting at most the configured time.

    Must run inside `transaction.atomic()`. Raises `NotFound` when there is no such instance and
    `Conflict(code="instance_busy")` when another step holds the lock past the timeout.
    """
    try:
        bound_lock_wait()
        instance = _instance_rows().filter(pk=instance_id).first()
    except OperationalError as exc:
        raise_if_busy(exc)
        raise
    if instance is None:
        raise NotFound(f"Instance {instance_id} does not exist.")
    return instance


def lock_instance_skip_locked(instance_id: uuid.UUID | str, *, condition: Q | None = None) -> ProcessInstance | None:
    """Strategy *skip locked*: lock the row if nobody holds it, else return None at once.

    For sweeps: several workers may sweep at the same time and each due row is taken by exactly one;
    a row another step holds is left for the next sweep. `condition` re-checks, under the lock, what
    made the caller pick the row (it may have changed since). Must run inside `transaction.atomic()`.
    """
    rows = _instance_rows().select_for_update(of=("self",), skip_locked=True).filter(pk=instance_id)
    if condition is not None:
        rows = rows.filter(condition)
    return rows.first()
