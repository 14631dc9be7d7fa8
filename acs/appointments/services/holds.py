"""The seats the waitlist holds (and those held for a booking waiting for its emailed link,
``services.emailhold``), as the booking path sees them: claiming one (inside
``booking_create``'s transaction, under the slot's lock) and telling the waitlist that a seat
was freed.

Kept apart from ``services.waitlist`` (which books through ``booking_create``) so that the
booking module can call these without importing the waitlist back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils.translation import gettext as _
from kombu.exceptions import KombuError

from acs.appointments.constants import (
    AUDIT_EMAIL_HOLD_CONFIRMED,
    AUDIT_WAITLIST_CLAIMED,
    HoldStatus,
    WaitlistStatus,
)
from acs.appointments.models import Booking, EmailHold, SeatHold, Service, WaitlistEntry
from acs.core.audit import audit_record
from acs.core.queues import PUBLISH_ONCE, Queues, task_send

logger = logging.getLogger(__name__)


class HoldError(Exception):
    """A claim of an offered seat the rules refuse; ``code`` is stable: ``expired``,
    ``claimed``, ``gone`` (released, passed on or replaced)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def hold_refusal(hold: SeatHold, *, now: datetime) -> HoldError | None:
    """Why ``hold`` can no longer be claimed, in plain words; None while it can."""
    if hold.status == HoldStatus.CLAIMED:
        return HoldError(
            "claimed",
            _(
                "This seat has already been booked with this link. Check your email for the "
                "confirmation."
            ),
        )
    if hold.status == HoldStatus.HELD and now < hold.expires_at:
        return None
    if hold.status in (HoldStatus.HELD, HoldStatus.EXPIRED) and hold.entry_id is None:
        return HoldError(
            "expired",
            _(
                "This link has expired: we held the time for you for a few minutes, and "
                "that time has passed, so the seat was freed. Please book again."
            ),
        )
    if hold.status in (HoldStatus.HELD, HoldStatus.EXPIRED):
        return HoldError(
            "expired",
            _(
                "This offer has ended: it was held for you until a set time, and that time has "
                "passed. The seat has gone to the next person waiting."
            ),
        )
    return HoldError("gone", _("This offer is no longer open."))


def hold_lock(
    *, hold_id: int, service: Service, starts_at: datetime, people: int, now: datetime
) -> SeatHold:
    """Lock the offer being claimed and check it still holds these seats, or raise
    HoldError. Called by ``booking_create`` after it locked the slot, so a second claim
    (another tab) waits for the first and then finds it claimed."""
    hold = SeatHold.objects.select_for_update().filter(pk=hold_id).first()
    if hold is None or hold.service_id != service.pk or hold.starts_at != starts_at:
        raise HoldError("gone", _("This offer is no longer open."))
    if hold.people_count != people:
        raise HoldError("gone", _("This offer is no longer open."))
    refusal = hold_refusal(hold, now=now)
    if refusal is not None:
        raise refusal
    return hold


def hold_expiry(service: Service, starts_at: datetime, now: datetime, *, minutes: int) -> datetime:
    """When a hold made ``now`` ends: after its ``minutes``, but never past the last moment
    the slot can be booked, so that claiming it in time is never refused for short notice."""
    last = starts_at - timedelta(hours=service.min_notice_hours)
    return min(now + timedelta(minutes=minutes), last)


def hold_claimed(*, hold: SeatHold, booking: Booking, now: datetime) -> None:
    """Mark the locked ``hold`` claimed by ``booking``, its entry (or its emailed booking)
    booked, and audit it: in the booking's transaction, so the seat passes from hold to
    booking at once."""
    hold.status = HoldStatus.CLAIMED
    hold.ended_at = now
    hold.save(update_fields=["status", "ended_at"])
    if hold.entry_id is None:
        _email_hold_booked(hold, booking)
        return
    entry = WaitlistEntry.objects.select_for_update().get(pk=hold.entry_id)
    entry.status = WaitlistStatus.BOOKED
    entry.ended_at = now
    entry.booking = booking
    entry.save(update_fields=["status", "ended_at", "booking"])
    entry.people.update(active=False)
    audit_record(
        actor=None,
        action=AUDIT_WAITLIST_CLAIMED,
        target=entry,
        post=booking.post,
        summary=f"Offered seat claimed: booking {booking.code}",
        changes={"hold": [None, hold.pk], "booking": [None, booking.code]},
    )


def _email_hold_booked(hold: SeatHold, booking: Booking) -> None:
    held = EmailHold.objects.select_for_update().get(hold=hold)
    held.booking = booking
    held.save(update_fields=["booking"])
    held.people.update(active=False)
    audit_record(
        actor=None,
        action=AUDIT_EMAIL_HOLD_CONFIRMED,
        target=held,
        post=booking.post,
        summary=f"Held seat confirmed from the emailed link: booking {booking.code}",
        changes={"hold": [None, hold.pk], "booking": [None, booking.code]},
    )


def seat_freed(*, service_id: int, starts_at: datetime) -> None:
    """Tell the waitlist, once the current transaction commits, that seats of this slot may
    be free (a cancellation, a move away). Best effort: with the broker down, the waitlist's
    periodic sweep finds the seat within a minute."""
    key = starts_at.astimezone(UTC).isoformat()

    def send() -> None:
        try:
            task_send(
                "acs.appointments.tasks.waitlist_offer",
                args=[service_id, key],
                queue=Queues.DEFAULT,
                **PUBLISH_ONCE,
            )
        except (KombuError, OSError):
            logger.warning("broker unreachable: the waitlist sweep will offer %s", key)

    transaction.on_commit(send)
