"""The durable floor: the least any engine that keeps B1's guarantees does per instance, measured.

B1 asks for 30% of SpiffWorkflow alone. What SpiffWorkflow alone does per instance (build a
workflow, run three tasks in memory) is a fraction of what durability costs, so the floor puts a
number on the gap in the same run: the B1 model run by SpiffWorkflow alone (as in
`references.spiff_alone`), plus only what a durable engine cannot leave out -

* the start committed before the caller gets an answer: one transaction inserting the instance's
  state (the workflow's data and its tasks' ids, names, states and data, as JSON) and one audit row;
* the service call handed to another process: one Redis `LPUSH`/`BRPOP` of the instance id;
* the completion committed: one transaction reading the state under a row lock, updating it and
  writing one audit row.

No Patchbay code, no Celery, no validation, outbox, retries, idempotency, breaker, worklist, SLA
or indexes beyond the primary keys; the state is cheaper to write than any state that can be
restored. It runs in `processes` forked processes (2 per core: each waits on its commits about half
the time), so its rate is an upper bound for a design of this shape on this machine, and B1's ratio
to it says how much of the gap is Patchbay's own work.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import uuid
from typing import Any

import psycopg2  # type: ignore[import-untyped]
import redis
from django.db import connection, connections
from SpiffWorkflow.bpmn import BpmnWorkflow

from apps.bench.driver import ORDER
from apps.bench.measure import rate
from apps.bench.references import EchoEngine, b1_spec, psycopg2_params

_TABLES = ("bench_floor_instance", "bench_floor_event")
_CREATE = (
    "CREATE TABLE bench_floor_instance (id uuid PRIMARY KEY, state jsonb NOT NULL)",
    "CREATE TABLE bench_floor_event (id bigserial PRIMARY KEY, instance_id uuid NOT NULL, at timestamptz NOT NULL)",
)


def _state(workflow: Any) -> str:
    return json.dumps({
        "data": workflow.data,
        "tasks": [[str(task.id), task.task_spec.name, task.state, task.data] for task in workflow.get_tasks()],
    })


def _loop(dsn: dict[str, Any], redis_url: str, until: float, out: Any) -> None:
    """Start and complete instances until the wall-clock time `until`; put the count on `out`."""
    done, error, conn, broker = 0, "", None, None
    try:
        spec, engine = b1_spec(), EchoEngine()
        conn = psycopg2.connect(**dsn)
        broker = redis.Redis.from_url(redis_url, decode_responses=True)
        queue = f"bench:floor:{os.getpid()}"
        with conn.cursor() as cursor:
            while time.time() < until:
                workflow = BpmnWorkflow(spec, script_engine=engine)
                for task in workflow.get_tasks():
                    task.data.update(ORDER)
                pk = str(uuid.uuid4())
                cursor.execute("INSERT INTO bench_floor_instance VALUES (%s, %s)", [pk, _state(workflow)])
                cursor.execute("INSERT INTO bench_floor_event (instance_id, at) VALUES (%s, now())", [pk])
                conn.commit()
                broker.lpush(queue, pk)
                popped = broker.brpop([queue])
                if popped is None:
                    raise RuntimeError("BRPOP without a timeout returned nothing")
                cursor.execute("SELECT state FROM bench_floor_instance WHERE id = %s FOR UPDATE", [str(popped[1])])
                json.loads(json.dumps(cursor.fetchone()[0]))  # what a restore reads, at the least
                workflow.do_engine_steps()
                cursor.execute("UPDATE bench_floor_instance SET state = %s WHERE id = %s", [_state(workflow), pk])
                cursor.execute("INSERT INTO bench_floor_event (instance_id, at) VALUES (%s, now())", [pk])
                conn.commit()
                done += 1
    except Exception as exc:  # reported by the parent, which must not wait forever
        error = f"{type(exc).__name__}: {exc}"
    finally:
        if conn is not None:
            conn.close()
        if broker is not None:
            broker.close()
        out.put((done, error))


def _ddl(dsn: dict[str, Any], statements: tuple[str, ...]) -> None:
    conn = psycopg2.connect(**dsn)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {', '.join(_TABLES)}")
            for statement in statements:
                cursor.execute(statement)
        conn.commit()
    finally:
        conn.close()


def durable_floor(duration: float, *, processes: int, redis_url: str) -> dict[str, Any]:
    """Instances per second of the floor described above, in `processes` processes for `duration` s."""
    if connection.vendor != "postgresql":
        return {"skipped": "not PostgreSQL"}
    dsn = psycopg2_params()
    _ddl(dsn, _CREATE)
    # The forked children open their own connections; none may inherit the parent's socket.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    begin = time.time()
    children = [context.Process(target=_loop, args=(dsn, redis_url, begin + duration, out)) for _ in range(processes)]
    for child in children:
        child.start()
    counts = [out.get() for _ in children]
    elapsed = time.time() - begin
    for child in children:
        child.join()
    _ddl(dsn, ())
    errors = [error for _, error in counts if error]
    if errors:
        raise RuntimeError(f"the durable floor failed: {errors[0]}")
    done = sum(count for count, _ in counts)
    return {"processes": processes, "instances": done, "instances_per_s": rate(done, elapsed)}
