"""Claims on outbox rows: what the two outboxes (messages' deliveries in ``acs.alerts``, the
transactional emails in ``acs.core.outbox``) share about who holds a row and for how long.

A worker claims rows with a conditional update (``rows_take``), names itself uniquely per
claim (``worker_name``), and waits longer after each temporary failure (``backoff``); the
timeouts are settings (``knob``). A failed try is recorded by one rule for both
(``row_failed``): retried after a pause while it is temporary and attempts remain, else
failed.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet, TextChoices
from django.utils.translation import gettext as _

REASON_LENGTH = 500  # of a row's error: enough for a server's answer, short enough to show


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


def retry_pause(attempts: int, *, knobs: str) -> timedelta:
    """``backoff`` with an outbox's settings, ``<knobs>_RETRY_BASE`` and ``_RETRY_CAP``."""
    return backoff(attempts, base=knob(f"{knobs}_RETRY_BASE"), cap=knob(f"{knobs}_RETRY_CAP"))


def row_failed(
    rows: QuerySet,
    *,
    statuses: type[TextChoices],
    knobs: str,
    reason: str,
    temporary: bool,
    now: datetime,
    **changes: Any,
) -> tuple[str, int]:
    """Record a failed try of the row ``rows`` names (as its worker holds it): RETRYING, to
    be tried again after ``retry_pause``, when the failure is temporary and it has had fewer
    than ``<knobs>_MAX_ATTEMPTS`` tries; else FAILED, saying it gave up when it was out of
    attempts. ``changes`` are the outbox's own (a delivery's ``in_doubt``). Returns the status
    written and how many rows changed: ``("", 0)`` when ``rows`` held nothing any more."""
    attempts = rows.values_list("attempts", flat=True).first()
    if attempts is None:
        return "", 0
    if temporary and attempts < knob(f"{knobs}_MAX_ATTEMPTS"):
        status, next_attempt_at = statuses.RETRYING, now + retry_pause(attempts, knobs=knobs)
    else:
        status, next_attempt_at = statuses.FAILED, None
        if temporary:
            reason = _("Gave up after %(count)d attempts: %(reason)s") % {
                "count": attempts,
                "reason": reason,
            }
    changed = rows.update(
        status=status, next_attempt_at=next_attempt_at, error=reason[:REASON_LENGTH], **changes
    )
    return status, changed
