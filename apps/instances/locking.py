"""How the step pipeline locks an instance row: named strategies, each with its rules written down.

The rules (for humans; the pipeline follows them):

* Every step holds the instance row lock from its first read to its commit, so two steps of one
  instance never interleave and no update is lost. Different instances never wait for each other.
* A step waits a bounded time for the lock, then answers "busy" (`Conflict`, code `instance_busy`,
  HTTP 409): callers retry (the Celery task does, with back-off) or show the answer.
* Only one row is locked per transaction, always the instance row and always first, so two steps
  cannot deadlock on each other.
* Nothing slow happens under the lock: no network I/O, no XML parsing (specs are cached).

PostgreSQL: `SELECT ... FOR UPDATE OF instance` with `lock_timeout` =
`settings.PATCHBAY_LOCK_TIMEOUT_MS`; the lock-timeout error (SQLSTATE 55P03) becomes `instance_busy`.
The timeout is set once for the whole session when the connection opens (`bound_lock_waits_of`, a
`connection_created` receiver), not per transaction: that was one round trip per step, and every lock
wait of Patchbay - system rows, incidents, migrations against a live database - is better bounded
than not. A transaction that runs while the setting differs from the connection's (tests change it)
sets it with `SET LOCAL`, which ends with the transaction. (A transaction-pooling proxy such as
PgBouncer in transaction mode would drop session settings: point Patchbay at PostgreSQL or a
session-pooling proxy.)

SQLite (embedded demo, dev tests): `FOR UPDATE` does not exist; the settings open every transaction
`IMMEDIATE`, which takes the database write lock at `BEGIN`, so writers are serialised as a whole and
the connection's `timeout` bounds the wait ("database is locked" also becomes `instance_busy`).
"""

from __future__ import annotations

import uuid
from functools import cache

from django.conf import settings
from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, QuerySet

from apps.core import prepared
from apps.core.errors import Conflict, NotFound
from apps.core.rows import read_model
from apps.definitions.models import ProcessDefinition
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


def _configured_timeout() -> str:
    return f"{int(settings.PATCHBAY_LOCK_TIMEOUT_MS)}ms"


def bound_lock_waits_of(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    """`connection_created` receiver: every lock wait of a new PostgreSQL session is bounded (and
    the session does not JIT-compile queries).

    Runs while the new connection is in autocommit mode, so the setting outlives every transaction.
    """
    if connection.vendor != "postgresql":
        return
    timeout = _configured_timeout()
    with connection.cursor() as cursor:
        # JIT compilation is for analytics: on Patchbay's short statements it only ever cost time (it
        # took 475 of 856 ms of an inbox query over 100,000 items before the query was indexed).
        cursor.execute("SELECT set_config('lock_timeout', %s, false), set_config('jit', 'off', false)", [timeout])
    connection.patchbay_lock_timeout = timeout  # type: ignore[attr-defined]


def bound_lock_wait() -> None:
    """Make every lock wait of the current transaction give up after the configured time (PostgreSQL).

    Must run inside `transaction.atomic()`. Free when the session already has the configured timeout
    (the usual case, see the module docstring); otherwise a `SET LOCAL`. A no-op on SQLite.
    """
    if connection.vendor != "postgresql":
        return
    timeout = _configured_timeout()
    if getattr(connection, "patchbay_lock_timeout", None) == timeout:
        return
    with connection.cursor() as cursor:
        # set_config(..., is_local => true) is `SET LOCAL` with a bind parameter.
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [timeout])


def lock_instance_bounded(instance_id: uuid.UUID | str) -> ProcessInstance:
    """Strategy *bounded wait*: lock the row, waiting at most the configured time.

    Must run inside `transaction.atomic()`. Raises `NotFound` when there is no such instance and
    `Conflict(code="instance_busy")` when another step holds the lock past the timeout.
    """
    try:
        bound_lock_wait()
        instance = _locked_row(instance_id)
    except OperationalError as exc:
        raise_if_busy(exc)
        raise
    if instance is None:
        raise NotFound(f"Instance {instance_id} does not exist.")
    return instance


# The definition columns a step reads (the rest, `source` above all, stay deferred on the object).
_DEFINITION_COLUMNS = ("id", "key", "version", "name", "filename", "content_hash")


_INSTANCE_FIELDS = tuple(field.name for field in ProcessInstance._meta.concrete_fields)


@cache
def _locked_row_sql(vendor: str) -> str:
    """`SELECT instance.*, definition.<a few> ... FOR UPDATE OF instance`, written out once.

    Every step starts with this statement, and the ORM spent about a millisecond of CPU building the
    same query (with its join and deferrals) each time; the row and the definition come back as the
    same model objects the ORM would build (`apps.core.rows.read_model`).
    """
    del vendor  # part of the cache key: quoting and locking differ per database
    qn = connection.ops.quote_name
    columns = [f"i.{qn(str(field.column))}" for field in ProcessInstance._meta.concrete_fields]
    columns += [f"d.{qn(name)}" for name in _DEFINITION_COLUMNS]
    lock = ""
    if connection.features.has_select_for_update_of:
        lock = " FOR UPDATE OF i"
    elif connection.features.has_select_for_update:
        lock = " FOR UPDATE"
    # Names come from model metadata; the id is a bound parameter.
    return (
        f"SELECT {', '.join(columns)} FROM {qn(ProcessInstance._meta.db_table)} i"  # noqa: S608
        f" JOIN {qn(ProcessDefinition._meta.db_table)} d ON d.{qn('id')} = i.{qn('definition_id')}"
        f" WHERE i.{qn('id')} = %s{lock}"
    )


def _locked_row(instance_id: uuid.UUID | str) -> ProcessInstance | None:
    try:
        key = instance_id if isinstance(instance_id, uuid.UUID) else uuid.UUID(str(instance_id))
    except ValueError:
        return None
    param = ProcessInstance._meta.pk.get_db_prep_value(key, connection)
    with connection.cursor() as cursor:
        prepared.execute(cursor, _locked_row_sql(connection.vendor), [param])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(_INSTANCE_FIELDS)
    instance = read_model(ProcessInstance, _INSTANCE_FIELDS, row[:split])
    instance.definition = read_model(ProcessDefinition, _DEFINITION_COLUMNS, row[split:])
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


def lock_instances_skip_locked(instance_ids: list[uuid.UUID | str], *, condition: Q) -> list[ProcessInstance]:
    """Strategy *skip locked* for a batch: lock those of the rows that nobody holds and that still
    meet `condition` (re-checked under the lock), oldest `next_timer_at` first.

    The only place a transaction holds several instance rows (the timer batches): `SKIP LOCKED`
    never waits, so it cannot deadlock with a step. Must run inside `transaction.atomic()`.
    """
    rows = _instance_rows().select_for_update(of=("self",), skip_locked=True)
    return list(rows.filter(condition, pk__in=list(instance_ids)).order_by("next_timer_at"))
