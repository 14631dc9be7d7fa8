"""Request rounds: every change of state of a round and its requests.

A service in ``rounds`` mode gives out its seats in rounds (docs/release-rounds.md):

1. ``rounds_open_due``: on the service's schedule a round opens, with a secret seed whose
   SHA-256 is published at once (``Round.commitment``).
2. ``request_create``: a citizen asks for seats for 1..N people with ranked acceptable
   times; the request is written unconfirmed and a link is emailed. ``request_confirm``
   makes it count, replacing any earlier confirmed request of the same person in the round.
3. ``round_draw``: once the window has closed, the confirmed requests are ordered by the
   seed and served one by one (``acs.appointments.draw``). Exactly once: the round's row is
   locked and its state moves from ``open`` to ``drawn`` in the same transaction.
4. ``round_settle``: the winners get an ordinary booking (``booking_create``: its email,
   calendar file, QR code and manage link); the others are told, in batches.

Seats are never given first come for such a service (``booking_create`` refuses), so seats
freed by cancellations stay free until the next round's draw counts them.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import KombuError

from acs.appointments import availability, draw
from acs.appointments.constants import (
    AUDIT_ROUND_BOOKED,
    AUDIT_ROUND_DRAWN,
    AUDIT_ROUND_NOT_BOOKED,
    AUDIT_ROUND_NOTIFIED,
    AUDIT_ROUND_OPENED,
    REQUEST_SETTLED,
    ReleaseMode,
    RequestStatus,
    RoundState,
)
from acs.appointments.models import (
    Booking,
    BookingPerson,
    Round,
    RoundRequest,
    RoundRequestPerson,
    Service,
)
from acs.appointments.services import intake
from acs.appointments.services.booking import (
    BookingError,
    PersonData,
    booking_create,
    identity_key,
    people_data,
)
from acs.appointments.services.mail import round_emails_queue
from acs.core import clock
from acs.core.audit import audit_record
from acs.core.queues import PUBLISH_ONCE, Queues, task_send

logger = logging.getLogger(__name__)

# Ranked choices one request may give: enough for a week's days, few enough to read.
MAX_CHOICES = 5
# Requests told per transaction once the draw is done (Notify's staged fan-out).
NOTIFY_BATCH = 1000
PUBLICATION_FORMAT = "acs-round/1"


class RoundError(Exception):
    """A refusal a citizen can read; ``code`` is stable for pages and tests."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# The schedule --------------------------------------------------------------------------------


def _opening_on(service: Service, day: date) -> datetime:
    # A wall time inside a spring-forward gap reads as the same clock reading after the gap
    # (zoneinfo's fold=0), so a round never fails to open on that one day of the year.
    return datetime.combine(day, service.round_opens, tzinfo=service.post.zone).astimezone(UTC)


def openings_around(service: Service, now: datetime) -> tuple[datetime, datetime]:
    """The service's scheduled opening at or before ``now``, and the next one after it,
    on the post's clock (weekday and time of ``round_weekday``, ``round_opens``)."""
    today = clock.today(service.post, now)
    this_week = today - timedelta(days=(today.weekday() - service.round_weekday) % 7)
    latest = _opening_on(service, this_week)
    if latest > now:
        return _opening_on(service, this_week - timedelta(days=7)), latest
    return latest, _opening_on(service, this_week + timedelta(days=7))


def next_opening(service: Service, *, after: datetime) -> datetime:
    """When the next round opens after ``after`` ("the next round opens on …")."""
    return openings_around(service, after)[1]


def round_days(service: Service, *, opens_at: datetime, closes_at: datetime) -> tuple[date, date]:
    """The days a round gives out: up to the Sunday of the week ``round_weeks_ahead`` weeks
    after the opening's week, from the day after the window closes, so that seats freed by
    cancellations in earlier weeks are drawn too (they never go back online)."""
    opening_day = clock.today(service.post, opens_at)
    monday = opening_day - timedelta(days=opening_day.weekday())
    last = monday + timedelta(weeks=service.round_weeks_ahead, days=6)
    return clock.today(service.post, closes_at) + timedelta(days=1), last


def round_open(*, service: Service, opens_at: datetime) -> Round | None:
    """Open the round scheduled at ``opens_at``: a new secret seed, its SHA-256 published.

    Once per opening: the unique (service, opening) constraint turns a second call (two beat
    processes, a retried task) into nothing. None when it was open already or gives no day.
    """
    closes_at = opens_at + timedelta(hours=service.round_window_hours)
    first_day, last_day = round_days(service, opens_at=opens_at, closes_at=closes_at)
    if first_day > last_day:
        logger.warning("round of service %s at %s gives no day; not opened", service.pk, opens_at)
        return None
    seed = secrets.token_bytes(32)
    try:
        with transaction.atomic(durable=True):
            round_ = Round.objects.create(
                service=service,
                post_id=service.post_id,
                opens_at=opens_at,
                closes_at=closes_at,
                first_day=first_day,
                last_day=last_day,
                seed=seed.hex(),
                commitment=draw.commitment(seed),
            )
            audit_record(
                actor=None,
                action=AUDIT_ROUND_OPENED,
                target=round_,
                post=service.post,
                summary=f"Round opened for {service.slug}: {first_day}–{last_day}",
                changes={
                    "commitment": [None, round_.commitment],
                    "closes_at": [None, str(closes_at)],
                },
            )
    except IntegrityError:
        return None
    return round_


def rounds_open_due(*, now: datetime | None = None) -> list[Round]:
    """Open every round whose scheduled opening has come and whose window is not over yet
    (a beat that was down at the hour opens it late rather than never)."""
    now = now or timezone.now()
    opened = []
    services = Service.objects.filter(active=True, release_mode=ReleaseMode.ROUNDS)
    for service in services.select_related("post"):
        latest, _next = openings_around(service, now)
        if now >= latest + timedelta(hours=service.round_window_hours):
            continue
        if Round.objects.filter(service=service, opens_at=latest).exists():
            continue
        if (round_ := round_open(service=service, opens_at=latest)) is not None:
            opened.append(round_)
    return opened


# Requests ------------------------------------------------------------------------------------


def _check_open(round_: Round, now: datetime) -> None:
    if round_.state != RoundState.OPEN or not round_.opens_at <= now < round_.closes_at:
        raise RoundError(
            "closed",
            _("This round is no longer taking requests. Please send one in the next round."),
        )


def _check_people(service: Service, people: list[PersonData], email: str) -> list[str]:
    if not 1 <= len(people) <= service.max_people:
        raise RoundError(
            "people_count",
            _("One request can cover from 1 to %(most)d people.") % {"most": service.max_people},
        )
    keys = [identity_key(person, email=email) for person in people]
    if len(set(keys)) != len(keys):
        raise RoundError("duplicate_person", _("The same person is listed twice."))
    return keys


def _already_booked() -> RoundError:
    # Said without naming who or when: the person asking may not be the one booked.
    return RoundError(
        "already_booked",
        _(
            "One of these people already has an appointment for this service. A person "
            "can hold one appointment per service; cancel it first to ask for another."
        ),
    )


def choices_check(round_: Round, choices: list[str]) -> list[str]:
    """The ranked choices as stored: each a day of the round and a time of day, each once,
    best first. Raises RoundError with a plain-words message otherwise."""
    kept: list[str] = []
    for choice in choices:
        parsed = draw.choice_parse(choice)
        try:
            day = date.fromisoformat(parsed[0]) if parsed else None
        except ValueError:
            day = None
        if day is None or not round_.first_day <= day <= round_.last_day:
            raise RoundError("choices", _("Choose each day from the list of this round's days."))
        if choice not in kept:
            kept.append(choice)
    if not kept:
        raise RoundError("choices", _("Choose at least one day that suits you."))
    if len(kept) > MAX_CHOICES:
        raise RoundError(
            "choices", _("Choose at most %(most)d days and times.") % {"most": MAX_CHOICES}
        )
    return kept


def request_create(
    *,
    round_: Round,
    people: list[PersonData],
    email: str,
    phone: str,
    choices: list[str],
    language: str = "en",
    now: datetime | None = None,
) -> RoundRequest:
    """Take a request for ``round_``, unconfirmed: the draw ignores it until the link
    emailed to ``email`` is followed (``request_confirm``), so that nobody enters a draw
    under an address they do not read, and a bot's made-up addresses count for nothing."""
    now = now or timezone.now()
    email = email.strip().lower()
    _check_open(round_, now)
    keys = _check_people(round_.service, people, email)
    kept = choices_check(round_, choices)
    pending = intake.Pending(
        round_=round_,
        people=people,
        keys=keys,
        email=email,
        phone=phone,
        language=language,
        choices=kept,
    )
    try:
        return intake.request_write(pending)
    except intake.AlreadyBooked:
        raise _already_booked() from None


def request_confirm(*, token: str, now: datetime | None = None) -> RoundRequest:
    """Count the request behind an emailed link in the draw. A confirmed request replaces
    any earlier confirmed request holding one of its people in this round (the whole earlier
    request leaves the draw), so a person is never in the draw twice.

    Under the round's row lock: confirmations of one round queue up (a few ms each), and the
    draw, which takes the same lock, sees either all of a confirmation or none of it.
    Confirming twice is harmless.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        found = RoundRequest.objects.filter(token=token).values_list("pk", "round_id").first()
        if found is None:
            raise RoundError(
                "invalid_link",
                _("This link is not valid. Check that you copied all of it from the email."),
            )
        round_ = Round.objects.select_for_update().only("pk", "state", "opens_at", "closes_at")
        round_ = round_.get(pk=found[1])
        request = RoundRequest.objects.get(pk=found[0])
        if request.status != RequestStatus.UNCONFIRMED:
            return request
        _check_open(round_, now)
        keys = list(request.people.values_list("identity_key", flat=True))
        earlier = set(
            RoundRequestPerson.objects.filter(
                round=round_, identity_key__in=keys, active=True
            ).values_list("request_id", flat=True)
        )
        if earlier:
            RoundRequestPerson.objects.filter(request_id__in=earlier).update(active=False)
            RoundRequest.objects.filter(pk__in=earlier).update(status=RequestStatus.REPLACED)
        request.people.update(active=True)
        request.status = RequestStatus.CONFIRMED
        request.confirmed_at = now
        request.save(update_fields=["status", "confirmed_at"])
    return request


# The draw ------------------------------------------------------------------------------------


def _horizon(round_: Round, service: Service, now: datetime) -> int:
    """A horizon that reaches the round's last day, whatever the service's own."""
    return max(service.horizon_days, (round_.last_day - clock.today(service.post, now)).days + 1)


def round_slots(round_: Round, service: Service, now: datetime) -> list[draw.DrawSlot]:
    """The round's slots with free seats now: offered times of its days (rules, closures,
    holidays, notice) less the people already booked."""
    days = availability.slots_between(
        service,
        round_.first_day,
        round_.last_day,
        now=now,
        horizon_days=_horizon(round_, service, now),
    )
    return [
        draw.DrawSlot(start=slot.key, local=slot.local.strftime("%Y-%m-%dT%H:%M"), seats=slot.free)
        for slots in days.values()
        for slot in slots
        if slot.free > 0
    ]


def _excluded(round_: Round, service: Service) -> set[int]:
    """Confirmed requests one of whose people holds an active booking for the service
    (booked since the request, by staff or an earlier round): a seat drawn for them could
    not be booked, so they stay out of the draw."""
    booked = BookingPerson.objects.filter(service=service, active=True).values("identity_key")
    return set(
        RoundRequestPerson.objects.filter(
            round=round_, active=True, identity_key__in=booked
        ).values_list("request_id", flat=True)
    )


def _publication(
    round_: Round,
    service: Service,
    seed: bytes,
    slots: list[draw.DrawSlot],
    entries: list[draw.DrawRequest],
    allocation: dict[str, str | None],
    excluded: int,
) -> dict:
    return {
        "format": PUBLICATION_FORMAT,
        "algorithm": draw.ALGORITHM,
        "post": service.post.slug,
        "service": service.slug,
        "round": round_.token,
        "time_zone": service.post.time_zone,
        "opens_at": round_.opens_at.isoformat(),
        "closes_at": round_.closes_at.isoformat(),
        "commitment": round_.commitment,
        "seed": seed.hex(),
        "requests_count": len(entries),
        "people_count": sum(entry.people for entry in entries),
        "seats_count": sum(slot.seats for slot in slots),
        "excluded_count": excluded,
        "slots": [asdict(slot) for slot in slots],
        "requests": [
            {
                "id": entry.id,
                "people": entry.people,
                "choices": list(entry.choices),
                "slot": allocation[entry.id],
            }
            for entry in sorted(entries, key=lambda entry: entry.id)
        ],
    }


def round_draw(*, round_id: int, now: datetime | None = None) -> Round | None:
    """Draw a round whose window has closed; None if it is not due or already drawn.

    Exactly once: the round's row is locked (``FOR UPDATE``; SQLite's IMMEDIATE
    transaction) and its state checked and moved to ``drawn`` in the same transaction, so a
    second worker waits, then finds it drawn. Winners are only marked here; booking them
    and telling the others is ``round_settle``'s, queued once this commits.
    """
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        round_ = Round.objects.select_for_update().filter(pk=round_id).first()
        if round_ is None or round_.state != RoundState.OPEN or now < round_.closes_at:
            return None
        service = Service.objects.select_related("post").get(pk=round_.service_id)
        seed = bytes.fromhex(round_.seed)
        slots = round_slots(round_, service, now)
        excluded = _excluded(round_, service)
        confirmed = RoundRequest.objects.filter(round=round_, status=RequestStatus.CONFIRMED)
        requests: dict[str, tuple[int, draw.DrawRequest]] = {}
        for pk, reference, people, choices in confirmed.values_list(
            "pk", "reference", "people_count", "choices"
        ):
            if pk not in excluded:
                request_id = draw.pseudonym(seed, reference)  # one HMAC per request, not two
                requests[request_id] = (
                    pk,
                    draw.DrawRequest(id=request_id, people=people, choices=tuple(choices)),
                )
        entries = [entry for _pk, entry in requests.values()]
        allocation = draw.allocate(seed, slots, entries)
        _outcomes_write(round_, requests, allocation, excluded)
        winners = [entry for entry in entries if allocation[entry.id] is not None]
        round_.state = RoundState.DRAWN
        round_.drawn_at = now
        round_.requests_count = len(entries)
        round_.people_count = sum(entry.people for entry in entries)
        round_.seats_count = sum(slot.seats for slot in slots)
        round_.served_requests = len(winners)
        round_.served_people = sum(entry.people for entry in winners)
        round_.published = _publication(
            round_, service, seed, slots, entries, allocation, len(excluded)
        )
        round_.save(update_fields=[*FIGURES, "state", "drawn_at", "published"])
        audit_record(
            actor=None,
            action=AUDIT_ROUND_DRAWN,
            target=round_,
            post=service.post,
            summary=(
                f"Round drawn: {len(entries)} requests ({round_.people_count} people) for "
                f"{round_.seats_count} seats; {len(winners)} served, {len(excluded)} excluded"
            ),
            changes={name: [None, getattr(round_, name)] for name in FIGURES},
        )
        transaction.on_commit(lambda: _settle_later(round_.pk))
    return round_


FIGURES = ["requests_count", "people_count", "seats_count", "served_requests", "served_people"]


def _outcomes_write(
    round_: Round,
    requests: dict[str, tuple[int, draw.DrawRequest]],
    allocation: dict[str, str | None],
    excluded: set[int],
) -> None:
    """The excluded refused, the winners marked, then every other confirmed request lost:
    three statements, and each row written once (the round's lock keeps confirmations out
    meanwhile, so "confirmed" is exactly the requests of this draw)."""
    RoundRequest.objects.filter(pk__in=excluded).update(status=RequestStatus.REFUSED)
    _winners_mark(
        [
            (pk, availability.parse_slot_key(allocation[request_id]))
            for request_id, (pk, _entry) in requests.items()
            if allocation[request_id] is not None
        ]
    )
    RoundRequest.objects.filter(round=round_, status=RequestStatus.CONFIRMED).update(
        status=RequestStatus.LOST
    )


def _winners_mark(winners: list[tuple[int, datetime]]) -> None:
    """Mark the winners with their drawn times. ``bulk_update`` built a ``CASE WHEN`` of
    thousands of branches through the ORM (a third of the draw); here PostgreSQL gets one
    ``UPDATE … FROM (VALUES …)`` and SQLite one prepared statement run for each winner."""
    if not winners:
        return
    adapt = connection.ops.adapt_datetimefield_value  # SQLite stores naive UTC text
    winners = [(pk, adapt(starts_at)) for pk, starts_at in winners]
    table = connection.ops.quote_name(RoundRequest._meta.db_table)
    if connection.vendor == "postgresql":
        for start in range(0, len(winners), WINNERS_PER_STATEMENT):
            chunk = winners[start : start + WINNERS_PER_STATEMENT]
            values = ", ".join(["(%s, %s::timestamptz)"] * len(chunk))
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} AS r SET status = %s, starts_at = v.starts_at "  # noqa: S608 — our table's name; values are parameters  # nosec B608
                    f"FROM (VALUES {values}) AS v (id, starts_at) WHERE r.id = v.id",
                    [RequestStatus.WON, *(item for pair in chunk for item in pair)],
                )
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET status = %s, starts_at = %s WHERE id = %s",  # noqa: S608 — as above  # nosec B608
            [(RequestStatus.WON, starts_at, pk) for pk, starts_at in winners],
        )


# Winners per UPDATE on PostgreSQL: two parameters each, far under its 65,535 per statement.
WINNERS_PER_STATEMENT = 10_000


def _settle_later(round_id: int) -> None:
    """Hand the settling to a worker; if the broker is down, the periodic tick does it."""
    try:
        task_send(
            "acs.appointments.tasks.round_settle",
            args=[round_id],
            queue=Queues.DEFAULT,
            **PUBLISH_ONCE,
        )
    except (KombuError, OSError) as error:
        logger.error("round %s: settling left for the next tick: %s", round_id, error)


# After the draw ------------------------------------------------------------------------------


def _booking_already_made(
    request: RoundRequest, service: Service, keys: list[str]
) -> Booking | None:
    """The booking an earlier run made for this winner (a worker that died after booking
    and before marking it, or two runs at once): its people hold it at the drawn time."""
    person = (
        BookingPerson.objects.filter(service=service, identity_key__in=keys, active=True)
        .select_related("booking")
        .first()
    )
    if person is not None and person.booking.starts_at == request.starts_at:
        return person.booking
    return None


def winner_book(*, request_id: int, now: datetime | None = None) -> bool:
    """Book one winner through the ordinary booking path (confirmation email, calendar
    file, QR code, manage link). Safe to repeat: a winner booked already is found by their
    people, never booked twice (one active booking per person per service). Returns whether
    this call marked the request booked."""
    now = now or timezone.now()
    request = RoundRequest.objects.prefetch_related("people").get(pk=request_id)
    if request.status != RequestStatus.WON:
        return False
    round_, service = _settle_round(request.round_id)
    return _winner_book(request, round_, service, now)


def _settle_round(round_id: int) -> tuple[Round, Service]:
    """The round without its publication (megabytes of JSON, which settling never reads:
    reading it with each winner made settling a round of 20,000 take minutes), and its
    service with the post and opening rules the booking path checks."""
    round_ = Round.objects.defer("published").get(pk=round_id)
    service = (
        Service.objects.select_related("post")
        .prefetch_related("opening_rules")
        .get(pk=round_.service_id)
    )
    round_.service = service
    return round_, service


def _winner_book(request: RoundRequest, round_: Round, service: Service, now: datetime) -> bool:
    request.round = round_
    people = list(request.people.all())
    try:
        booking = booking_create(
            service=service,
            starts_at=request.starts_at,
            people=people_data(people),
            email=request.email,
            phone=request.phone,
            language=request.language,
            now=now,
            horizon_days=_horizon(round_, service, now),
            from_draw=True,
        )
    except BookingError as error:
        keys = [person.identity_key for person in people]
        booking = _booking_already_made(request, service, keys)
        if booking is None:
            return _winner_not_booked(request, error, now)
    with transaction.atomic(durable=True):
        marked = RoundRequest.objects.filter(pk=request.pk, status=RequestStatus.WON).update(
            status=RequestStatus.BOOKED, booking=booking, notified_at=now
        )
        if marked:
            audit_record(
                actor=None,
                action=AUDIT_ROUND_BOOKED,
                target=booking,
                post=service.post,
                summary=f"Booked from the draw of round {round_.pk}: {booking.code}",
                changes={"round": [None, round_.pk], "request": [None, request.reference]},
            )
    return bool(marked)


def _winner_not_booked(request: RoundRequest, error: BookingError, now: datetime) -> bool:
    """The drawn time could not be booked after all (a closure since the draw, say): the
    request is refused, audited with the reason, and its person told."""
    with transaction.atomic(durable=True):
        marked = RoundRequest.objects.filter(pk=request.pk, status=RequestStatus.WON).update(
            status=RequestStatus.REFUSED, notified_at=now
        )
        if marked:
            audit_record(
                actor=None,
                action=AUDIT_ROUND_NOT_BOOKED,
                target=request.round,
                summary=f"Request {request.reference} drawn but not booked: {error.code}",
                changes={"request": [None, request.reference], "reason": [None, error.code]},
            )
            round_emails_queue(requests=[request], kind="failed")
    return False


def _notify_batch(round_id: int, now: datetime) -> int:
    """Tell one batch of the requests the draw did not serve. ``SKIP LOCKED``: two workers
    take different batches; the ``notified_at`` mark commits with the emails' rows."""
    with transaction.atomic(durable=True):
        pending = (
            RoundRequest.objects.filter(
                round_id=round_id, status__in=REQUEST_SETTLED, notified_at__isnull=True
            )
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .only("pk", "email", "language", "status")
        )
        batch = list(pending[:NOTIFY_BATCH])
        if not batch:
            return 0
        RoundRequest.objects.filter(pk__in=[r.pk for r in batch]).update(notified_at=now)
        for status in REQUEST_SETTLED:
            round_emails_queue(requests=[r for r in batch if r.status == status], kind=status)
        audit_record(
            actor=None,
            action=AUDIT_ROUND_NOTIFIED,
            target=Round.objects.only("pk", "post").get(pk=round_id),
            summary=f"{len(batch)} people told the round is full or their request was not drawn",
        )
    return len(batch)


def round_settle(*, round_id: int, now: datetime | None = None) -> dict[str, int]:
    """After the draw: book every winner, then tell everyone else. Safe to repeat and to
    run on two workers at once; the periodic tick runs it again for work left behind."""
    now = now or timezone.now()
    round_, service = _settle_round(round_id)
    winners = RoundRequest.objects.filter(round_id=round_id, status=RequestStatus.WON)
    booked = 0
    pks = list(winners.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), NOTIFY_BATCH):
        # Read in batches with their people (two queries a batch, not two a winner); each
        # is then re-checked by its own transaction's conditional UPDATE, as before.
        batch = RoundRequest.objects.filter(
            pk__in=pks[start : start + NOTIFY_BATCH], status=RequestStatus.WON
        ).prefetch_related("people")
        booked += sum(_winner_book(request, round_, service, now) for request in batch)
    notified = 0
    while count := _notify_batch(round_id, now):
        notified += count
    return {"booked": booked, "notified": notified}


def rounds_tick(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic task's work: open the rounds that are due, draw the rounds whose window
    has closed, and settle drawn rounds with work left (a worker died, the broker was down)."""
    now = now or timezone.now()
    opened = rounds_open_due(now=now)
    due = Round.objects.filter(state=RoundState.OPEN, closes_at__lte=now)
    drawn = [pk for pk in due.values_list("pk", flat=True) if round_draw(round_id=pk, now=now)]
    unsettled = (
        RoundRequest.objects.filter(round__state=RoundState.DRAWN)
        .filter(
            Q(status=RequestStatus.WON) | Q(status__in=REQUEST_SETTLED, notified_at__isnull=True)
        )
        .values_list("round_id", flat=True)
        .distinct()
    )
    for round_id in sorted(set(unsettled)):
        round_settle(round_id=round_id, now=now)
    return {"opened": len(opened), "drawn": len(drawn), "settled": len(set(unsettled))}
