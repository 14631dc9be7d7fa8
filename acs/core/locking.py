"""The one way to take a lock before counting something scarce.

Capacity is counted from rows, never kept in a counter; what makes the count safe is that
every writer first locks the same row and only then counts. On PostgreSQL that is a row lock
(``INSERT … ON CONFLICT … DO UPDATE``, which locks as ``SELECT … FOR UPDATE`` does) on a
small "lock row" created on demand. SQLite has no row locks, but the transaction already
holds the database's write lock from its first statement (``transaction_mode = "IMMEDIATE"``
in settings), and the lock row's ``INSERT`` is a write too: two independent protections, so
keep the insert even where it looks redundant.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection, models


class LockOutsideTransaction(RuntimeError):
    pass


def lock_row(
    model: type[models.Model],
    *,
    share: tuple[type[models.Model], int] | None = None,
    **unique_fields: Any,
) -> None:
    """Create (if needed) and lock the row of ``model`` identified by ``unique_fields``;
    with ``share=(Model, pk)``, first hold a shared lock on that row (``share_lock_row``).

    Must run inside ``transaction.atomic()``: a lock taken outside one would be released
    before the count it protects.

    One statement, ``INSERT … ON CONFLICT (…) DO UPDATE``: it inserts the row, or waits for
    whoever holds it and locks it, as ``SELECT … FOR UPDATE`` would, but in one round trip
    (two first bookers of a slot both "create" it without an error: the second waits on the
    first one's uncommitted insert, then locks the row). On PostgreSQL the shared lock rides
    in the same statement; SQLite's IMMEDIATE transaction already serializes everything.
    """
    if not connection.in_atomic_block:
        raise LockOutsideTransaction(f"lock_row({model.__name__}) needs an open transaction")
    if not getattr(settings, "ACS_LOCKS_ENABLED", True):
        # The controls' switch: the row is created (on SQLite that write alone takes the
        # database's write lock) but not locked, and nothing is share-locked.
        model.objects.bulk_create([model(**unique_fields)], ignore_conflicts=True)
        return
    columns, values = _columns(model, unique_fields)
    quote = connection.ops.quote_name
    # Table and column names come from the model; every value is a parameter.
    table, names = quote(model._meta.db_table), ", ".join(quote(column) for column in columns)
    placeholders = ", ".join(["%s"] * len(values))
    on_conflict = (
        # Column names only: the values are parameters.
        f"ON CONFLICT ({names}) DO UPDATE SET {quote(columns[0])} = EXCLUDED.{quote(columns[0])}"  # nosec B608
    )
    if share is not None and connection.vendor == "postgresql":
        # The CTE is read (its one row counted) before the insert, so the shared lock is
        # taken first, as two statements would take it.
        shared = quote(share[0]._meta.db_table)
        sql = (
            f"WITH shared AS (SELECT 1 FROM {shared} WHERE id = %s FOR SHARE) "  # noqa: S608  # nosec B608
            f"INSERT INTO {table} ({names}) SELECT {placeholders} "
            f"FROM (SELECT count(*) FROM shared) AS s {on_conflict}"
        )
        params = [share[1], *values]
    else:
        sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders}) {on_conflict}"  # noqa: S608  # nosec B608
        params = values
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _columns(model: type[models.Model], fields: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """The columns and database values of ``fields`` (a foreign key by object or by id)."""
    columns, values = [], []
    for name, value in fields.items():
        field = model._meta.get_field(name)
        if isinstance(value, models.Model):
            value = value.pk
        columns.append(field.column)
        values.append(field.get_db_prep_save(value, connection))
    return columns, values


def share_lock_row(model: type[models.Model], pk: int) -> None:
    """Hold a shared lock on one row until the transaction ends (``FOR SHARE``).

    Many holders at once are fine; a writer that wants ``FOR UPDATE`` on the row waits for
    them all, and they wait for it. Bookings share-lock their post, a closure locks it for
    update: a booking and a closure of the same post never overlap, while bookings still
    run side by side. SQLite's IMMEDIATE transactions serialize everything anyway.
    """
    if not connection.in_atomic_block:
        raise LockOutsideTransaction(f"share_lock_row({model.__name__}) needs a transaction")
    if connection.vendor != "postgresql" or not getattr(settings, "ACS_LOCKS_ENABLED", True):
        return
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR SHARE", [pk])  # noqa: S608  # nosec B608
