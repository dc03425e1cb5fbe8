"""The bench database: chosen, created, migrated, seeded and cleaned here; never the dev database.

`bench_url` and `ensure_database` run in the launching process (its settings name the dev database);
everything else runs in the re-executed bench process, whose settings name the bench database.
On PostgreSQL a trigger records the moment each instance finishes (`clock_timestamp()` inside the
step's transaction) in `bench_done`, so latencies come from the database, not from polling.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg2  # type: ignore[import-untyped]
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from apps.bench.bpmn_models import ALL
from apps.bench.config import DEFAULT_DATABASE, Options, var_dir
from apps.core.services import demo_users_seed, token_get_or_create
from apps.definitions.services import definition_deploy
from apps.instances.models import ProcessInstance
from apps.integrations.models import OutboundCall

BENCH_PASSWORD = "patchbay-bench"  # noqa: S105 - a throwaway user of the throwaway bench database

_DONE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_done (
    instance_id uuid PRIMARY KEY, status varchar(16) NOT NULL, at timestamptz NOT NULL
)"""
# Counts the finishes for the starters' back-pressure, which asks many times a second: reading a
# sequence is constant work, a COUNT over the finish log grew with every finish of the phase.
_DONE_SEQUENCE = "CREATE SEQUENCE IF NOT EXISTS bench_done_seq"
_DONE_FUNCTION = """
CREATE OR REPLACE FUNCTION bench_record_done() RETURNS trigger AS $$
BEGIN
    INSERT INTO bench_done VALUES (NEW.id, NEW.status, clock_timestamp()) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        PERFORM nextval('bench_done_seq');
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql"""
_DONE_TRIGGER = """
CREATE TRIGGER bench_done_trigger AFTER UPDATE OF status ON {table} FOR EACH ROW
WHEN (NEW.status IN ('completed', 'failed', 'cancelled') AND OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION bench_record_done()"""


class BenchRefused(RuntimeError):
    """The bench cannot run as configured (SQLite without --allow-sqlite, no server)."""


def bench_url(options: Options) -> str:
    """The bench database's URL: `--database-url`, else the configured PostgreSQL server (or the local
    one) with the database `patchbay_bench`. SQLite only with `--allow-sqlite`: given as the URL, or
    when PostgreSQL does not answer."""
    url = options.database_url
    if not url:
        parts = urlsplit(settings.DATABASE_URL)
        if parts.scheme.startswith("postgres"):
            url = urlunsplit((parts.scheme, parts.netloc, f"/{DEFAULT_DATABASE}", parts.query, ""))
        else:
            url = f"postgres://postgres@127.0.0.1:5432/{DEFAULT_DATABASE}"
    if url.startswith("sqlite") and not options.allow_sqlite:
        raise BenchRefused("the bench needs PostgreSQL; pass --allow-sqlite to run on SQLite (not comparable)")
    return url


def sqlite_url() -> str:
    """Where an `--allow-sqlite` run keeps its database."""
    return f"sqlite:///{var_dir() / 'bench' / 'bench.sqlite3'}"


def ensure_database(url: str, *, allow_sqlite: bool = False) -> str:
    """Create the PostgreSQL bench database when missing; return the URL to use.

    When PostgreSQL does not answer, `allow_sqlite` falls back to a SQLite file; otherwise it refuses.
    """
    if url.startswith("sqlite"):
        return url
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    try:
        conn = psycopg2.connect(maintenance, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        if allow_sqlite:
            return sqlite_url()
        raise BenchRefused(f"PostgreSQL does not answer at {parts.hostname}:{parts.port or 5432}: {exc}") from exc
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return url


def is_postgres() -> bool:
    """True when the bench process talks to PostgreSQL."""
    return connection.vendor == "postgresql"


def prepare() -> dict[str, Any]:
    """Migrate, empty every table, seed the users and deploy the bench models; return the agent's login."""
    call_command("migrate", interactive=False, verbosity=0)
    clean()
    demo_users_seed(password=BENCH_PASSWORD)
    for key, content in ALL.items():
        definition_deploy(filename=f"{key}.bpmn", content=content, deployed_by=None)
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(_DONE_TABLE)
            cursor.execute(_DONE_SEQUENCE)
            cursor.execute(_DONE_FUNCTION)
            cursor.execute(f"DROP TRIGGER IF EXISTS bench_done_trigger ON {ProcessInstance._meta.db_table}")
            cursor.execute(_DONE_TRIGGER.format(table=ProcessInstance._meta.db_table))
    agent = get_user_model().objects.get(username="agent")
    return {"user": agent, "token": token_get_or_create(user=agent)}


def clean() -> None:
    """Empty every table of the bench database (TRUNCATE on PostgreSQL), the finish log included."""
    call_command("flush", interactive=False, verbosity=0)
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(_DONE_TABLE)
            cursor.execute("TRUNCATE bench_done")


def reset_runtime() -> None:
    """Forget the instances of earlier workloads (keeps users, tokens and definitions)."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                f"TRUNCATE {ProcessInstance._meta.db_table}, {OutboundCall._meta.db_table}, bench_done CASCADE"
            )
            cursor.execute("ANALYZE")
        return
    OutboundCall.objects.all().delete()
    ProcessInstance.objects.all().delete()


def done_times(since: datetime) -> dict[str, tuple[str, float]]:
    """Instances that finished at or after `since`: id -> (status, epoch seconds of the finish)."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT instance_id, status, extract(epoch from at) FROM bench_done WHERE at >= %s", [since]
            )
            return {str(pk): (status, float(at)) for pk, status, at in cursor.fetchall()}
    rows = ProcessInstance.objects.filter(ended_at__gte=since).values_list("pk", "status", "ended_at")
    return {str(pk): (status, ended.timestamp()) for pk, status, ended in rows if ended is not None}


def finish_counter() -> Callable[[], int]:
    """A reader of how many instances finished after this call, cheap enough to ask often (the
    starters' back-pressure); on SQLite a count of the finished rows since now."""
    if not is_postgres():
        return partial(done_count, datetime.now(UTC))
    base = _finished_total()
    return lambda: _finished_total() - base


def _finished_total() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM bench_done_seq")
        return int(cursor.fetchone()[0])


def done_count(since: datetime) -> int:
    """How many instances finished at or after `since` (what `wait_done` polls)."""
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM bench_done WHERE at >= %s", [since])
            return int(cursor.fetchone()[0])
    return ProcessInstance.objects.filter(ended_at__gte=since).count()
