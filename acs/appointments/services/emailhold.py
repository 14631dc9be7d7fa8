"""Booking without JavaScript: the seat is held, and booked from a link emailed to the booker.

The review step's proof of work (ALTCHA) needs JavaScript. A browser that cannot run it
posts the review form from its ``<noscript>`` path instead, and the booking is not made at
once: ``email_hold_create`` holds the seats for ``ACS_BOOKING_HOLD_MINUTES`` as a
``SeatHold`` (the row the waitlist's offers use), so they count as taken in every capacity
count, under the slot's lock, exactly as a booked seat does; and it emails the booker a link
carrying the hold's token (192 random bits). Following the link books the seats through
``booking_create`` (``email_hold_confirm``), which claims the hold in the booking's own
transaction and sends the ordinary confirmation. A hold nobody confirms ends at its time
(``email_holds_expire``, every minute) and its seats go back, first to the waitlist.

The rules are the booking's: the same checks before and under the lock (``booking_precheck``,
``booking_check_locked``), the same rate limits (the page counts the attempt before calling
here), and one person holds at most one seat of a service at a time
(``EmailHoldPerson``'s partial unique index is the backstop). The emailed link is what stands
in for the proof of work: a robot must read a real mailbox per held booking, what it holds
frees itself within minutes, and no more than ``ACS_BOOKING_HOLDS_MOST`` people of a service
are held this way at once (``_check_room``).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from acs.appointments.constants import (
    AUDIT_EMAIL_HOLD_CREATED,
    AUDIT_EMAIL_HOLD_EXPIRED,
    HoldStatus,
)
from acs.appointments.models import (
    Booking,
    EmailHold,
    EmailHoldPerson,
    SeatHold,
    Service,
    SlotLock,
)
from acs.appointments.services import closures, holds
from acs.appointments.services.booking import (
    BookingError,
    PersonData,
    already_held,
    booking_check_locked,
    booking_create,
    booking_precheck,
    people_create,
    people_data,
)
from acs.appointments.services.holds import HoldError, hold_expiry, hold_refusal
from acs.appointments.services.mail import email_hold_email_queue
from acs.core.audit import audit_record
from acs.core.locking import lock_row
from acs.posts.models import Post


def hold_minutes() -> int:
    return settings.ACS_BOOKING_HOLD_MINUTES


def _stale_holds_end(service: Service, keys: list[str], now: datetime) -> None:
    """End the lapsed holds of these people that the sweep has not reached yet, so that a
    person whose link expired a moment ago can book again at once."""
    stale = SeatHold.objects.filter(
        email_hold__people__service=service,
        email_hold__people__identity_key__in=keys,
        email_hold__people__active=True,
        status=HoldStatus.HELD,
        expires_at__lte=now,
    ).values_list("pk", flat=True)
    for hold_id in set(stale):
        email_hold_expire(hold_id=hold_id, now=now)


def _check_room(service: Service, count: int, now: datetime) -> None:
    """At most ``ACS_BOOKING_HOLDS_MOST`` people of a service held for their emailed links at
    once. This path skips the proof of work, so a robot could otherwise hold seat after seat
    from many addresses, each for the hold's minutes, without solving anything; the cap
    bounds what it can keep from everyone else. A person without JavaScript who meets it is
    told to try again in a few minutes or to call. Counted under the slot's lock, so two
    holds of one slot never both pass it; holds of other slots made in the same instant may
    go over it by a few people."""
    held = SeatHold.objects.filter(
        service=service, entry__isnull=True, status=HoldStatus.HELD, expires_at__gt=now
    ).aggregate(people=Sum("people_count"))["people"]
    if (held or 0) + count > settings.ACS_BOOKING_HOLDS_MOST:
        raise BookingError(
            "holds_full",
            _(
                "Too many bookings for this service are waiting for their emailed link right "
                "now. Please try again in a few minutes, turn on JavaScript, or call us."
            ),
        )


def email_hold_create(
    *,
    service: Service,
    starts_at: datetime,
    people: list[PersonData],
    email: str,
    phone: str,
    language: str = "en",
    now: datetime | None = None,
    horizon_days: int | None = None,
    priority_token: str | None = None,
) -> EmailHold:
    """Hold the seats for ``people`` at ``starts_at`` and email the link that books them;
    or raise BookingError with the booking's own refusals (``not_offered``, ``taken``,
    ``already_booked``, …) or ``already_held``.

    One transaction, as ``booking_create``: lock the slot, count bookings and holds, write
    the hold, queue the email. ``priority_token`` is kept and spent by the booking."""
    now = now or timezone.now()
    email = email.strip().lower()
    keys = booking_precheck(
        service=service,
        starts_at=starts_at,
        people=people,
        email=email,
        now=now,
        horizon_days=horizon_days,
    )
    expires_at = hold_expiry(service, starts_at, now, minutes=hold_minutes())
    if expires_at <= now:
        raise BookingError(
            "not_offered",
            _("That time is not open for booking. Please choose one of the times shown."),
        )
    _stale_holds_end(service, keys, now)
    try:
        with transaction.atomic(durable=True):
            lock_row(SlotLock, share=(Post, service.post_id), service=service, starts_at=starts_at)
            booking_check_locked(
                service=service, starts_at=starts_at, keys=keys, email=email, now=now
            )
            _check_room(service, len(people), now)
            seat = SeatHold.objects.create(
                service=service,
                starts_at=starts_at,
                people_count=len(people),
                expires_at=expires_at,
            )
            held = EmailHold.objects.create(
                hold=seat,
                post_id=service.post_id,
                service=service,
                email=email,
                phone=phone,
                language=language,
                priority_token=priority_token or "",
            )
            people_create(EmailHoldPerson, people, keys, email_hold=held, service=service)
            audit_record(
                actor=None,
                action=AUDIT_EMAIL_HOLD_CREATED,
                target=held,
                post=service.post,
                summary=(
                    f"Booking without JavaScript: {starts_at:%Y-%m-%d %H:%M} UTC held until "
                    f"{expires_at:%Y-%m-%d %H:%M} UTC for the emailed link ({len(people)} people)"
                ),
                changes={"hold": [None, seat.pk]},
            )
            email_hold_email_queue(held=held)
    except IntegrityError as error:
        # Another hold of one of these people committed between our check and our insert.
        raise already_held() from error
    return held


def _booked_already(hold: SeatHold) -> Booking | None:
    """The booking a claimed hold made, if it is claimed."""
    if hold.status != HoldStatus.CLAIMED:
        return None
    return (
        Booking.objects.filter(pk=EmailHold.objects.filter(hold=hold).values("booking")[:1])
        .select_related("post", "service")
        .first()
    )


def email_hold_confirm(*, hold: SeatHold, now: datetime | None = None) -> Booking:
    """Book the held seats from the emailed link, through ``booking_create`` (the ordinary
    confirmation email, calendar file, QR code and manage link). Confirming twice (a second
    click, another tab) is harmless: it returns the booking the first made. Raises HoldError
    (``expired``, ``gone``) for a hold that ended, BookingError when the booking rules
    refuse it now (the unit closed meanwhile; one of the people booked another way)."""
    now = now or timezone.now()
    if (booking := _booked_already(hold)) is not None:
        return booking
    refusal = hold_refusal(hold, now=now)
    if refusal is not None:
        raise refusal
    held = EmailHold.objects.prefetch_related("people").get(hold=hold)
    token = held.priority_token or None
    try:
        return booking_create(
            service=hold.service,
            starts_at=hold.starts_at,
            people=people_data(held.people.all()),
            email=held.email,
            phone=held.phone,
            language=held.language,
            now=now,
            hold_id=hold.pk,
            horizon_days=closures.priority_horizon(service=hold.service, token=token),
            priority_token=token,
        )
    except HoldError:
        hold.refresh_from_db(fields=["status"])
        if (booking := _booked_already(hold)) is not None:
            return booking  # the other tab's confirmation won: the same booking
        raise


def email_hold_expire(*, hold_id: int, now: datetime | None = None) -> bool:
    """End a hold whose link was not followed in time, under its slot's lock: its seats are
    free again (offered to the waitlist first) and its people may hold or book again.
    Returns whether it ended now; repeating it changes nothing."""
    now = now or timezone.now()
    hold = (
        SeatHold.objects.select_related("service__post")
        .filter(pk=hold_id, entry__isnull=True)
        .first()
    )
    if hold is None or hold.status != HoldStatus.HELD or hold.expires_at > now:
        return False
    service = hold.service
    with transaction.atomic(durable=True):
        lock_row(SlotLock, share=(Post, service.post_id), service=service, starts_at=hold.starts_at)
        locked = SeatHold.objects.select_for_update().get(pk=hold_id)
        if locked.status != HoldStatus.HELD or locked.expires_at > now:
            return False  # confirmed while we waited for the lock
        locked.status = HoldStatus.EXPIRED
        locked.ended_at = now
        locked.save(update_fields=["status", "ended_at"])
        held = EmailHold.objects.get(hold=locked)
        held.people.update(active=False)
        audit_record(
            actor=None,
            action=AUDIT_EMAIL_HOLD_EXPIRED,
            target=held,
            post=service.post,
            summary=f"Held {locked.starts_at:%Y-%m-%d %H:%M} UTC not confirmed in time: freed",
        )
        holds.seat_freed(service_id=service.pk, starts_at=locked.starts_at)
    return True


def email_holds_expire(*, now: datetime | None = None) -> int:
    """Periodic: end every hold whose link was not followed in time. Safe to repeat and to
    run twice at once (each re-checks under its slot's lock). Returns how many ended."""
    now = now or timezone.now()
    due = SeatHold.objects.filter(
        status=HoldStatus.HELD, expires_at__lte=now, entry__isnull=True
    ).values_list("pk", flat=True)
    return sum(email_hold_expire(hold_id=pk, now=now) for pk in list(due))
