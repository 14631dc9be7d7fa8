"""Unplanned closures: close the unit (or one service) for a range of time, cancel the
appointments it covers, and give each person a priority link to book again.

One action, one durable transaction (``closure_create_and_cancel``): the closure row, every
cancellation, every audit entry and the emails (rows of the outbox, one per person, per email
address, whatever number of their bookings it cancelled) commit together; workers send them.

Confirming twice is harmless. The confirmation form carries a nonce, recorded in the audit
entry of the closure it made; a second confirm with the same nonce, or any confirm of a
closure identical to one that exists (same post, service and range), returns that closure
and changes nothing, so no one is emailed twice. The check runs under a lock on the post's
row, so two confirms racing each other queue up and the second sees the first.

Audit: ``acs.closure.created`` on the closure (range, service, reasons, how many bookings it
cancelled, how many were already inside, the nonce), and one ``acs.booking.cancelled_by_closure``
per cancelled booking, so each booking's own history shows why it ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acs.appointments import selectors
from acs.appointments.constants import (
    AUDIT_BOOKING_CANCELLED_BY_CLOSURE,
    AUDIT_CLOSURE_CREATED,
    BookingStatus,
)
from acs.appointments.models import Booking, BookingPerson, Closure, Service
from acs.appointments.services.mail import closure_emails_queue
from acs.core.audit import audit_record, diff
from acs.core.models import AuditEntry
from acs.posts.models import Post

# How long the priority link in the closure email works, and how much further ahead than
# the public horizon it lets its holder book.
PRIORITY_LINK_DAYS = 30
PRIORITY_EXTRA_DAYS = 30
_PRIORITY_SALT = "acs.appointments.closures.priority"

_CLOSURE_FIELDS = ["starts_at", "ends_at", "service", "reason_en", "reason_es"]


class ClosureError(Exception):
    """A closure the rules refuse; ``code`` is stable (``order``, ``past``, ``reason``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ClosureResult:
    """What the confirmation did. ``created`` is False for a repeated confirm, which
    cancelled nothing; ``inside`` are checked-in bookings the closure left alone."""

    closure: Closure
    created: bool
    cancelled: list[Booking] = field(default_factory=list)
    inside: list[Booking] = field(default_factory=list)


def closure_check(*, starts_at: datetime, ends_at: datetime, now: datetime | None = None) -> None:
    """Refuse a range that ends before it starts or is already over."""
    now = now or timezone.now()
    if ends_at <= starts_at:
        raise ClosureError("order", _("The closure must end after it starts."))
    if ends_at <= now:
        raise ClosureError("past", _("The closure is already over. Choose a time still to come."))


def _repeat_of(
    *, post: Post, service: Service | None, starts_at: datetime, ends_at: datetime, nonce: str
) -> Closure | None:
    """The closure this confirm already made (same nonce), or an identical one."""
    made = (
        AuditEntry.objects.filter(action=AUDIT_CLOSURE_CREATED, post=post, changes__nonce__1=nonce)
        .values_list("object_id", flat=True)
        .first()
    )
    if made is not None:
        closure = Closure.objects.filter(pk=int(made)).first()
        if closure is not None:
            return closure
    return Closure.objects.filter(
        post=post, service=service, starts_at=starts_at, ends_at=ends_at
    ).first()


def _lock_post(post: Post) -> None:
    """Serialize the closures of one post: the repeat check must see a racing twin's row.

    A row lock on the post (``SELECT … FOR UPDATE``); on SQLite the ``IMMEDIATE`` transaction
    already holds the database's write lock. ``ACS_LOCKS_ENABLED`` is off only in the race
    test's control, which shows the twin closures this prevents.
    """
    posts = Post.objects.filter(pk=post.pk)
    if getattr(settings, "ACS_LOCKS_ENABLED", True):
        posts = posts.select_for_update()
    list(posts.values_list("pk", flat=True))


def _cancel(bookings: list[Booking], *, now: datetime) -> list[Booking]:
    """Cancel those still booked, under their row locks; return the ones cancelled.

    Not counted as late: the post cancelled, not the citizen.
    """
    locked = list(
        Booking.objects.select_for_update()
        .select_related("post", "service")
        .filter(pk__in=[booking.pk for booking in bookings], status=BookingStatus.BOOKED)
        .order_by("starts_at", "pk")
    )
    ids = [booking.pk for booking in locked]
    Booking.objects.filter(pk__in=ids).update(
        status=BookingStatus.CANCELLED, cancelled_at=now, cancelled_late=False
    )
    BookingPerson.objects.filter(booking_id__in=ids).update(active=False)
    for booking in locked:
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
    return locked


def closure_create_and_cancel(
    *,
    post: Post,
    service: Service | None,
    starts_at: datetime,
    ends_at: datetime,
    reason_en: str,
    reason_es: str,
    actor: AbstractBaseUser,
    nonce: str,
    now: datetime | None = None,
) -> ClosureResult:
    """Close the unit (``service=None``) or one service from ``starts_at`` to ``ends_at``,
    cancel every booked appointment that overlaps the range, and queue one email per person
    with a priority link. Checked-in bookings are left as they are (reported as ``inside``).

    Safe to repeat: see the module's notes on the nonce.
    """
    now = now or timezone.now()
    closure_check(starts_at=starts_at, ends_at=ends_at, now=now)
    reason_en, reason_es = reason_en.strip(), reason_es.strip()
    if not reason_en:
        raise ClosureError("reason", _("Give the public reason in English."))
    with transaction.atomic(durable=True):
        _lock_post(post)
        existing = _repeat_of(
            post=post, service=service, starts_at=starts_at, ends_at=ends_at, nonce=nonce
        )
        if existing is not None:
            return ClosureResult(closure=existing, created=False)
        closure = Closure.objects.create(
            post=post,
            service=service,
            starts_at=starts_at,
            ends_at=ends_at,
            reason_en=reason_en,
            reason_es=reason_es,
        )
        covered = selectors.bookings_overlapping(
            post=post, service=service, starts_at=starts_at, ends_at=ends_at
        )
        cancelled = _cancel(covered, now=now)
        inside = [b for b in covered if b.status == BookingStatus.CHECKED_IN]
        _audit(closure, cancelled=cancelled, inside=inside, actor=actor, nonce=nonce)
        closure_emails_queue(closure=closure, cancelled=cancelled)
    return ClosureResult(closure=closure, created=True, cancelled=cancelled, inside=inside)


def _audit(
    closure: Closure,
    *,
    cancelled: list[Booking],
    inside: list[Booking],
    actor: AbstractBaseUser,
    nonce: str,
) -> None:
    codes = [booking.code for booking in cancelled]
    audit_record(
        actor=actor,
        action=AUDIT_CLOSURE_CREATED,
        target=closure,
        summary=(
            f"{closure.service or 'whole unit'} closed {closure.starts_at:%Y-%m-%d %H:%M}–"
            f"{closure.ends_at:%Y-%m-%d %H:%M} UTC; {len(cancelled)} booking(s) cancelled"
        ),
        changes={
            **diff(None, closure, _CLOSURE_FIELDS),
            "cancelled": [None, len(cancelled)],
            "cancelled_codes": [None, " ".join(codes)],
            "already_inside": [None, " ".join(booking.code for booking in inside)],
            "nonce": [None, nonce],
        },
    )
    for booking in cancelled:
        audit_record(
            actor=actor,
            action=AUDIT_BOOKING_CANCELLED_BY_CLOSURE,
            target=booking,
            summary=f"{booking.code}: cancelled by closure {closure.pk}",
            changes={
                "status": [BookingStatus.BOOKED.value, BookingStatus.CANCELLED.value],
                "closure": [None, closure.pk],
            },
        )


# The priority link ---------------------------------------------------------------------------


def priority_token(booking: Booking) -> str:
    """A signed token bound to the cancelled booking and its service, for the email's link.

    Signed, not stored: nothing to clean up, and it expires by itself after
    ``PRIORITY_LINK_DAYS``.
    """
    return signing.dumps({"b": booking.pk, "s": booking.service_id}, salt=_PRIORITY_SALT)


def priority_expires(*, now: datetime | None = None) -> datetime:
    """When a link made ``now`` stops working."""
    return (now or timezone.now()) + timedelta(days=PRIORITY_LINK_DAYS)


PRIORITY_VALID, PRIORITY_USED, PRIORITY_INVALID = "valid", "used", "invalid"


def _priority_booking_id(service: Service, token: str | None) -> int | None:
    """The cancelled booking a priority link names, if the link is ours, young enough
    (``PRIORITY_LINK_DAYS``) and for ``service``."""
    if not token:
        return None
    try:
        data = signing.loads(token, salt=_PRIORITY_SALT, max_age=timedelta(days=PRIORITY_LINK_DAYS))
    except signing.BadSignature:  # forged, damaged or expired (SignatureExpired)
        return None
    if not isinstance(data, dict) or data.get("s") != service.pk:
        return None
    return data.get("b") if isinstance(data.get("b"), int) else None


def priority_state(*, service: Service, token: str | None) -> str:
    """``PRIORITY_VALID``, ``PRIORITY_USED`` (it made a booking already: it works once) or
    ``PRIORITY_INVALID`` (forged, expired, for another service, or its booking was not
    cancelled)."""
    pk = _priority_booking_id(service, token)
    cancelled = Booking.objects.filter(pk=pk, service=service, status=BookingStatus.CANCELLED)
    found = list(cancelled.values_list("priority_used_at", flat=True)) if pk else []
    if not found:
        return PRIORITY_INVALID
    return PRIORITY_USED if found[0] is not None else PRIORITY_VALID


def priority_horizon(*, service: Service, token: str | None) -> int | None:
    """The wider horizon (days) a valid, unused priority link grants for ``service``, or
    None."""
    if priority_state(service=service, token=token) != PRIORITY_VALID:
        return None
    return service.horizon_days + PRIORITY_EXTRA_DAYS


def priority_spend(*, service: Service, token: str, now: datetime) -> bool:
    """Spend the link, in the caller's transaction (the booking it makes): mark the
    cancelled booking it names as used, under a row lock, so that two tabs or a forwarded
    email book with it once. False if it was spent already or is not valid."""
    pk = _priority_booking_id(service, token)
    if pk is None:
        return False
    spent = Booking.objects.filter(
        pk=pk, service=service, status=BookingStatus.CANCELLED, priority_used_at__isnull=True
    ).update(priority_used_at=now)
    return spent == 1
