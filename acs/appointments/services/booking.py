"""Every change of state of a booking: create, cancel, reschedule, remind.

Capacity is counted, never stored: each writer locks the slot's lock row (``lock_row``), then
counts the people already booked, then writes. ``ACS_LOCKS_ENABLED`` exists only so that a
test can show the race this prevents.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from acs.appointments import availability, selectors
from acs.appointments.constants import (
    ACTIVE,
    AUDIT_BOOKING_CANCELLED,
    AUDIT_BOOKING_CREATED,
    AUDIT_BOOKING_RESCHEDULED,
    LATE_CANCELLATION_HOURS,
    BookingChannel,
    BookingStatus,
    HoldStatus,
)
from acs.appointments.models import (
    Booking,
    BookingPerson,
    Closure,
    EmailHold,
    EmailHoldPerson,
    OpeningRule,
    SeatHold,
    Service,
    SlotLock,
)
from acs.appointments.services import closures, holds
from acs.appointments.services.mail import booking_email_queue
from acs.core.audit import audit_record
from acs.core.clock import long_date
from acs.core.constants import ActorKind
from acs.core.forms.passport import normalize_passport
from acs.core.locking import lock_row
from acs.posts.models import Post


class BookingError(Exception):
    """A refusal a citizen can read; ``code`` is stable for pages, the API and tests."""

    def __init__(self, code: str, message: str, *, nearest: list | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.nearest = nearest or []


def priority_used_text() -> str:
    return _(
        "This priority link has already been used to book: it works once. You can still "
        "book any of the times open to everyone."
    )


@dataclass(frozen=True)
class PersonData:
    full_name: str
    date_of_birth: date
    passport_number: str = ""


def people_data(records) -> list[PersonData]:
    """What ``booking_create`` takes from stored people (of a waitlist entry, a held seat, a
    round's request)."""
    return [
        PersonData(record.full_name, record.date_of_birth, record.passport_number)
        for record in records
    ]


def people_create(model: type, people: list[PersonData], keys: list[str], **parent) -> None:
    """Write ``people`` as rows of ``model`` (a booking's, a waitlist entry's or a held
    seat's people), each with its identity key and ``parent``'s fields, in one INSERT."""
    model.objects.bulk_create(
        [
            model(
                **parent,
                full_name=person.full_name.strip(),
                date_of_birth=person.date_of_birth,
                passport_number=normalize_passport(person.passport_number),
                identity_key=key,
            )
            for person, key in zip(people, keys, strict=True)
        ]
    )


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip().casefold()


def identity_key(person: PersonData, *, email: str) -> str:
    """Who a person is, for the one-active-booking rule: the passport number when there is
    one, otherwise name, date of birth and email together."""
    if person.passport_number:
        basis = f"passport:{normalize_passport(person.passport_number)}"
    else:
        basis = f"person:{_fold(person.full_name)}|{person.date_of_birth:%Y-%m-%d}|{email.lower()}"
    return hashlib.sha256(basis.encode()).hexdigest()


def _local_date_text(instant: datetime, zone) -> str:
    return long_date(instant.astimezone(zone))


@dataclass(frozen=True)
class SlotState:
    """A slot as its lock holder finds it (``_slot_state``)."""

    closed: bool  # a closure of the post or of the service covers it now
    person_booked: int | None  # an active BookingPerson with one of the identity keys
    person_held: bool  # one of them waits for the emailed link of another seat's hold
    taken: int  # people in the slot's active bookings and waitlist holds
    seats: int  # the service's seats per slot, as of now


def _slot_state(
    service: Service,
    starts_at: datetime,
    *,
    keys: list[str] | None = None,
    exclude: Booking | None = None,
    hold_id: int | None = None,
) -> SlotState:
    """Everything the booking decides on, read in one query after the slot's lock (a new
    statement, so it sees every booking committed before the lock was granted): whether a
    closure now covers the slot, whether one of ``keys`` already holds an active booking of
    the service, the people booked into the slot (less ``exclude``, a booking being moved),
    and the seats per slot read afresh, so that a change staff just saved counts at once
    however old the caller's ``service`` is."""
    quote = connection.ops.quote_name
    when = connection.ops.adapt_datetimefield_value
    end = starts_at + timedelta(minutes=service.duration_minutes)
    closures, bookings = quote(Closure._meta.db_table), quote(Booking._meta.db_table)
    people, services = quote(BookingPerson._meta.db_table), quote(Service._meta.db_table)
    held = quote(SeatHold._meta.db_table)
    statuses = sorted(ACTIVE)
    params: list = [service.post_id, service.pk, when(end), when(starts_at)]
    person, person_held = "NULL", "FALSE"
    if keys:
        among = ", ".join(["%s"] * len(keys))
        person = (
            f"(SELECT id FROM {people} WHERE service_id = %s AND active = %s AND identity_key "  # noqa: S608  # nosec B608
            f"IN ({among}) ORDER BY booking_id, id LIMIT 1)"
        )
        hold_people = quote(EmailHoldPerson._meta.db_table)
        email_holds = quote(EmailHold._meta.db_table)
        # Held for a booking without JavaScript, whose link was not followed yet; the hold
        # this booking claims (``hold_id``) is its own.
        person_held = (
            f"EXISTS (SELECT 1 FROM {hold_people} p JOIN {email_holds} e "  # noqa: S608  # nosec B608
            f"ON e.id = p.email_hold_id WHERE p.service_id = %s AND p.active = %s "
            f"AND p.identity_key IN ({among}) AND e.hold_id <> %s)"
        )
        params += [service.pk, True, *keys, service.pk, True, *keys, hold_id or 0]
    params += [service.pk, when(starts_at), *statuses, exclude.pk if exclude else 0]
    params += [service.pk, when(starts_at), HoldStatus.HELD.value, hold_id or 0, service.pk]
    sql = f"""
        SELECT
          EXISTS (SELECT 1 FROM {closures} WHERE post_id = %s
                  AND (service_id IS NULL OR service_id = %s) AND starts_at < %s AND ends_at > %s),
          {person},
          {person_held},
          COALESCE((SELECT SUM(people_count) FROM {bookings} WHERE service_id = %s
                    AND starts_at = %s AND status IN ({", ".join(["%s"] * len(statuses))})
                    AND id <> %s), 0)
          + COALESCE((SELECT SUM(people_count) FROM {held} WHERE service_id = %s
                      AND starts_at = %s AND status = %s AND id <> %s), 0),
          (SELECT seats_per_slot FROM {services} WHERE id = %s)
    """  # noqa: S608 — table names from the models, every value a parameter  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        closed, person_booked, person_held, taken, seats = cursor.fetchone()
    return SlotState(bool(closed), person_booked, bool(person_held), int(taken), int(seats))


def _check_slot(
    service: Service,
    starts_at: datetime,
    people: int,
    now: datetime,
    *,
    horizon_days: int | None = None,
) -> None:
    # Only whether the rules offer the time; closures and seats are checked under the slot's
    # lock (``_check_state``), where they count.
    slot = availability.slot_offered(
        service,
        starts_at,
        now=now,
        count_seats=False,
        horizon_days=horizon_days,
        closures=False,
    )
    if slot is None:
        raise _not_offered()


def _not_offered() -> BookingError:
    return BookingError(
        "not_offered",
        _("That time is not open for booking. Please choose one of the times shown."),
    )


def _check_first_come(service: Service, *, from_draw: bool) -> None:
    # Request rounds exist to take the release moment away from the fastest clicker (and
    # the bots): seats freed later wait for the next draw instead of going back online.
    if service.by_request and not from_draw:
        raise BookingError(
            "by_request",
            _(
                "Appointments for this service are not booked first come: they are given by "
                "a draw among the requests sent in each round. Please send a request instead."
            ),
        )


def _taken(service: Service, starts_at: datetime, people: int, now: datetime) -> BookingError:
    return BookingError(
        "taken",
        _("Sorry, that time was just taken. These are the nearest free times."),
        nearest=availability.nearest_free(service, starts_at, people=people, now=now),
    )


def _check_people(service: Service, people: list[PersonData], email: str) -> list[str]:
    """How many, and nobody twice; returns their identity keys. Whether one of them already
    holds a booking is asked under the slot's lock (``_slot_state``)."""
    if not 1 <= len(people) <= service.max_people:
        raise BookingError(
            "people_count",
            _("One booking can cover from 1 to %(most)d people.") % {"most": service.max_people},
        )
    keys = [identity_key(person, email=email) for person in people]
    if len(set(keys)) != len(keys):
        raise BookingError("duplicate_person", _("The same person is listed twice."))
    return keys


def _check_state(
    service: Service,
    starts_at: datetime,
    state: SlotState,
    *,
    people: int,
    email: str,
    now: datetime,
) -> None:
    """Refuse in the order a citizen should hear it: the time is closed; one of them is
    already booked; the seats are gone."""
    if state.closed:
        raise _not_offered()
    if state.person_booked is not None:
        existing = BookingPerson.objects.select_related("booking").get(pk=state.person_booked)
        raise _already_booked(existing, email=email, zone=service.post.zone)
    if state.person_held:
        raise already_held()
    if state.taken + people > state.seats:
        raise _taken(service, starts_at, people, now)


def already_held() -> BookingError:
    # The same words whoever asks: a stranger who knows a passport number learns nothing
    # about when its holder comes.
    return BookingError(
        "already_held",
        _(
            "A time for this service is already held for one of these people. Open the link "
            "we emailed to confirm it, or wait until it expires (at most %(minutes)d minutes) "
            "and book again."
        )
        % {"minutes": settings.ACS_BOOKING_HOLD_MINUTES},
    )


def _already_booked(existing: BookingPerson, *, email: str, zone) -> BookingError:
    # Name the existing appointment only to whoever made it (same email): a stranger who
    # knows a passport number must not learn where and when its holder will be.
    if existing.booking.email == email:
        message = _(
            "%(name)s already has an appointment for this service on %(date)s. Change or "
            "cancel that one instead of booking again."
        ) % {"name": existing.full_name, "date": _local_date_text(existing.booking.starts_at, zone)}
    else:
        message = _(
            "One of these people already has an appointment for this service. To change it, "
            "use the link in that appointment's confirmation email."
        )
    return BookingError("already_booked", message)


def booking_precheck(
    *,
    service: Service,
    starts_at: datetime,
    people: list[PersonData],
    email: str,
    now: datetime,
    horizon_days: int | None = None,
) -> list[str]:
    """What ``booking_create`` checks before it takes the slot's lock, for another path to
    the same seats (``services.emailhold``): first come, the time offered, the people.
    Returns their identity keys, or raises BookingError."""
    _check_first_come(service, from_draw=False)
    _check_slot(service, starts_at, len(people), now, horizon_days=horizon_days)
    return _check_people(service, people, email)


def booking_check_locked(
    *, service: Service, starts_at: datetime, keys: list[str], email: str, now: datetime
) -> None:
    """What ``booking_create`` checks under the slot's lock (the caller holds it): not
    closed, none of ``keys`` booked, enough seats beside every booking and hold."""
    state = _slot_state(service, starts_at, keys=keys)
    _check_state(service, starts_at, state, people=len(keys), email=email, now=now)


def booking_create(
    *,
    service: Service,
    starts_at: datetime,
    people: list[PersonData],
    email: str,
    phone: str,
    language: str = "en",
    now: datetime | None = None,
    horizon_days: int | None = None,
    hold_id: int | None = None,
    from_draw: bool = False,
    priority_token: str | None = None,
    via: BookingChannel = BookingChannel.PAGES,
) -> Booking:
    """Book ``people`` into the slot at ``starts_at``, or raise BookingError.

    One transaction: lock the slot, count, write. The partial unique index on active people
    is the backstop for the one-booking-per-person rule under concurrency. ``horizon_days``
    widens the bookable range for a citizen holding a priority link (``services.closures``).
    ``hold_id`` claims a seat the waitlist offered (``services.waitlist``): its seats are
    this booking's, and it is claimed in the same transaction, or ``holds.HoldError``.
    A service given out by request rounds is booked only by its draw (``from_draw``).
    ``priority_token``: the closure's priority link this booking is made with; it is spent
    in the same transaction (a second booking with it is refused). ``via``: the pages or the
    API, for the booking's history (a draw's and a waitlist offer's bookings say so).
    """
    _check_first_come(service, from_draw=from_draw)
    now = now or timezone.now()
    email = email.strip().lower()
    _check_slot(service, starts_at, len(people), now, horizon_days=horizon_days)
    keys = _check_people(service, people, email)
    try:
        with transaction.atomic(durable=True):
            # A closure of this post waits for us, and we for it (it locks the post for
            # update, we share-lock it with the slot); then, under the slot lock, one query
            # reads what the booking depends on, a closure committed meanwhile included.
            lock_row(SlotLock, share=(Post, service.post_id), service=service, starts_at=starts_at)
            hold = _hold_lock(hold_id, service, starts_at, len(people), now)
            state = _slot_state(service, starts_at, keys=keys, hold_id=hold_id)
            _check_state(service, starts_at, state, people=len(people), email=email, now=now)
            if priority_token and not closures.priority_spend(
                service=service, token=priority_token, now=now
            ):
                raise BookingError("priority_used", priority_used_text())
            booking = Booking.objects.create(
                post_id=service.post_id,
                service=service,
                starts_at=starts_at,
                people_count=len(people),
                email=email,
                phone=phone,
                language=language,
            )
            people_create(BookingPerson, people, keys, booking=booking, service=service)
            if hold is not None:
                holds.hold_claimed(hold=hold, booking=booking, now=now)
            booking_email_queue(booking=booking, kind="confirmation")
            _audit_created(booking, now=now, from_draw=from_draw, hold=hold, via=via)
    except IntegrityError as error:
        # Another booking for one of these people committed between our check and our insert.
        raise BookingError(
            "already_booked",
            _("One of these people already has an appointment for this service."),
        ) from error
    return booking


def _audit_created(
    booking: Booking,
    *,
    now: datetime,
    from_draw: bool,
    hold: SeatHold | None,
    via: BookingChannel,
) -> None:
    """The first line of the booking's story: one INSERT, the only write the booking path
    adds for it (booking is benchmarked). A draw books on the system's behalf; every other
    booking is the citizen's own."""
    via = BookingChannel(via)
    if from_draw:
        via = BookingChannel.DRAW
    elif hold is not None:
        via = BookingChannel.WAITLIST
    audit_record(
        actor=None,
        actor_kind=ActorKind.SYSTEM if from_draw else ActorKind.CITIZEN,
        action=AUDIT_BOOKING_CREATED,
        target=booking,
        summary=f"{booking.code} booked ({via.value})",
        changes={
            "status": [None, BookingStatus.BOOKED.value],
            "starts_at": [None, booking.starts_at.isoformat()],
            "people_count": [None, booking.people_count],
            "channel": via.value,
        },
        at=now,
    )


def _actor_kind(actor: AbstractBaseUser | None) -> ActorKind:
    # No account: the citizen, through the link in their email (or the API).
    return ActorKind.CITIZEN if actor is None else ActorKind.STAFF


def _hold_lock(hold_id, service, starts_at, people, now):
    """The waitlist's offer being claimed, locked and checked (None for an ordinary booking)."""
    if hold_id is None:
        return None
    return holds.hold_lock(
        hold_id=hold_id, service=service, starts_at=starts_at, people=people, now=now
    )


def booking_cancel(
    *, booking: Booking, now: datetime | None = None, actor: AbstractBaseUser | None = None
) -> Booking:
    """Cancel: the seats are free at once. Cancelling twice is harmless (and recorded once).
    ``actor``: the staff member who cancels; None for the citizen themselves."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status == BookingStatus.CANCELLED:
            return booking
        if booking.status != BookingStatus.BOOKED:
            raise BookingError("not_cancellable", _("This appointment can no longer be cancelled."))
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        booking.cancelled_late = booking.starts_at - now < timedelta(hours=LATE_CANCELLATION_HOURS)
        booking.save(update_fields=["status", "cancelled_at", "cancelled_late"])
        booking.people.update(active=False)
        booking_email_queue(booking=booking, kind="cancelled")
        audit_record(
            actor=actor,
            actor_kind=_actor_kind(actor),
            action=AUDIT_BOOKING_CANCELLED,
            target=booking,
            summary=f"{booking.code} cancelled" + (" late" if booking.cancelled_late else ""),
            changes={
                "status": [BookingStatus.BOOKED.value, BookingStatus.CANCELLED.value],
                "cancelled_late": [False, booking.cancelled_late],
            },
            at=now,
        )
        holds.seat_freed(service_id=booking.service_id, starts_at=booking.starts_at)
    return booking


def booking_reschedule(
    *,
    booking: Booking,
    starts_at: datetime,
    now: datetime | None = None,
    actor: AbstractBaseUser | None = None,
) -> Booking:
    """Move a booking to another slot of the same service.

    The new seat is taken before the old one is released: both happen in one transaction
    that first locks the new slot and counts it. If the new time is gone, nothing changes.
    ``actor``: the staff member who moves it; None for the citizen themselves.
    """
    now = now or timezone.now()
    service = booking.service
    _check_first_come(service, from_draw=False)
    _check_slot(service, starts_at, booking.people_count, now)
    with transaction.atomic(durable=True):
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.status != BookingStatus.BOOKED:
            raise BookingError("not_reschedulable", _("This appointment can no longer be changed."))
        if booking.starts_at == starts_at:
            return booking
        lock_row(SlotLock, share=(Post, service.post_id), service=service, starts_at=starts_at)
        state = _slot_state(service, starts_at, exclude=booking)
        _check_state(service, starts_at, state, people=booking.people_count, email="", now=now)
        holds.seat_freed(service_id=booking.service_id, starts_at=booking.starts_at)
        before = booking.starts_at
        booking.starts_at = starts_at
        booking.reschedule_count += 1
        booking.reminder_sent_at = None
        booking.save(update_fields=["starts_at", "reschedule_count", "reminder_sent_at"])
        booking_email_queue(booking=booking, kind="rescheduled")
        audit_record(
            actor=actor,
            actor_kind=_actor_kind(actor),
            action=AUDIT_BOOKING_RESCHEDULED,
            target=booking,
            summary=f"{booking.code} moved",
            changes={"starts_at": [before.isoformat(), starts_at.isoformat()]},
            at=now,
        )
    return booking


def reminder_claim(*, booking_id: int, now: datetime | None = None) -> bool:
    """Mark a reminder as sent, once: a conditional update, so a repeated task sends nothing."""
    now = now or timezone.now()
    claimed = Booking.objects.filter(
        pk=booking_id, status=BookingStatus.BOOKED, reminder_sent_at__isnull=True
    ).update(reminder_sent_at=now)
    return claimed == 1


def reminder_queue(*, booking_id: int, now: datetime | None = None) -> bool:
    """Claim the booking's reminder and queue its email, in one transaction: the mark and the
    email commit together, so a reminder is never lost (a failed commit leaves the booking
    due for the next run) nor sent twice (a second run finds the mark). Returns whether this
    call queued it."""
    with transaction.atomic(durable=True):
        if not reminder_claim(booking_id=booking_id, now=now):
            return False  # already reminded, cancelled, or moved
        booking = Booking.objects.only("pk", "email", "language").get(pk=booking_id)
        booking_email_queue(booking=booking, kind="reminder")
    return True


def reminders_queue(*, now: datetime | None = None) -> int:
    """Queue tomorrow's reminders (``selectors.reminders_due``), each claimed once. Returns
    how many."""
    due = selectors.reminders_due(now=now)
    return sum(reminder_queue(booking_id=pk, now=now) for pk in due)


def services_seed(*, post: Post, entries: list[dict]) -> int:
    """Create the shipped services and their opening hours; existing services stay as they
    are (staff may have changed them). Returns how many services were created."""
    created = 0
    with transaction.atomic():
        for entry in entries:
            if Service.objects.filter(post=post, slug=entry["slug"]).exists():
                continue
            service = Service.objects.create(
                post=post,
                slug=entry["slug"],
                order=entry["order"],
                name_en=entry["name"]["en"],
                name_es=entry["name"]["es"],
                description_en=entry["description"]["en"],
                description_es=entry["description"]["es"],
                checklist_en="\n".join(entry["checklist"]["en"]),
                checklist_es="\n".join(entry["checklist"]["es"]),
                duration_minutes=entry["duration_minutes"],
                seats_per_slot=entry["seats_per_slot"],
                max_people=entry["max_people"],
                horizon_days=entry["horizon_days"],
                min_notice_hours=entry["min_notice_hours"],
                requires_benefits_ack=entry["requires_benefits_ack"],
            )
            OpeningRule.objects.bulk_create(
                [
                    OpeningRule(
                        service=service,
                        weekday=day,
                        opens=time.fromisoformat(opens),
                        closes=time.fromisoformat(closes),
                    )
                    for day, opens, closes in entry["hours"]
                ]
            )
            created += 1
    return created
