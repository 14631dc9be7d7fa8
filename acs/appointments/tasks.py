"""Celery tasks for appointments: thin, they take ids, load, and call services.

The emails themselves go through the outbox (acs/core/outbox, docs/mail.md): services write
their rows in the transaction of the change, and ``acs.core.tasks.email_send`` sends them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task

from acs.appointments import services
from acs.appointments.models import Booking, Service
from acs.appointments.services import emailhold, rounds, waitlist
from acs.appointments.services.door import no_shows_mark
from acs.appointments.services.mail import CLOSURE_EMAIL
from acs.core.outbox.queue import email_queue

logger = logging.getLogger(__name__)


@shared_task
def send_reminders() -> int:
    """Periodic (hourly): queue tomorrow's reminders in the outbox, each claimed once."""
    return services.reminders_queue()


@shared_task
def send_reminder(booking_id: int) -> bool:
    """Queue one booking's reminder, unless it was queued already (``reminder_queue``)."""
    return services.reminder_queue(booking_id=booking_id)


@shared_task
def rounds_tick() -> dict[str, int]:
    """Periodic (every minute): open request rounds that are due, draw those whose window
    has closed, settle what a draw left (``services.rounds.rounds_tick``)."""
    return rounds.rounds_tick()


@shared_task
def round_settle(round_id: int) -> dict[str, int]:
    """Book a drawn round's winners and tell the others; safe to repeat."""
    return rounds.round_settle(round_id=round_id)


@shared_task
def mark_no_shows() -> int:
    """Periodic: bookings still "booked" once their start plus the post's late limit has
    passed become no-shows (one conditional update; repeating it marks nothing)."""
    return no_shows_mark()


@shared_task
def waitlist_offer(service_id: int, starts_at: str) -> int:
    """A seat of this slot may have been freed (a cancellation, a move): offer it to the
    waitlist. Returns how many offers were made (none if the seat was taken meanwhile)."""
    service = Service.objects.select_related("post").filter(pk=service_id).first()
    if service is None:
        return 0
    return len(waitlist.slot_offer(service=service, starts_at=datetime.fromisoformat(starts_at)))


@shared_task
def waitlist_service_sweep(service_id: int) -> int:
    """Offer the seats free on the days people wait for at one service (after a new entry
    joins the line)."""
    service = Service.objects.select_related("post").filter(pk=service_id).first()
    return 0 if service is None else waitlist.offers_make(service=service)


@shared_task
def email_holds_expire() -> int:
    """Periodic (every minute): seats held for a booking made without JavaScript whose
    emailed link was not followed in time are freed (``services.emailhold``)."""
    return emailhold.email_holds_expire()


@shared_task
def waitlist_sweep() -> list[int]:
    """Periodic (every minute): offers not claimed in time pass on; free seats on days
    people wait for are offered (``services.waitlist.waitlist_sweep``)."""
    return list(waitlist.waitlist_sweep())


# Before the outbox, services queued these tasks to send the emails themselves. Messages of
# theirs may still wait in the broker when this version starts: each now writes its email to
# the outbox instead, so none is lost across the upgrade. Remove them in the next release.


@shared_task
def send_booking_email(booking_id: int, kind: str) -> None:
    """Superseded by the outbox (``services.booking_email_queue``)."""
    booking = Booking.objects.filter(pk=booking_id).only("pk", "email", "language").first()
    if booking is None:
        logger.warning("booking %s is gone; no %s email", booking_id, kind)
        return
    services.booking_email_queue(booking=booking, kind=kind)


@shared_task
def send_closure_emails(closure_id: int, groups: list[list[int]]) -> int:
    """Superseded by the outbox (``services.closures``)."""
    for booking_ids in groups:
        send_closure_email(closure_id, booking_ids)
    return len(groups)


@shared_task
def send_closure_email(closure_id: int, booking_ids: list[int]) -> bool:
    """Superseded by the outbox (``services.closures``)."""
    first = Booking.objects.filter(pk__in=booking_ids).order_by("starts_at", "pk").first()
    if first is None:
        return False
    email_queue(
        kind=CLOSURE_EMAIL,
        to=first.email,
        language=first.language,
        arguments={"closure_id": closure_id, "booking_ids": booking_ids},
    )
    return True
