"""Celery tasks for appointments: thin, they take ids, load, and call services or emails."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from acs.appointments import emails, services
from acs.appointments.models import Booking
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
