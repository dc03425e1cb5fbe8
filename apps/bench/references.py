"""The reference figures every run measures beside the workloads, on the same machine and moment.

* SpiffWorkflow alone: the B1 model run in memory by SpiffWorkflow's own parser and `BpmnWorkflow`,
  the service task answered inline by a trivial script engine; no Patchbay code, no I/O.
* PostgreSQL: plain psycopg2, one transaction = update one 5 KB JSONB row + insert one row.
"""

from __future__ import annotations

import json
import time
from io import BytesIO
from typing import Any

import psycopg2  # type: ignore[import-untyped]
from django.db import connection
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from apps.bench.bpmn_models import ONE_TASK, ONE_TASK_KEY
from apps.bench.driver import ORDER
from apps.bench.measure import rate


class EchoEngine(PythonScriptEngine):
    """Answers every service task with its parameters, as `core.echo` does."""

    def call_service(self, task: Any, **kwargs: Any) -> str:
        """The operation's parameters as its JSON result."""
        params = kwargs.get("operation_params", {})
        return json.dumps({name: param["value"] for name, param in params.items()})


def b1_spec() -> Any:
    """The B1 model as SpiffWorkflow's own parser reads it."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(etree.parse(BytesIO(ONE_TASK)), filename="one_task.bpmn")
    return parser.get_spec(ONE_TASK_KEY)


def psycopg2_params() -> dict[str, Any]:
    """What plain psycopg2 needs to connect to the bench database."""
    params = connection.get_connection_params()
    return {k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port")}


def spiff_alone(duration: float) -> dict[str, Any]:
    """Instances per second of the B1 model on SpiffWorkflow in memory (spec parsed once)."""
    spec = b1_spec()
    engine = EchoEngine()
    done = 0
    begin = time.perf_counter()
    while time.perf_counter() - begin < duration:
        workflow = BpmnWorkflow(spec, script_engine=engine)
        for task in workflow.get_tasks():
            task.data.update(ORDER)
        workflow.do_engine_steps()
        if not workflow.completed:
            raise RuntimeError("the SpiffWorkflow reference did not complete the B1 model")
        done += 1
    return {"instances": done, "instances_per_s": rate(done, time.perf_counter() - begin)}


def postgres_probe(duration: float) -> dict[str, Any]:
    """Commits per second of `UPDATE` a 5 KB JSONB row + `INSERT` a row, from plain psycopg2."""
    if connection.vendor != "postgresql":
        return {"skipped": "not PostgreSQL"}
    conn = psycopg2.connect(**psycopg2_params())
    document: dict[str, Any] = {"items": [{"id": i, "text": "x" * 40} for i in range(90)]}
    try:
        with conn.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_probe, bench_probe_log")
            cursor.execute("CREATE TABLE bench_probe (id int PRIMARY KEY, doc jsonb NOT NULL)")
            cursor.execute("CREATE TABLE bench_probe_log (id bigserial PRIMARY KEY, probe int, at timestamptz)")
            cursor.execute("INSERT INTO bench_probe VALUES (1, %s)", [json.dumps(document)])
        conn.commit()
        commits, begin = 0, time.perf_counter()
        while time.perf_counter() - begin < duration:
            document["n"] = commits
            with conn.cursor() as cursor:
                cursor.execute("UPDATE bench_probe SET doc = %s WHERE id = 1", [json.dumps(document)])
                cursor.execute("INSERT INTO bench_probe_log (probe, at) VALUES (1, now())")
            conn.commit()
            commits += 1
        elapsed = time.perf_counter() - begin
        with conn.cursor() as cursor:
            cursor.execute("DROP TABLE bench_probe, bench_probe_log")
        conn.commit()
    finally:
        conn.close()
    return {"row_bytes": len(json.dumps(document)), "commits": commits, "commits_per_s": rate(commits, elapsed)}
