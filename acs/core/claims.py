"""Claims on outbox rows: what the two outboxes (messages' deliveries in ``acs.alerts``, the
transactional emails in ``acs.core.outbox``) share about who holds a row and for how long.

A worker claims rows with a conditional update (``rows_take``), names itself uniquely per
claim (``worker_name``), and waits longer after each temporary failure (``backoff``); the
timeouts are settings (``knob``).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet


def knob(name: str) -> int:
    """A whole-number setting of an outbox (``ACS_DELIVERY_*``, ``ACS_MAIL_*`` in settings.py,
    from the environment), read when it is used, so that a test may shorten a timeout."""
    return int(getattr(settings, name))


def worker_name() -> str:
    """Who holds a claim: "host:pid:nonce", unique to one claim, so that a worker can tell its
    own claim from a later one on the same row."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def rows_take(queryset: QuerySet, limit: int, **changes: Any) -> list[int]:
    """Lock and change up to ``limit`` rows of ``queryset``, in id order; return their ids. One
    transaction. PostgreSQL skips rows another transaction holds (``SKIP LOCKED``), so two
    claimers never wait on each other nor both take a row; SQLite's IMMEDIATE transaction
    holds the database's one write lock from the SELECT to the UPDATE."""
    with transaction.atomic():
        rows = queryset.order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        ids = list(rows.values_list("pk", flat=True)[:limit])
        if ids:
            # The same condition again in the UPDATE: on PostgreSQL it is re-checked on the
            # row's latest version, whatever a concurrent transaction did meanwhile.
            queryset.filter(pk__in=ids).update(**changes)
    return ids


def backoff(attempts: int, *, base: int, cap: int) -> timedelta:
    """The pause before the next try after ``attempts`` tries: base × 2^(attempts − 1)
    seconds, at most ``cap``."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))
