"""The waitlist of first-come services: "tell me when a seat opens" on chosen days.

A citizen joins with the people (identity as for a booking), a few days within the horizon
and an email; the entry counts once the emailed link is confirmed, and then waits in the
order of confirmation. One entry per person per service: confirming a second one replaces the
first (``WaitlistPerson``'s partial unique index is the backstop).

A seat that is free on a day someone waits for (a cancellation, a move away, more seats) is
offered to one entry at a time, the first in line whose days include the slot's day and whose
people fit, as a ``SeatHold`` that lasts ``ACS_WAITLIST_HOLD_MINUTES``. While held, the seat
is taken for everyone else: ``availability`` and ``booking_create`` count held seats beside
booked ones, under the same slot lock. The claim link books it through ``booking_create``
(``hold_id``), which claims the hold in the booking's own transaction. An offer not claimed
in time ends that entry and passes the seat to the next in line (``waitlist_sweep``).

Locks, always in this order: the post (shared, like a booking), the slot's lock row, then
holds and entries. Every offer, claim, expiry and release runs under its slot's lock, so a
seat is never held for two entries, nor held and booked at once; an entry holds at most one
offer (``one_held_offer_per_waitlist_entry``). Every step is audited in its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from acs.appointments import availability
from acs.appointments.constants import (
    AUDIT_WAITLIST_CONFIRMED,
    AUDIT_WAITLIST_JOINED,
    AUDIT_WAITLIST_LEFT,
    AUDIT_WAITLIST_OFFER_EXPIRED,
    AUDIT_WAITLIST_OFFER_RELEASED,
    AUDIT_WAITLIST_OFFERED,
    AUDIT_WAITLIST_REPLACED,
    WAITLIST_ACTIVE,
    HoldStatus,
    WaitlistStatus,
)
from acs.appointments.models import (
    Booking,
    BookingPerson,
    SeatHold,
    Service,
    SlotLock,
    WaitlistDay,
    WaitlistEntry,
    WaitlistPerson,
)
from acs.appointments.services.booking import (
    BookingError,
    PersonData,
    booking_create,
    identity_key,
    people_create,
    people_data,
)
from acs.appointments.services.holds import HoldError, hold_expiry, hold_refusal
from acs.appointments.services.mail import waitlist_email_queue
from acs.core import clock
from acs.core.audit import audit_record
from acs.core.locking import lock_row, share_lock_row
from acs.core.queues import PUBLISH_ONCE, Queues, task_send
from acs.posts.models import Post

# Most days one entry may choose: enough to say "any of these", few enough that an entry
# cannot sit on every day of the horizon.
MOST_DAYS = 5
# How long the emailed link to confirm an entry works.
CONFIRM_DAYS = 2


class WaitlistError(Exception):
    """A refusal a citizen can read; ``code`` is stable for pages and tests."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Released:
    """Seats an ended offer gives back, to pass on under the same slot lock."""

    service: Service
    starts_at: datetime


def hold_minutes() -> int:
    return settings.ACS_WAITLIST_HOLD_MINUTES


# Joining ------------------------------------------------------------------------------------


def days_open(service: Service, *, now: datetime | None = None) -> list[date]:
    """The post's dates within the horizon on which the service takes appointments at all
    (opening rules, closures, holidays, notice): the days a citizen may wait for."""
    today = clock.today(service.post, now)
    offered = availability.slots_between(
        service, today, today + timedelta(days=service.horizon_days), now=now, count_seats=False
    )
    return sorted(offered)


def _check_days(service: Service, days: list[date], now: datetime) -> list[date]:
    wanted = sorted(set(days))
    if not 1 <= len(wanted) <= MOST_DAYS:
        raise WaitlistError(
            "days",
            ngettext("Choose %(most)d day.", "Choose from 1 to %(most)d days.", MOST_DAYS)
            % {"most": MOST_DAYS},
        )
    if set(wanted) - set(days_open(service, now=now)):
        raise WaitlistError(
            "days", _("One of the days you chose is not open for this service. Choose again.")
        )
    return wanted


def _check_people(service: Service, people: list[PersonData], email: str) -> list[str]:
    if not 1 <= len(people) <= service.max_people:
        raise WaitlistError(
            "people_count",
            _("One request can cover from 1 to %(most)d people.") % {"most": service.max_people},
        )
    keys = [identity_key(person, email=email) for person in people]
    if len(set(keys)) != len(keys):
        raise WaitlistError("duplicate_person", _("The same person is listed twice."))
    if BookingPerson.objects.filter(service=service, identity_key__in=keys, active=True).exists():
        raise WaitlistError(
            "already_booked",
            _(
                "One of these people already has an appointment for this service. To change "
                "it, use the link in that appointment's confirmation email."
            ),
        )
    return keys


def waitlist_join(
    *,
    service: Service,
    days: list[date],
    people: list[PersonData],
    email: str,
    phone: str,
    language: str = "en",
    now: datetime | None = None,
) -> WaitlistEntry:
    """Ask to be told when a seat opens on one of ``days``; or raise WaitlistError.

    The entry waits for its email to be confirmed (``waitlist_confirm``) before it counts:
    until then it takes nobody's place, not even that of an earlier entry of its people.
    """
    now = now or timezone.now()
    email = email.strip().lower()
    wanted = _check_days(service, days, now)
    keys = _check_people(service, people, email)
    with transaction.atomic(durable=True):
        entry = WaitlistEntry.objects.create(
            post_id=service.post_id,
            service=service,
            people_count=len(people),
            email=email,
            phone=phone,
            language=language,
            created_at=now,
        )
        WaitlistDay.objects.bulk_create([WaitlistDay(entry=entry, day=day) for day in wanted])
        people_create(WaitlistPerson, people, keys, entry=entry, service=service)
        audit_record(
            actor=None,
            action=AUDIT_WAITLIST_JOINED,
            target=entry,
            post=service.post,
            summary=f"Asked to join the waitlist of {service.slug} ({len(people)} people)",
            changes={"days": [None, [day.isoformat() for day in wanted]]},
        )
        waitlist_email_queue(entry=entry, kind="confirm")
    return entry


# Confirming, leaving ------------------------------------------------------------------------


def _entries_replaced(entry: WaitlistEntry) -> list[WaitlistEntry]:
    """The active entries of the same service that share a person with ``entry``."""
    keys = list(entry.people.values_list("identity_key", flat=True))
    return list(
        WaitlistEntry.objects.filter(
            service_id=entry.service_id,
            status__in=WAITLIST_ACTIVE,
            people__identity_key__in=keys,
            people__active=True,
        )
        .exclude(pk=entry.pk)
        .distinct()
    )


def _held(entries: list[WaitlistEntry]) -> list[SeatHold]:
    return list(
        SeatHold.objects.filter(entry__in=entries, status=HoldStatus.HELD).order_by(
            "starts_at", "pk"
        )
    )


def _lock_slots(service: Service, holds: list[SeatHold]) -> None:
    """The post (shared) and the slot of each hold, in time order, before touching them."""
    share_lock_row(Post, service.post_id)
    for starts_at in sorted({hold.starts_at for hold in holds}):
        lock_row(SlotLock, service=service, starts_at=starts_at)


def _end(entry: WaitlistEntry, status: str, now: datetime, *, action: str, summary: str) -> None:
    entry.status = status
    entry.ended_at = now
    entry.save(update_fields=["status", "ended_at"])
    entry.people.update(active=False)
    audit_record(actor=None, action=action, target=entry, post=entry.service.post, summary=summary)


def _release(entry: WaitlistEntry, now: datetime) -> list[Released]:
    """End the entry's held offer, if any (its slot must be locked): the seats go back."""
    released = []
    for hold in SeatHold.objects.select_for_update().filter(entry=entry, status=HoldStatus.HELD):
        hold.status = HoldStatus.RELEASED
        hold.ended_at = now
        hold.save(update_fields=["status", "ended_at"])
        audit_record(
            actor=None,
            action=AUDIT_WAITLIST_OFFER_RELEASED,
            target=entry,
            post=entry.service.post,
            summary=f"Offered seat given back: {hold.starts_at:%Y-%m-%d %H:%M} UTC",
        )
        released.append(Released(service=entry.service, starts_at=hold.starts_at))
    return released


class _Retry(Exception):
    """An offer was made between reading the holds and locking: read them again."""


def _locked_entries(entries: list[WaitlistEntry], holds: list[SeatHold]) -> list[WaitlistEntry]:
    locked = list(
        WaitlistEntry.objects.select_for_update(of=("self",))
        .select_related("service__post")
        .filter(pk__in=[entry.pk for entry in entries])
        .order_by("pk")
    )
    if {hold.pk for hold in _held(locked)} - {hold.pk for hold in holds}:
        raise _Retry
    return locked


def _with_slots_locked(entry: WaitlistEntry, others: bool, work) -> object:
    """Run ``work(locked entries)`` in one transaction, after locking the slots of the offers
    the entries hold (the slot first, as every writer does); again if an offer came between."""
    for _attempt in range(3):
        entries = [entry, *(_entries_replaced(entry) if others else [])]
        holds = _held(entries)
        try:
            with transaction.atomic(durable=True):
                _lock_slots(entry.service, holds)
                return work(_locked_entries(entries, holds))
        except _Retry:
            continue
    raise WaitlistError("busy", _("Something changed at the same moment. Please try again."))


def waitlist_confirm(*, entry: WaitlistEntry, now: datetime | None = None) -> WaitlistEntry:
    """Confirm the entry's email: it joins the line now. An earlier entry of any of its
    people for this service is replaced (its held offer, if any, passes on). Confirming twice
    is harmless; a link older than ``CONFIRM_DAYS`` or an entry already ended is refused."""
    now = now or timezone.now()
    if entry.status != WaitlistStatus.UNCONFIRMED:
        if entry.status in WAITLIST_ACTIVE:
            return entry
        raise WaitlistError("ended", _("This request is no longer on the waitlist."))
    if now - entry.created_at > timedelta(days=CONFIRM_DAYS):
        raise WaitlistError(
            "expired",
            _("This link has expired: it works for %(days)d days. Please ask again.")
            % {"days": CONFIRM_DAYS},
        )

    def work(locked: list[WaitlistEntry]) -> WaitlistEntry:
        current = next(item for item in locked if item.pk == entry.pk)
        if current.status != WaitlistStatus.UNCONFIRMED:
            return current
        released: list[Released] = []
        for old in locked:
            if old.pk != current.pk and old.status in WAITLIST_ACTIVE:
                released += _release(old, now)
                summary = f"Replaced by a newer request (entry {current.pk})"
                _end(
                    old,
                    WaitlistStatus.REPLACED,
                    now,
                    action=AUDIT_WAITLIST_REPLACED,
                    summary=summary,
                )
        current.status = WaitlistStatus.WAITING
        current.confirmed_at = now
        current.save(update_fields=["status", "confirmed_at"])
        current.people.update(active=True)
        audit_record(
            actor=None,
            action=AUDIT_WAITLIST_CONFIRMED,
            target=current,
            post=current.service.post,
            summary="Email confirmed: on the waitlist",
        )
        for seat in released:
            _offer_locked(seat.service, seat.starts_at, now)
        service_id = current.service_id
        transaction.on_commit(lambda: _sweep_soon(service_id))
        return current

    try:
        return _with_slots_locked(entry, True, work)
    except IntegrityError as error:  # a twin confirm of the same person, at the same moment
        raise WaitlistError(
            "busy", _("Something changed at the same moment. Please try again.")
        ) from error


def waitlist_leave(*, entry: WaitlistEntry, now: datetime | None = None) -> WaitlistEntry:
    """Leave the waitlist; a seat held for the entry passes to the next in line. Leaving
    twice, or after the entry ended, changes nothing."""
    now = now or timezone.now()
    if entry.status not in (*WAITLIST_ACTIVE, WaitlistStatus.UNCONFIRMED):
        return entry

    def work(locked: list[WaitlistEntry]) -> WaitlistEntry:
        [current] = locked
        if current.status not in (*WAITLIST_ACTIVE, WaitlistStatus.UNCONFIRMED):
            return current
        released = _release(current, now)
        _end(
            current,
            WaitlistStatus.LEFT,
            now,
            action=AUDIT_WAITLIST_LEFT,
            summary="Left the waitlist",
        )
        for seat in released:
            _offer_locked(seat.service, seat.starts_at, now)
        return current

    return _with_slots_locked(entry, False, work)


# Offering -----------------------------------------------------------------------------------


def _candidates(service: Service, day: date, free: int):
    return (
        WaitlistEntry.objects.filter(
            service=service,
            status=WaitlistStatus.WAITING,
            people_count__lte=free,
            days__day=day,
        )
        .order_by("confirmed_at", "pk")
        .values_list("pk", flat=True)
    )


def _booked_meanwhile(entry: WaitlistEntry, now: datetime) -> bool:
    """An entry whose people booked the ordinary way since: it is done, not offered."""
    keys = entry.people.values_list("identity_key", flat=True)
    found = (
        BookingPerson.objects.filter(
            service_id=entry.service_id, identity_key__in=keys, active=True
        )
        .values_list("booking_id", flat=True)
        .first()
    )
    if found is None:
        return False
    entry.booking = Booking.objects.get(pk=found)
    entry.save(update_fields=["booking"])
    _end(
        entry,
        WaitlistStatus.BOOKED,
        now,
        action=AUDIT_WAITLIST_LEFT,
        summary=f"Booked the ordinary way ({entry.booking.code}): off the waitlist",
    )
    return True


def _offer_to(entry: WaitlistEntry, service: Service, starts_at: datetime, now: datetime):
    hold = SeatHold.objects.create(
        entry=entry,
        service=service,
        starts_at=starts_at,
        people_count=entry.people_count,
        expires_at=hold_expiry(service, starts_at, now, minutes=hold_minutes()),
    )
    entry.status = WaitlistStatus.OFFERED
    entry.save(update_fields=["status"])
    audit_record(
        actor=None,
        action=AUDIT_WAITLIST_OFFERED,
        target=entry,
        post=service.post,
        summary=(
            f"Offered {starts_at:%Y-%m-%d %H:%M} UTC until {hold.expires_at:%Y-%m-%d %H:%M} UTC"
        ),
        changes={"hold": [None, hold.pk]},
    )
    waitlist_email_queue(entry=entry, kind="offer", hold=hold)
    return hold


def _offer_locked(service: Service, starts_at: datetime, now: datetime) -> list[SeatHold]:
    """Offer the free seats of one slot, its lock held, to the first in line whose days and
    party fit, one entry at a time, until no seat or no fitting entry is left."""
    if availability.slot_offered(service, starts_at, now=now, count_seats=False) is None:
        return []
    if hold_expiry(service, starts_at, now, minutes=hold_minutes()) <= now:
        return []
    day = clock.today(service.post, starts_at)
    free = availability.seats_free(service, starts_at)
    offered: list[SeatHold] = []
    while free > 0:
        for pk in _candidates(service, day, free):
            # Skip an entry another transaction holds (being confirmed over, left, offered
            # another seat): waiting for it could deadlock with one holding its slot. Only
            # the entry's row ("self"): the post is share-locked by every booking.
            entry = (
                WaitlistEntry.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, status=WaitlistStatus.WAITING)
                .select_related("service__post")
                .first()
            )
            if entry is not None and not _booked_meanwhile(entry, now):
                offered.append(_offer_to(entry, service, starts_at, now))
                free -= entry.people_count
                break
        else:
            break  # nobody left who fits
    return offered


def slot_offer(
    *, service: Service, starts_at: datetime, now: datetime | None = None
) -> list[SeatHold]:
    """Offer what is free in the slot at ``starts_at`` to the waitlist, under the slot's
    lock. Repeating it offers nothing new. Returns the offers made."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        share_lock_row(Post, service.post_id)
        lock_row(SlotLock, service=service, starts_at=starts_at)
        return _offer_locked(service, starts_at, now)


def offers_make(*, service: Service, now: datetime | None = None) -> int:
    """Offer every seat free on a day someone waits for: the backstop of the trigger a
    cancellation sends, and how more seats (capacity) reach the waitlist. Returns how many
    offers were made."""
    now = now or timezone.now()
    today = clock.today(service.post, now)
    wanted = set(
        WaitlistDay.objects.filter(
            entry__service=service, entry__status=WaitlistStatus.WAITING, day__gte=today
        ).values_list("day", flat=True)
    )
    if not wanted:
        return 0
    days = availability.slots_between(service, min(wanted), max(wanted), now=now)
    made = 0
    for day in sorted(wanted & set(days)):
        for slot in days[day]:
            if slot.free > 0:
                made += len(slot_offer(service=service, starts_at=slot.starts_at, now=now))
    return made


def _sweep_soon(service_id: int) -> None:
    task_send(
        "acs.appointments.tasks.waitlist_service_sweep",
        args=[service_id],
        queue=Queues.DEFAULT,
        **PUBLISH_ONCE,
    )


# Expiry -------------------------------------------------------------------------------------


def offer_expire(*, hold_id: int, now: datetime | None = None) -> bool:
    """End an offer not claimed in time: the entry's place ends (its email said so) and the
    seat passes to the next in line, under the slot's lock. Returns whether it ended now."""
    now = now or timezone.now()
    hold = SeatHold.objects.select_related("service__post").filter(pk=hold_id).first()
    if hold is None or hold.entry_id is None:
        return False  # not a waitlist offer (``services.emailhold`` ends those)
    if hold.status != HoldStatus.HELD or hold.expires_at > now:
        return False
    with transaction.atomic(durable=True):
        share_lock_row(Post, hold.service.post_id)
        lock_row(SlotLock, service=hold.service, starts_at=hold.starts_at)
        locked = SeatHold.objects.select_for_update().get(pk=hold_id)
        if locked.status != HoldStatus.HELD or locked.expires_at > now:
            return False  # claimed or passed on while we waited for the lock
        locked.status = HoldStatus.EXPIRED
        locked.ended_at = now
        locked.save(update_fields=["status", "ended_at"])
        entry = (
            WaitlistEntry.objects.select_for_update(of=("self",))
            .select_related("service__post")
            .get(pk=locked.entry_id)
        )
        _end(
            entry,
            WaitlistStatus.LAPSED,
            now,
            action=AUDIT_WAITLIST_OFFER_EXPIRED,
            summary=f"Offer of {locked.starts_at:%Y-%m-%d %H:%M} UTC not claimed in time",
        )
        waitlist_email_queue(entry=entry, kind="lapsed", hold=locked)
        _offer_locked(hold.service, hold.starts_at, now)
    return True


def waitlist_sweep(*, now: datetime | None = None) -> tuple[int, int]:
    """Periodic: end the offers not claimed in time (each passes on), then offer the seats
    free on days people wait for. Safe to repeat and to run twice at once (every step
    re-checks under the slot's lock). Returns (offers ended, offers made)."""
    now = now or timezone.now()
    # Only the waitlist's offers: the seats held for an emailed link end in ``services.emailhold``.
    due = SeatHold.objects.filter(
        status=HoldStatus.HELD, expires_at__lte=now, entry__isnull=False
    ).values_list("pk", flat=True)
    ended = sum(offer_expire(hold_id=pk, now=now) for pk in list(due))
    services = (
        Service.objects.filter(active=True, waitlist__status=WaitlistStatus.WAITING)
        .distinct()
        .select_related("post")
    )
    made = sum(offers_make(service=service, now=now) for service in services)
    return ended, made


# Claiming -----------------------------------------------------------------------------------


def offer_claim(*, hold: SeatHold, now: datetime | None = None) -> Booking:
    """Book the offered seat for the entry's people, through ``booking_create`` (the
    confirmation email, calendar file, QR code and manage link of any booking). Raises
    HoldError for an offer that ended or was claimed already (another tab), BookingError
    when the booking rules refuse it (the time was closed since)."""
    now = now or timezone.now()
    refusal = hold_refusal(hold, now=now)
    if refusal is not None:
        raise refusal
    entry = hold.entry
    try:
        return booking_create(
            service=hold.service,
            starts_at=hold.starts_at,
            people=people_data(entry.people.all()),
            email=entry.email,
            phone=entry.phone,
            language=entry.language,
            now=now,
            hold_id=hold.pk,
        )
    except BookingError as error:
        hold.refresh_from_db(fields=["status"])
        if error.code == "already_booked" and (again := hold_refusal(hold, now=now)):
            raise again from error  # the other tab's claim won
        raise


__all__ = [
    "MOST_DAYS",
    "HoldError",
    "WaitlistError",
    "days_open",
    "offer_claim",
    "offer_expire",
    "offers_make",
    "slot_offer",
    "waitlist_confirm",
    "waitlist_join",
    "waitlist_leave",
    "waitlist_sweep",
]
