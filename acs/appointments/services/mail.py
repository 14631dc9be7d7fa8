"""The emails the appointments' services queue: their kinds in the outbox, and their rows.

Booking, the door and closures all email the citizen; each queues here, so that none reaches
into another's module for it. A row is written in the caller's transaction, so the email
exists if and only if the change that causes it does; a worker builds it from the row
(``emails.booking_email_build``, ``emails.closure_email_build``) and sends it. The request
never renders nor sends mail (docs/mail.md).
"""

from __future__ import annotations

from collections import defaultdict

from acs.appointments.models import (
    Booking,
    Closure,
    EmailHold,
    RoundRequest,
    SeatHold,
    WaitlistEntry,
)
from acs.core.outbox.queue import NewEmail, email_queue, emails_queue

# The outbox's kinds: stored on every row, so renaming one strands the rows queued under it.
BOOKING_EMAIL = "appointments.booking"
CLOSURE_EMAIL = "appointments.closure"
WAITLIST_EMAIL = "appointments.waitlist"
ROUND_EMAIL = "appointments.round"
EMAIL_HOLD_EMAIL = "appointments.email_hold"


def booking_email_queue(*, booking: Booking, kind: str) -> int:
    """Queue the citizen's email of ``kind`` (``emails.KINDS``: confirmation, cancelled,
    reminder, late_refused, …) about ``booking``. Returns the row's id."""
    return email_queue(
        kind=BOOKING_EMAIL,
        to=booking.email,
        language=booking.language,
        arguments={"booking_id": booking.pk, "kind": kind},
    )


def closure_emails_queue(*, closure: Closure, cancelled: list[Booking]) -> list[int]:
    """One email per person (per email address), however many of their bookings the closure
    cancelled: rows, not rendering; the worker makes the priority links and calendar files.
    If the broker is down when the officer confirms, the emails wait in the outbox."""
    by_person: dict[str, list[Booking]] = defaultdict(list)
    for booking in cancelled:
        by_person[booking.email.lower()].append(booking)
    return emails_queue(
        emails=[
            NewEmail(
                kind=CLOSURE_EMAIL,
                to=bookings[0].email,
                language=bookings[0].language,
                arguments={
                    "closure_id": closure.pk,
                    "booking_ids": [booking.pk for booking in bookings],
                },
            )
            for bookings in by_person.values()
        ]
    )


def waitlist_email_queue(*, entry: WaitlistEntry, kind: str, hold: SeatHold | None = None) -> int:
    """Queue the waitlist email of ``kind`` (``waitlist_emails.KINDS``: confirm, offer,
    lapsed) to the entry's address, about ``hold`` for an offer. Returns the row's id."""
    arguments = {"entry_id": entry.pk, "kind": kind}
    if hold is not None:
        arguments["hold_id"] = hold.pk
    return email_queue(
        kind=WAITLIST_EMAIL, to=entry.email, language=entry.language, arguments=arguments
    )


def round_emails_queue(*, requests: list[RoundRequest], kind: str) -> list[int]:
    """Queue one email of ``kind`` (``round_emails.KINDS``: confirm, lost, refused, failed)
    per request, in the caller's transaction. Returns the rows' ids."""
    return emails_queue(
        emails=[
            NewEmail(
                kind=ROUND_EMAIL,
                to=request.email,
                language=request.language,
                arguments={"request_id": request.pk, "kind": kind},
            )
            for request in requests
        ]
    )


def email_hold_email_queue(*, held: EmailHold) -> int:
    """Queue the link that confirms a booking made without JavaScript (``hold_emails``), in
    the caller's transaction. Returns the row's id."""
    return email_queue(
        kind=EMAIL_HOLD_EMAIL,
        to=held.email,
        language=held.language,
        arguments={"email_hold_id": held.pk},
    )
