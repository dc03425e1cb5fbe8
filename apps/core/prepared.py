"""Server-side prepared statements for the hand-written SQL that every step runs (PostgreSQL).

PostgreSQL parses and plans every statement it receives; for the short statements of a step
(lock the instance, claim a call, update a row by its key) that was as much of its CPU as running
them: planning alone took ~0.7 ms per B1 instance, the claim's UPDATE 0.2 ms of it
(pg_stat_statements, docs/performance.md round 9). psycopg2 sends every statement as text, so the
statements that `apps.core.rows` and a few services write by hand are `PREPARE`d once per database
session and `EXECUTE`d after that: PostgreSQL then parses nothing but the `EXECUTE` and, after five
runs, keeps a generic plan when it is no worse than a custom one.

A session's prepared statements outlive rolled-back transactions and are gone when it ends; the
names prepared so far are kept on the Django connection and forgotten on `connection_created`.
`PATCHBAY_DB_PREPARED_STATEMENTS=false` turns this off (PgBouncer in transaction pooling mode
hands each transaction another server session, where an `EXECUTE` would not find its statement).
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Any

from django.conf import settings

# Beyond this many statements in one session, further shapes run unprepared (multi-row INSERTs
# have one shape per row count; the common ones are prepared first).
MAX_PER_SESSION = 200
_PLACEHOLDER = re.compile(r"%%|%s")
_EXECUTE = re.compile(r"EXECUTE (pb_[0-9a-f]+)")
# Name -> the statement as written (with its %s placeholders), for `statement`.
_WRITTEN: dict[str, str] = {}


def execute(cursor: Any, sql: str, params: list[Any] | tuple[Any, ...]) -> None:
    """`cursor.execute(sql, params)`, through a prepared statement where that is on (PostgreSQL)."""
    db = cursor.db
    if db.vendor != "postgresql" or not settings.PATCHBAY_DB_PREPARED_STATEMENTS:
        cursor.execute(sql, params)
        return
    prepared: set[str] = db.__dict__.setdefault("patchbay_prepared", set())
    name, text, count = _prepared(sql)
    if count != len(params):
        raise ValueError(f"{count} placeholders and {len(params)} parameters")
    if name not in prepared:
        if len(prepared) >= MAX_PER_SESSION:
            cursor.execute(sql, params)
            return
        cursor.execute(text)
        prepared.add(name)
    cursor.execute(_execute_sql(name, count), params)


def statement(sql: str) -> str:
    """The statement a logged or captured `sql` ran: for an `EXECUTE` of a statement prepared here,
    the statement as written; any other `sql` as it is."""
    match = _EXECUTE.match(sql)
    return _WRITTEN.get(match.group(1), sql) if match else sql


def forget(connection: Any, **_: Any) -> None:
    """`connection_created` receiver: a new session has no prepared statements."""
    connection.__dict__["patchbay_prepared"] = set()


@cache
def _prepared(sql: str) -> tuple[str, str, int]:
    """The statement's name, its `PREPARE`, and how many parameters it takes."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group() == "%%":
            return "%"
        count += 1
        return f"${count}"

    body = _PLACEHOLDER.sub(number, sql)
    name = "pb_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:20]
    _WRITTEN[name] = sql
    return name, f"PREPARE {name} AS {body}", count


@cache
def _execute_sql(name: str, count: int) -> str:
    return f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"
