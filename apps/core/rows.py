"""Hand-written SQL for the few statements every step runs, with the ORM's own model objects.

The ORM spends most of a millisecond of CPU compiling a simple `filter(...).first()` or a
`select_for_update()`; on the hot path (every service call, every step) that was more than the
database took to answer. These helpers build the same statement once per model and vendor and
return the same model objects (`QuerySet.raw` applies the fields' converters).
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


@cache
def _select_sql(table: str, column: str, lock: bool, vendor: str) -> str:
    del vendor  # part of the cache key: quoting and locking differ per database
    qn = connection.ops.quote_name
    suffix = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    return f"SELECT * FROM {qn(table)} WHERE {qn(column)} = %s{suffix}"  # noqa: S608 - names from model metadata


def select_row(model: type[M], field: str, value: Any, *, lock: bool = False) -> M | None:
    """The row of `model` whose unique `field` equals `value`, or None; `lock` = `SELECT ... FOR UPDATE`
    (a no-op where the database has no row locks, as `select_for_update` is)."""
    model_field = model._meta.get_field(field)
    assert isinstance(model_field, models.Field)
    sql = _select_sql(model._meta.db_table, model_field.column, lock, connection.vendor)
    rows = list(model._default_manager.raw(sql, [model_field.get_db_prep_value(value, connection)]))
    return rows[0] if rows else None
