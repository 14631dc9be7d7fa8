"""The sweeper of an outbox: one pass that hands back what got stuck, written once for both
outboxes (the transactional emails' ``emails_sweep``, the messages' ``deliveries_sweep``).

They differ only where their rows do: which table and statuses, which settings
(``ACS_MAIL_*``, ``ACS_DELIVERY_*``), how many rows a pass may move, when a QUEUED row counts
as lost, and what must be recorded about a dead worker's claim before it is handed back (a
delivery marks the row it may have been sending *in doubt*). Each outbox passes those in;
the steps and their order are here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet, TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _

from acs.core.claims import knob, rows_take


@dataclass(frozen=True)
class Swept:
    """What one pass of the sweeper did: ``ids`` go to the workers again."""

    stale: list[int]  # claims of workers that died, now QUEUED
    due: list[int]  # retries whose pause is over, now QUEUED
    lost: list[int]  # QUEUED rows no worker took for too long (or never handed to the broker)
    abandoned: int  # claims of dead workers that were out of attempts: FAILED

    @property
    def ids(self) -> list[int]:
        return [*self.stale, *self.due, *self.lost]


def rows_sweep(
    *,
    rows: QuerySet,
    statuses: type[TextChoices],
    knobs: str,
    lost: Callable[[QuerySet, datetime], QuerySet],
    before_requeue: Callable[[QuerySet], object] | None = None,
    now: datetime | None = None,
    limit: int,
) -> Swept:
    """One pass over ``rows`` (an outbox's table), whose ``statuses`` name QUEUED, SENDING,
    RETRYING and FAILED, with the settings ``<knobs>_CLAIM_TIMEOUT``, ``_MAX_ATTEMPTS`` and
    ``_REQUEUE_AFTER``. Each step takes at most ``limit`` rows, by a conditional update of the
    state it expects (``rows_take``), so that passes running at once never both move a row.

    1. SENDING claimed longer ago than the claim timeout (its worker died): FAILED when it
       has had all its attempts; ``before_requeue`` then sees the rest, which are QUEUED again.
    2. RETRYING whose ``next_attempt_at`` has come: QUEUED again.
    3. QUEUED rows that ``lost(queued, before)`` keeps (handed to the broker before
       ``before``, or never): handed over again.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=knob(f"{knobs}_CLAIM_TIMEOUT"))
    stuck = rows.filter(status=statuses.SENDING, claimed_at__lt=stale_before)
    abandoned = rows_take(
        stuck.filter(attempts__gte=knob(f"{knobs}_MAX_ATTEMPTS")),
        limit,
        status=statuses.FAILED,
        error=_("The worker sending it stopped, on every attempt."),
    )
    if before_requeue is not None:
        before_requeue(stuck)
    stale = rows_take(
        stuck,
        limit,
        status=statuses.QUEUED,
        claimed_by="",
        enqueued_at=now,
        error=_("The worker sending it stopped; sent again."),
    )
    due = rows_take(
        rows.filter(status=statuses.RETRYING, next_attempt_at__lte=now),
        limit,
        status=statuses.QUEUED,
        enqueued_at=now,
    )
    lost_before = now - timedelta(seconds=knob(f"{knobs}_REQUEUE_AFTER"))
    handed_back = rows_take(
        lost(rows.filter(status=statuses.QUEUED), lost_before), limit, enqueued_at=now
    )
    return Swept(stale=stale, due=due, lost=handed_back, abandoned=len(abandoned))
