"""Hand-written SQL for the few statements every step runs, with the ORM's own model objects.

The ORM spends most of a millisecond of CPU compiling a simple `filter(...).first()` or a
`select_for_update()`; on the hot path (every service call, every step) that was more than the
database took to answer. These helpers build the same statement once per model and vendor and
return the same model objects: the columns are read with the converters the ORM's compiler would
apply (`read_model`), worked out once per model, columns and vendor rather than per row as
`QuerySet.raw` does. The functions take the connection object once (`db`): every attribute of the
`django.db.connection` proxy is a context-local lookup, and preparing a row's values asked it ~60
times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

from apps.core import prepared

M = TypeVar("M", bound=models.Model)


Converter = Callable[[Any, Any, Any], Any]


@cache
def _reader(model: type[models.Model], names: tuple[str, ...],
            vendor: str) -> tuple[list[str], list[tuple[Any, list[Converter]]]]:
    """The attribute names of the fields `names`, and per column what the ORM's compiler applies to
    a value read from the database (the backend's converters, then the field's `from_db_value`,
    each given the column expression), as `SQLCompiler.get_converters` works it out."""
    del vendor  # part of the cache key: converters differ per database
    fields = [_field(model, name) for name in names]
    columns = [field.get_col(model._meta.db_table) for field in fields]
    converters = [(col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)) for col in columns]
    return [field.attname for field in fields], converters


def _convert(converters: list[tuple[Any, list[Converter]]], values: Sequence[Any], db: Any) -> list[Any]:
    result = list(values)
    for index, (col, functions) in enumerate(converters):
        for convert in functions:
            result[index] = convert(result[index], col, db)
    return result


def converted(model: type[models.Model], names: tuple[str, ...], values: Sequence[Any]) -> list[Any]:
    """`values` (the columns of the fields `names`, as the driver returned them) converted as the
    ORM's compiler converts what it reads."""
    db = connections[DEFAULT_DB_ALIAS]
    return _convert(_reader(model, names, db.vendor)[1], values, db)


def read_model(model: type[M], names: tuple[str, ...], values: Sequence[Any]) -> M:
    """The model object for a row read by hand: `values` are the columns of the fields `names`, in
    that order, as the database driver returned them; fields not named stay deferred."""
    db = connections[DEFAULT_DB_ALIAS]
    attnames, converters = _reader(model, names, db.vendor)
    return model.from_db(db.alias, attnames, _convert(converters, values, db))


@cache
def _select_sql(model: type[models.Model], column: str, lock: bool, vendor: str) -> tuple[str, tuple[str, ...]]:
    del vendor  # part of the cache key: quoting and locking differ per database
    qn = connection.ops.quote_name
    fields = model._meta.concrete_fields
    suffix = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    columns = ", ".join(qn(str(field.column)) for field in fields)
    # Names come from model metadata; the value is a bound parameter.
    sql = f"SELECT {columns} FROM {qn(model._meta.db_table)} WHERE {qn(column)} = %s{suffix}"  # noqa: S608
    return sql, tuple(field.name for field in fields)


def select_row(model: type[M], field: str, value: Any, *, lock: bool = False) -> M | None:
    """The row of `model` whose unique `field` equals `value`, or None; `lock` = `SELECT ... FOR UPDATE`
    (a no-op where the database has no row locks, as `select_for_update` is)."""
    db = connections[DEFAULT_DB_ALIAS]
    model_field = _field(model, field)
    sql, names = _select_sql(model, str(model_field.column), lock, db.vendor)
    with db.cursor() as cursor:
        prepared.execute(cursor, sql, [model_field.get_db_prep_value(value, db)])
        row = cursor.fetchone()
    return None if row is None else read_model(model, names, row)


@cache
def _latest_sql(model: type[models.Model], field: str, by: str, defer: tuple[str, ...],
                vendor: str) -> tuple[str, tuple[str, ...]]:
    del vendor  # part of the cache key: quoting differs per database
    qn = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if f.name not in defer]
    columns = ", ".join(qn(str(f.column)) for f in fields)
    where, order = qn(str(_field(model, field).column)), qn(str(_field(model, by).column))
    # Names come from model metadata; the value is a bound parameter.
    sql = f"SELECT {columns} FROM {qn(model._meta.db_table)} WHERE {where} = %s ORDER BY {order} DESC LIMIT 1"  # noqa: S608
    return sql, tuple(f.name for f in fields)


def select_latest(model: type[M], field: str, value: Any, *, by: str, defer: tuple[str, ...] = ()) -> M | None:
    """The row of `model` with the highest `by` among those whose `field` equals `value`, or None;
    the fields in `defer` are left out (loaded on access, as `QuerySet.defer` does)."""
    db = connections[DEFAULT_DB_ALIAS]
    sql, names = _latest_sql(model, field, by, defer, db.vendor)
    with db.cursor() as cursor:
        prepared.execute(cursor, sql, [_field(model, field).get_db_prep_value(value, db)])
        row = cursor.fetchone()
    return None if row is None else read_model(model, names, row)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field


def update_row(instance: models.Model, fields: list[str]) -> int:
    """`instance.save(update_fields=fields)` as one hand-built UPDATE by primary key; the row count.

    The values are prepared by the fields themselves (`get_db_prep_save`, as `save` does), so JSON,
    UUIDs and datetimes are stored exactly as the ORM stores them. No signals are sent: only for
    models nobody listens to (the instance row of a step).
    """
    db = connections[DEFAULT_DB_ALIAS]
    model = type(instance)
    qn = db.ops.quote_name
    columns = [_field(model, name) for name in dict.fromkeys(fields)]
    assignments = ", ".join(f"{qn(str(field.column))} = %s" for field in columns)
    params = [field.get_db_prep_save(field.pre_save(instance, add=False), db) for field in columns]
    pk = model._meta.pk
    assert pk is not None
    params.append(pk.get_db_prep_value(instance.pk, db))
    sql = f"UPDATE {qn(model._meta.db_table)} SET {assignments} WHERE {qn(str(pk.column))} = %s"  # noqa: S608
    with db.cursor() as cursor:
        prepared.execute(cursor, sql, params)
        return int(cursor.rowcount)


def update_where(model: type[models.Model], values: dict[str, Any], **where: Any) -> int:
    """`model.objects.filter(**where).update(**values)` as one hand-built UPDATE; the row count.

    `where` holds plain field names compared for equality (None: `IS NULL`); the values are prepared
    by their fields as `update` does. No signals, no `auto_now`: the caller names every field it sets.
    """
    db = connections[DEFAULT_DB_ALIAS]
    qn = db.ops.quote_name
    params: list[Any] = []
    assignments = []
    for name, value in values.items():
        field = _field(model, name)
        assignments.append(f"{qn(str(field.column))} = %s")
        params.append(field.get_db_prep_save(value, db))
    conditions = []
    for name, value in where.items():
        field = _field(model, name)
        if value is None:
            conditions.append(f"{qn(str(field.column))} IS NULL")
        else:
            conditions.append(f"{qn(str(field.column))} = %s")
            params.append(field.get_db_prep_value(value, db))
    sql = f"UPDATE {qn(model._meta.db_table)} SET {', '.join(assignments)} WHERE {' AND '.join(conditions)}"  # noqa: S608
    with db.cursor() as cursor:
        prepared.execute(cursor, sql, params)
        return int(cursor.rowcount)


def insert_rows(model: type[M], rows: list[M], *, returning: bool = False) -> None:
    """`bulk_create(rows)` as one hand-built multi-row INSERT. No signals.

    A primary key the database generates is left to it; with `returning` it is read back onto the
    rows (`RETURNING`, in the order of the rows, as `bulk_create` relies on) - without, for rows whose
    key nobody needs (audit events).
    """
    db = connections[DEFAULT_DB_ALIAS]
    if not rows:
        return
    pk = model._meta.pk
    assert pk is not None
    if returning and pk.db_returning and not db.features.can_return_rows_from_bulk_insert:
        model._default_manager.bulk_create(rows)  # an old SQLite: the ORM knows how to get the keys
        return
    qn = db.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.db_returning)]
    columns = ", ".join(qn(str(field.column)) for field in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params: list[Any] = []
    for row in rows:
        params.extend(field.get_db_prep_save(field.pre_save(row, add=True), db) for field in fields)
    sql = f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES {', '.join([placeholders] * len(rows))}"  # noqa: S608
    read_back = returning and pk.db_returning
    if read_back:
        sql += f" RETURNING {qn(str(pk.column))}"
    with db.cursor() as cursor:
        prepared.execute(cursor, sql, params)
        if read_back:
            for row, (key,) in zip(rows, cursor.fetchall(), strict=True):
                row.pk = key
    for row in rows:
        row._state.adding, row._state.db = False, db.alias
