"""Many new rows of one model in one INSERT, without building a model instance per row.

For the few writes on a hot path, where Django's ``bulk_create`` cost more than the write
itself: at a round's busiest moment, writing one request with its people and its email
through ``bulk_create`` took about 2 ms of the web process's CPU, and this about 0.4 ms
(benchmarks/release.py). Values still go through each field's ``get_db_prep_save``, so
dates, JSON and foreign keys are stored exactly as the ORM stores them, on PostgreSQL and on
SQLite alike. Nothing else of the ORM runs: no ``save()``, no signals, no ``auto_now`` other
than a fill-in for ``auto_now_add``: use it only for models that need none of those.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import connection, models
from django.utils import timezone


def _value(field: models.Field, row: dict[str, Any], now) -> Any:
    if field.attname in row:
        return row[field.attname]
    if field.name in row:
        value = row[field.name]
        return value.pk if field.is_relation and value is not None else value
    if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
        return now
    # The default, "" for text that may be blank, else None (the database refuses a missing
    # value where NULL is not allowed).
    return field.get_default()


@cache
def _fixed_defaults(model: type[models.Model], vendor: str) -> dict[models.Field, Any]:
    """The value, ready for the database, of each column whose default is fixed (a constant,
    or none: "" or NULL), prepared once per process: most of an email's columns take their
    default, and preparing them anew for each row was a third of this function's CPU."""
    fixed = {}
    for field in model._meta.concrete_fields:
        moving = callable(field.default) or getattr(field, "auto_now_add", False)
        if field.primary_key or moving or getattr(field, "auto_now", False):
            continue
        fixed[field] = field.get_db_prep_save(field.get_default(), connection)
    return fixed


def rows_insert(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (field name, or ``<fk>_id``, to value; a field left out takes its
    default, the time for ``auto_now_add``, or NULL) in one statement, in the current
    transaction. Returns the new primary keys, in the order of ``rows``."""
    if not rows:
        return []
    if not connection.features.can_return_rows_from_bulk_insert:  # an old SQLite
        made = model._default_manager.bulk_create([model(**row) for row in rows])
        return [row.pk for row in made]
    meta = model._meta
    fields = [field for field in meta.concrete_fields if field is not meta.pk]
    now = timezone.now()
    quote = connection.ops.quote_name
    fixed = _fixed_defaults(model, connection.vendor)
    values: list[Any] = []
    for row in rows:
        values.extend(
            fixed[field]
            if field in fixed and field.attname not in row and field.name not in row
            else field.get_db_prep_save(_value(field, row, now), connection)
            for field in fields
        )
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    # Only the model's own table and column names go into the text; every value is a parameter.
    table, columns = quote(meta.db_table), ", ".join(quote(field.column) for field in fields)
    returning = quote(meta.pk.column)
    placeholders = ", ".join([one] * len(rows))
    sql = f"INSERT INTO {table} ({columns}) VALUES {placeholders} RETURNING {returning}"  # noqa: S608  # nosec B608
    with _cursor() as cursor:
        cursor.execute(sql, values)
        return [pk for (pk,) in cursor.fetchall()]


def _cursor():
    """Django's cursor, but on PostgreSQL one that sends the values apart from the text
    (server-side binding): the default quotes every value into the statement in Python,
    which for a few hundred values was half of this function's CPU."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = ServerBindingCursor(connection.connection)
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    return wrap(raw)
