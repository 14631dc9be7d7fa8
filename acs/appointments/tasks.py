"""Celery tasks for appointments: thin, they take ids, load, and call services or emails."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from acs.appointments import emails, services
from acs.appointments.constants import BookingStatus
from acs.appointments.models import Booking, Closure
from acs.appointments.services import closures
from acs.appointments.services.door import no_shows_mark
from acs.core.queues import Queues

logger = logging.getLogger(__name__)


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_booking_email(self, booking_id: int, kind: str) -> None:
    """Send one booking email (confirmation, rescheduled, cancelled, reminder)."""
    booking = (
        Booking.objects.select_related("post", "service")
        .prefetch_related("people")
        .filter(pk=booking_id)
        .first()
    )
    if booking is None:
        logger.warning("booking %s is gone; no %s email", booking_id, kind)
        return
    try:
        emails.booking_message(booking, kind).send()
    except OSError as error:  # SMTP down or refused: try again later
        raise self.retry(exc=error) from error


@shared_task
def send_reminders() -> int:
    """Periodic: queue tomorrow's reminders, each one claimed once."""
    due = services.reminders_due()
    for booking_id in due:
        send_reminder.apply_async(args=[booking_id], queue=Queues.DEFAULT)
    return len(due)


@shared_task(bind=True, max_retries=5, default_retry_delay=120)
def send_reminder(self, booking_id: int) -> bool:
    if not services.reminder_claim(booking_id=booking_id):
        return False  # already sent, cancelled, or moved
    try:
        send_booking_email.run(booking_id, "reminder")
    except Exception as error:
        # Give the claim back so the retry can take it again.
        with transaction.atomic():
            Booking.objects.filter(pk=booking_id).update(reminder_sent_at=None)
        raise self.retry(exc=error) from error
    return True


@shared_task
def mark_no_shows() -> int:
    """Periodic: bookings still "booked" once their start plus the post's late limit has
    passed become no-shows (one conditional update; repeating it marks nothing)."""
    return no_shows_mark()


@shared_task
def send_closure_emails(closure_id: int, groups: list[list[int]]) -> int:
    """Fan out a closure's emails: one task per person (``groups``: booking ids per
    address, decided by ``services.closures``)."""
    for booking_ids in groups:
        send_closure_email.apply_async(args=[closure_id, booking_ids], queue=Queues.DEFAULT)
    return len(groups)


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def send_closure_email(self, closure_id: int, booking_ids: list[int]) -> bool:
    """One person's closure email: their cancelled bookings, each with a priority link."""
    closure = Closure.objects.select_related("post", "service").filter(pk=closure_id).first()
    bookings = list(
        Booking.objects.select_related("post", "service")
        .filter(pk__in=booking_ids, status=BookingStatus.CANCELLED)
        .order_by("starts_at", "pk")
    )
    if closure is None or not bookings:
        logger.warning("closure %s: nothing to email for bookings %s", closure_id, booking_ids)
        return False
    tokens = {booking.pk: closures.priority_token(booking) for booking in bookings}
    message = emails.closure_cancelled_message(
        closure=closure, bookings=bookings, tokens=tokens, expires=closures.priority_expires()
    )
    try:
        message.send()
    except OSError as error:  # SMTP down or refused: try again later
        raise self.retry(exc=error) from error
    return True
