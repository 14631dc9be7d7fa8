"""Changes of state of the outbox's rows (``OutgoingEmail``).

A row moves QUEUED → SENDING (claimed by one worker) → SENT; or → RETRYING (a temporary
failure; the sweeper makes it QUEUED again when its pause is over); or → FAILED (permanent,
or out of attempts) or SKIPPED (nothing to send any more). Claims are conditional updates on
the state they expect, so two workers, a redelivered task and the sweeper never both act on
one row: whoever's condition no longer holds changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from acs.core.claims import REASON_LENGTH, knob, retry_pause, row_failed, rows_take
from acs.core.constants import EMAIL_FINAL, EmailStatus
from acs.core.mail.addresses import mail_domain, message_id
from acs.core.models import OutgoingEmail
from acs.core.rows import rows_insert
from acs.core.sweeping import Swept, rows_sweep


@dataclass(frozen=True)
class NewEmail:
    """What a service decides when it decides to email someone."""

    kind: str  # a kind of the registry, such as "appointments.booking"
    to: str
    language: str
    arguments: dict[str, Any]


def rows_create(*, emails: list[NewEmail], now: datetime | None = None) -> list[int]:
    """Write one QUEUED row per email, each with its Message-ID, inside the caller's
    transaction; return their ids (in order). ``queue.emails_queue`` is the front door.
    One INSERT for them all (``rows_insert``): a round's busiest moment queues many."""
    now = now or timezone.now()
    domain = mail_domain()
    return rows_insert(
        OutgoingEmail,
        [
            {
                "kind": email.kind,
                "arguments": email.arguments,
                "to": email.to,
                "language": email.language,
                "message_id": message_id(domain=domain),
                "created_at": now,
                "enqueued_at": now,
            }
            for email in emails
        ],
    )


def rows_not_handed_over(*, ids: list[int]) -> int:
    """Handing these rows to the broker failed: mark them so that the sweeper's next run
    hands them over without waiting for ``ACS_MAIL_REQUEUE_AFTER``."""
    return OutgoingEmail.objects.filter(pk__in=ids, status=EmailStatus.QUEUED).update(
        enqueued_at=None
    )


def email_claim(*, email_id: int, worker: str, now: datetime | None = None) -> OutgoingEmail | None:
    """Claim one QUEUED row for ``worker``: SENDING, one more attempt. ``None`` when it is
    not QUEUED (sent, failed, held by another worker: a redelivered task does nothing)."""
    now = now or timezone.now()
    taken = rows_take(
        OutgoingEmail.objects.filter(pk=email_id, status=EmailStatus.QUEUED),
        1,
        status=EmailStatus.SENDING,
        claimed_at=now,
        claimed_by=worker,
        attempts=F("attempts") + 1,
        next_attempt_at=None,
    )
    if not taken:
        return None
    return OutgoingEmail.objects.get(pk=email_id)


def _held(email_id: int, worker: str) -> QuerySet[OutgoingEmail]:
    return OutgoingEmail.objects.filter(pk=email_id, status=EmailStatus.SENDING, claimed_by=worker)


def email_sent(*, email_id: int, to: str, now: datetime | None = None) -> bool:
    """The mail server accepted the email: SENT. Written after the acceptance, so a worker
    that dies in between leaves the row SENDING and it is sent again, with the same
    Message-ID (docs/mail.md).

    Not conditional on the claim: acceptance is a fact, whoever holds the row now. A row the
    sweeper gave back meanwhile (a slow worker) is then not sent a second time."""
    return bool(
        OutgoingEmail.objects.filter(pk=email_id)
        .exclude(status=EmailStatus.SENT)
        .update(
            status=EmailStatus.SENT,
            to=to[:254],
            sent_at=now or timezone.now(),
            next_attempt_at=None,
            error="",
        )
    )


def retry_delay(attempts: int) -> timedelta:
    """The pause before the next try after ``attempts`` tries: exponential, capped."""
    return retry_pause(attempts, knobs="ACS_MAIL")


def email_failed(
    *, email_id: int, worker: str, reason: str, temporary: bool, now: datetime | None = None
) -> str:
    """Record a failed try of a row ``worker`` holds: RETRYING after a pause, or FAILED when
    permanent or out of attempts (``core.claims.row_failed``, the rule both outboxes keep).
    Returns the status written ("" if the claim was lost)."""
    status, changed = row_failed(
        _held(email_id, worker),
        statuses=EmailStatus,
        knobs="ACS_MAIL",
        reason=reason,
        temporary=temporary,
        now=now or timezone.now(),
    )
    return str(status) if changed else ""


def email_skipped(*, email_id: int, worker: str, reason: str) -> bool:
    """Nothing to send any more (what it was about is gone): SKIPPED, with why."""
    return bool(
        _held(email_id, worker).update(status=EmailStatus.SKIPPED, error=reason[:REASON_LENGTH])
    )


def _lost(queued: QuerySet[OutgoingEmail], before: datetime) -> QuerySet[OutgoingEmail]:
    """Never handed to the broker (``rows_not_handed_over``), or handed over before ``before``."""
    return queued.filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=before))


def emails_sweep(*, now: datetime | None = None, limit: int = 10_000) -> Swept:
    """Hand back what got stuck; the caller hands ``Swept.ids`` to the broker. Safe to run
    anywhere, any number of times: each step is a conditional update of the rows it moves
    (the steps are ``core.sweeping.rows_sweep``, shared with the messages' outbox).

    - SENDING claimed longer ago than ``ACS_MAIL_CLAIM_TIMEOUT``: its worker died, perhaps
      after the server accepted the email; QUEUED again (a resend carries the same
      Message-ID). Those already tried ``ACS_MAIL_MAX_ATTEMPTS`` times FAIL instead.
    - RETRYING whose ``next_attempt_at`` has come: QUEUED again.
    - QUEUED and never handed to the broker (it was down), or handed over longer ago than
      ``ACS_MAIL_REQUEUE_AFTER``: handed over (again). A duplicate Celery message finds the
      row claimed and does nothing.
    """
    return rows_sweep(
        rows=OutgoingEmail.objects.all(),
        statuses=EmailStatus,
        knobs="ACS_MAIL",
        lost=_lost,
        now=now,
        limit=limit,
    )


def emails_purge(*, now: datetime | None = None) -> int:
    """Delete rows done for good (sent, failed, skipped) more than ``ACS_MAIL_KEEP_DAYS``
    days ago: each holds an address, and the service needs it no longer."""
    before = (now or timezone.now()) - timedelta(days=knob("ACS_MAIL_KEEP_DAYS"))
    deleted, _by_model = OutgoingEmail.objects.filter(
        status__in=EMAIL_FINAL, created_at__lt=before
    ).delete()
    return deleted
