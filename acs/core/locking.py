"""The one way to take a lock before counting something scarce.

Capacity is counted from rows, never kept in a counter; what makes the count safe is that
every writer first locks the same row and only then counts. On PostgreSQL that is a row lock
(``SELECT … FOR UPDATE``) on a small "lock row" created on demand. On SQLite ``FOR UPDATE``
does nothing, but the transaction already holds the database's write lock from its first
statement (``transaction_mode = "IMMEDIATE"`` in settings), and the lock row's ``INSERT`` is a
write too: two independent protections, so keep the insert even where it looks redundant.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, models

M = TypeVar("M", bound=models.Model)


class LockOutsideTransaction(RuntimeError):
    pass


def lock_row(model: type[M], **unique_fields: Any) -> M:
    """Create (if needed) and lock the row of ``model`` identified by ``unique_fields``.

    Must run inside ``transaction.atomic()``: a lock taken outside one would be released
    before the count it protects.
    """
    if not connection.in_atomic_block:
        raise LockOutsideTransaction(f"lock_row({model.__name__}) needs an open transaction")
    # ON CONFLICT DO NOTHING: two first bookers of a slot both "create" it without an error;
    # on PostgreSQL the second waits on the first one's uncommitted insert, then goes on.
    model.objects.bulk_create([model(**unique_fields)], ignore_conflicts=True)
    queryset = model.objects.filter(**unique_fields)
    if getattr(settings, "ACS_LOCKS_ENABLED", True):
        queryset = queryset.select_for_update()
    return queryset.get()


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
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR SHARE", [pk])  # noqa: S608
