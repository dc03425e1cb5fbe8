"""The Celery application: queue `engine` for steps and sweeps, one queue per external system."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "apps.settings")

app = Celery("patchbay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(dispatch_uid="patchbay.drop_broken_db_connections")
def drop_broken_db_connections(**_: Any) -> None:
    """Before every task of the worker: close a database connection a failure broke.

    With `CELERY_DB_REUSE_MAX` Celery keeps connections across tasks and never runs Django's
    `close_old_connections()`. A connection the server dropped (restart, fail-over, network cut) while
    no transaction was open stays in place, closed, and every later query of that worker process
    fails with "connection already closed" until it is restarted. Django flags a connection whose
    query failed (`errors_occurred`); it is checked here once and closed if unusable, so the task
    reconnects. A healthy connection costs nothing (the flag is not set). Connected with the
    Celery app itself, so it applies to every task of every worker.
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is None or not connection.errors_occurred or connection.in_atomic_block:
            continue
        if connection.is_usable():
            connection.errors_occurred = False
        else:
            connection.close()
