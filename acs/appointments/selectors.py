from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from acs.appointments.availability import holiday_name
from acs.appointments.constants import (
    ACTIVE,
    AUDIT_CLOSURE_CREATED,
    LATE_CANCELLATION_HOURS,
    WAITLIST_ACTIVE,
    BookingStatus,
    HoldStatus,
)
from acs.appointments.models import (
    Booking,
    BookingPerson,
    Closure,
    OpeningRule,
    Round,
    RoundRequest,
    SeatHold,
    Service,
    WaitlistDay,
    WaitlistEntry,
    WaitlistPerson,
)
from acs.core import clock
from acs.core.models import AuditEntry
from acs.posts.models import Post


def services_bookable(post: Post) -> QuerySet[Service]:
    return Service.objects.filter(post=post, active=True).select_related("post")


def service_get(*, post: Post, slug: str) -> Service | None:
    """A bookable service of ``post``, with its post and its opening rules loaded, for the
    public booking path (see ``_Catalogue``): treat it as read-only, other requests of the
    process may hold the same object."""
    if settings.ACS_BOOKING_RULES_SECONDS <= 0:
        return services_bookable(post).filter(slug=slug).prefetch_related("opening_rules").first()
    return _catalogue(post.slug).services.get(slug)


def booking_post(slug: str) -> Post | None:
    """The post ``slug`` as the public booking path reads it (see ``_Catalogue``):
    read-only, shared like ``service_get``'s services."""
    if settings.ACS_BOOKING_RULES_SECONDS <= 0:
        return Post.objects.filter(slug=slug).first()
    return _catalogue(slug).post


# What the booking path reads on every request -----------------------------------------------
# A booking read its post, its service and the service's opening rules on every request:
# three queries and a third of its CPU, for rows staff change a few times a year. Each process
# keeps them for ACS_BOOKING_RULES_SECONDS (1 s), and forgets them at once when this process
# saves or deletes one (the staff's own change shows on their next page), so a change shows
# everywhere within a second. What capacity depends on is never taken from here: under the
# slot's lock ``booking_create`` reads the seats per slot and the closures afresh.


@dataclass(frozen=True)
class _Catalogue:
    expires: float
    post: Post | None
    services: dict[str, Service]


_catalogues: dict[str, _Catalogue] = {}
_catalogues_lock = threading.Lock()
_clock = time.monotonic  # the tests move it on


@contextmanager
def _refreshing(key: object, stale: object):
    """Whether this thread should read ``key``'s copy afresh: yes if there is no copy, or if
    no other thread of the process is reading it already; otherwise the others go on with
    the ``stale`` copy for the few milliseconds that takes, instead of all reading it at
    once when it expires (at 16 threads, a burst of identical queries every second)."""
    with _catalogues_lock:
        mine = stale is None or key not in _being_read
        if mine:
            _being_read.add(key)
    try:
        yield mine
    finally:
        if mine:
            with _catalogues_lock:
                _being_read.discard(key)


_being_read: set[object] = set()


def _catalogue(slug: str) -> _Catalogue:
    now = _clock()
    known = _catalogues.get(slug)
    if known is not None and known.expires > now:
        return known
    with _refreshing(("post", slug), known) as mine:
        if not mine:
            return known
        return _catalogue_read(slug, now)


def _catalogue_read(slug: str, now: float) -> _Catalogue:
    post = Post.objects.filter(slug=slug).first()
    services: dict[str, Service] = {}
    if post is not None:
        found = Service.objects.filter(post=post, active=True).prefetch_related("opening_rules")
        for service in found:
            service.post = post  # one post object, as select_related("post") would give
            services[service.slug] = service
    catalogue = _Catalogue(now + settings.ACS_BOOKING_RULES_SECONDS, post, services)
    with _catalogues_lock:
        _catalogues[slug] = catalogue
    return catalogue


def booking_rules_forget(**_kwargs: Any) -> None:
    """Read posts, services and opening rules afresh on the next booking request."""
    with _catalogues_lock:
        _catalogues.clear()


for _model in (Post, Service, OpeningRule):
    _uid = f"acs.appointments.booking_rules_forget.{_model.__name__}"
    post_save.connect(booking_rules_forget, sender=_model, dispatch_uid=f"{_uid}.save")
    post_delete.connect(booking_rules_forget, sender=_model, dispatch_uid=f"{_uid}.delete")


def reminders_due(*, now: datetime | None = None) -> list[int]:
    """Bookings whose appointment is tomorrow in their post's zone and not yet reminded."""
    now = now or timezone.now()
    candidates = Booking.objects.filter(
        status=BookingStatus.BOOKED,
        reminder_sent_at__isnull=True,
        starts_at__gt=now,
        starts_at__lt=now + timedelta(hours=48),
    ).select_related("post")
    due = []
    for booking in candidates:
        post = booking.post
        if clock.today(post, booking.starts_at) == clock.today(post, now) + timedelta(days=1):
            due.append(booking.pk)
    return due


def booking_by_token(token: str) -> Booking | None:
    return (
        Booking.objects.select_related("post", "service")
        .prefetch_related("people")
        .filter(token=token)
        .first()
    )


def booking_by_code(*, code: str, email: str) -> Booking | None:
    """Code and email together: the code alone never unlocks personal data."""
    code = code.strip().upper().replace(" ", "")
    if len(code) == 8:
        code = f"{code[:4]}-{code[4:]}"
    return (
        Booking.objects.select_related("post", "service")
        .filter(code=code, email=email.strip().lower())
        .first()
    )


def cancellation_is_late(booking: Booking, *, now: datetime | None = None) -> bool:
    """Whether cancelling now would be counted as a late cancellation."""
    now = now or timezone.now()
    return booking.starts_at - now < timedelta(hours=LATE_CANCELLATION_HOURS)


# The day, for staff -------------------------------------------------------------------------


@dataclass(frozen=True)
class DayFilters:
    """What the day's list is narrowed to; empty values mean "all"."""

    service_id: int | None = None
    status: str = ""
    text: str = ""


def local_day_bounds(post: Post, day: date) -> tuple[datetime, datetime]:
    """The instants where ``day`` begins and ends on the post's wall clock: 24 hours, or 23
    or 25 on a daylight-saving change (an hour that does not exist at midnight resolves to
    the day's real first instant)."""
    start, end = clock.midnight(post, day), clock.midnight(post, day + timedelta(days=1))
    return start.astimezone(UTC), end.astimezone(UTC)


def _code_variants(text: str) -> set[str]:
    """A code typed as ``abcd efgh`` or ``ABCDEFGH`` still finds ``ABCD-EFGH``."""
    squeezed = text.upper().replace(" ", "").replace("-", "")
    variants = {text}
    if squeezed.isalnum():
        variants.add(squeezed)
        if len(squeezed) > 4:
            variants.add(f"{squeezed[:4]}-{squeezed[4:]}")
    return variants


def _text_matches(text: str) -> Q:
    """Name (any person in the booking), confirmation code or email, case-insensitive."""
    named = BookingPerson.objects.filter(booking=OuterRef("pk"), full_name__icontains=text)
    query = Q(Exists(named)) | Q(email__icontains=text)
    for variant in _code_variants(text):
        query |= Q(code__icontains=variant)
    return query


def _day_queryset(post: Post, day: date) -> QuerySet[Booking]:
    start, end = local_day_bounds(post, day)
    return Booking.objects.filter(post=post, starts_at__gte=start, starts_at__lt=end)


def day_bookings(*, post: Post, day: date, filters: DayFilters | None = None) -> QuerySet[Booking]:
    """The post's bookings on its local ``day``, by time, with their service and people
    loaded: two queries however many rows (the bookings, then their people)."""
    filters = filters or DayFilters()
    queryset = _day_queryset(post, day)
    if filters.service_id is not None:
        queryset = queryset.filter(service_id=filters.service_id)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.text.strip():
        queryset = queryset.filter(_text_matches(filters.text.strip()))
    return (
        queryset.select_related("post", "service")
        .prefetch_related(Prefetch("people", queryset=BookingPerson.objects.order_by("id")))
        .order_by("starts_at", "code")
    )


def day_status_counts(*, post: Post, day: date) -> dict[str, dict[str, int]]:
    """``{status: {"bookings": n, "people": m}}`` for the whole local day, in one query."""
    rows = (
        _day_queryset(post, day)
        .order_by()
        .values("status")
        .annotate(bookings=Count("id"), people=Sum("people_count"))
    )
    return {
        row["status"]: {"bookings": row["bookings"], "people": row["people"] or 0} for row in rows
    }


def day_services(post: Post) -> QuerySet[Service]:
    """Every service of the post, bookable or not, for the day's filter."""
    return Service.objects.filter(post=post).order_by("order", "slug")


def booking_for_staff(*, post: Post, pk: int) -> Booking | None:
    """One booking of ``post`` with everything its staff page shows; None for another
    post's."""
    return (
        Booking.objects.select_related("post", "service")
        .prefetch_related(Prefetch("people", queryset=BookingPerson.objects.order_by("id")))
        .filter(pk=pk, post=post)
        .first()
    )


# Closures and capacity: the public notice, the staff lists, what a closure would cover ----

# A closure is announced on the public pages from this many days before it starts.
NOTICE_DAYS = 14


@dataclass(frozen=True)
class ClosureNotice:
    """A closure as the public reads it, in the reader's language."""

    reason: str
    service_name: str  # empty when the whole unit closes
    starts: str
    ends: str
    current: bool


def closure_notices(*, post: Post | None, now: datetime | None = None) -> list[ClosureNotice]:
    """Closures in progress or starting within ``NOTICE_DAYS``, for the home and booking
    pages. Texts are made in the active language, so call it while rendering the request."""
    if post is None:
        return []
    now = now or timezone.now()
    closures = Closure.objects.filter(
        post=post, ends_at__gt=now, starts_at__lt=now + timedelta(days=NOTICE_DAYS)
    ).select_related("service")
    return [
        ClosureNotice(
            reason=closure.reason,
            service_name=closure.service.name if closure.service else "",
            starts=clock.when_text(post, closure.starts_at),
            ends=clock.when_text(post, closure.ends_at),
            current=closure.starts_at <= now,
        )
        for closure in closures.order_by("starts_at", "pk")
    ]


@dataclass(frozen=True)
class ClosureRow:
    """A closure on the staff lists, with who made it and what it cancelled (from the audit
    log, where the closure service writes both; a closure added in the Django admin has
    neither)."""

    closure: Closure
    starts: str
    ends: str
    created_by: str
    cancelled: int | None
    current: bool


def closures_current_and_upcoming(*, post: Post, now: datetime | None = None) -> list[ClosureRow]:
    now = now or timezone.now()
    closures = list(
        Closure.objects.filter(post=post, ends_at__gt=now)
        .select_related("service")
        .order_by("starts_at", "pk")
    )
    entries = {
        entry.object_id: entry
        for entry in AuditEntry.objects.filter(
            action=AUDIT_CLOSURE_CREATED,
            object_type=Closure._meta.label_lower,
            object_id__in=[str(closure.pk) for closure in closures],
        )
    }
    rows = []
    for closure in closures:
        entry = entries.get(str(closure.pk))
        cancelled = (entry.changes.get("cancelled") or [None, None])[1] if entry else None
        rows.append(
            ClosureRow(
                closure=closure,
                starts=clock.when_text(post, closure.starts_at),
                ends=clock.when_text(post, closure.ends_at),
                created_by=entry.actor_name if entry else "",
                cancelled=cancelled,
                current=closure.starts_at <= now,
            )
        )
    return rows


def bookings_overlapping(
    *, post: Post, service: Service | None, starts_at: datetime, ends_at: datetime
) -> list[Booking]:
    """Active bookings of the post (of ``service`` only, when given) whose appointment
    overlaps ``[starts_at, ends_at)``: what a closure of that range covers.

    An appointment lasts its service's duration, so one that began before the range but is
    still going on at its start is covered too. The query reaches back by the longest
    duration; the exact overlap is checked per booking.
    """
    if service is not None:
        longest = service.duration_minutes
    else:
        longest = Service.objects.filter(post=post).aggregate(m=Max("duration_minutes"))["m"] or 0
    queryset = Booking.objects.filter(
        post=post,
        status__in=ACTIVE,
        starts_at__lt=ends_at,
        starts_at__gt=starts_at - timedelta(minutes=longest),
    ).select_related("post", "service")
    if service is not None:
        queryset = queryset.filter(service=service)
    return [
        booking
        for booking in queryset.order_by("starts_at", "pk")
        if booking.starts_at + timedelta(minutes=booking.service.duration_minutes) > starts_at
    ]


def services_with_rules(post: Post) -> QuerySet[Service]:
    """Every service of the post with its opening rules, for the capacity pages."""
    rules = Prefetch("opening_rules", queryset=OpeningRule.objects.order_by("weekday", "opens"))
    return (
        Service.objects.filter(post=post)
        .select_related("post")
        .prefetch_related(rules)
        .order_by("order", "slug")
    )


@dataclass(frozen=True)
class Holiday:
    day: date
    name: str


def holidays_ahead(*, post: Post, today: date, days: int = 366) -> list[Holiday]:
    """The days the unit is closed for a holiday (the post's country's and the U.S. federal
    ones, as availability counts them) from ``today`` for ``days`` days."""
    found = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        name = holiday_name(post.country_code, day)
        if name:
            found.append(Holiday(day=day, name=name))
    return found


# The waitlist -------------------------------------------------------------------------------


def waitlist_entry_by_token(token: str) -> WaitlistEntry | None:
    """The entry behind an emailed link, with what its page shows."""
    return (
        WaitlistEntry.objects.select_related("post", "service__post")
        .prefetch_related("days", "people")
        .filter(token=token)
        .first()
    )


# Request rounds (docs/release-rounds.md) -----------------------------------------------------


def _rounds() -> QuerySet[Round]:
    # The publication can be megabytes: only the round page and its JSON read it.
    return Round.objects.select_related("service", "post").defer("published", "seed")


def round_open_for(service: Service, *, now: datetime | None = None) -> Round | None:
    """The service's round taking requests now, if any (windows never overlap)."""
    return round_open_with_days(service, now=now)[0]


def round_open_with_days(
    service: Service, *, now: datetime | None = None
) -> tuple[Round | None, list[date]]:
    """The service's round taking requests now and the days its form offers
    (``round_days_offered``), or (None, []). Kept per process like the booking path's
    catalogue (see ``_OpenRounds``): treat the round as read-only."""
    now = now or timezone.now()
    if settings.ACS_BOOKING_RULES_SECONDS <= 0:
        round_ = (
            _rounds()
            .filter(service=service, state="open", opens_at__lte=now, closes_at__gt=now)
            .order_by("-opens_at")
            .first()
        )
        return round_, round_days_offered(round_) if round_ is not None else []
    known = _open_rounds.get(service.pk)
    if known is None or known.expires <= _clock():
        with _refreshing(("rounds", service.pk), known) as mine:
            if mine:
                known = _open_rounds_read(service)
    for round_, days in known.rounds:
        if round_.opens_at <= now < round_.closes_at:
            return round_, days
    return None, []


# The request form read the service's open round and its opening rules on every request: two
# queries and a sixth of the request's CPU at a round's busiest moment. Each process keeps
# the rounds still open (and their days) for ACS_BOOKING_RULES_SECONDS, forgotten at once when
# this process saves a round, a service or its rules. Safe because what a request's fate
# depends on is checked elsewhere: the window by the clock against the round's own times
# (a round only leaves ``open`` after its window closed), and a request counts only once
# ``request_confirm`` has re-read the round under its lock.


@dataclass(frozen=True)
class _OpenRounds:
    expires: float
    rounds: list[tuple[Round, list[date]]]  # newest opening first


_open_rounds: dict[int, _OpenRounds] = {}


def _open_rounds_read(service: Service) -> _OpenRounds:
    found = (
        _rounds()
        .filter(service=service, state="open", closes_at__gt=timezone.now())
        .order_by("-opens_at")
    )
    known = _OpenRounds(
        _clock() + settings.ACS_BOOKING_RULES_SECONDS,
        [(round_, round_days_offered(round_)) for round_ in found],
    )
    with _catalogues_lock:
        _open_rounds[service.pk] = known
    return known


def open_rounds_forget(**_kwargs: Any) -> None:
    """Read the open rounds afresh on the next request form."""
    with _catalogues_lock:
        _open_rounds.clear()


for _model in (Round, Service, OpeningRule):
    _uid = f"acs.appointments.open_rounds_forget.{_model.__name__}"
    post_save.connect(open_rounds_forget, sender=_model, dispatch_uid=f"{_uid}.save")
    post_delete.connect(open_rounds_forget, sender=_model, dispatch_uid=f"{_uid}.delete")


def rounds_recent(service: Service, *, count: int = 5) -> list[Round]:
    """The service's latest rounds, newest first (the open one included), for their pages."""
    return list(_rounds().filter(service=service).order_by("-opens_at")[:count])


def round_by_token(token: str, *, published: bool = False) -> Round | None:
    rounds = Round.objects.select_related("service", "post")
    return (rounds if published else rounds.defer("published")).filter(token=token).first()


def request_by_token(token: str) -> RoundRequest | None:
    return (
        RoundRequest.objects.select_related("round__service", "round__post", "booking")
        .defer("round__published")
        .prefetch_related("people")
        .filter(token=token)
        .first()
    )


def waitlist_offer_by_token(token: str) -> SeatHold | None:
    """The offer behind an emailed claim link, with its entry and service."""
    return (
        SeatHold.objects.select_related("service__post", "entry__post")
        .prefetch_related("entry__people")
        .filter(token=token, entry__isnull=False)
        .first()
    )


def email_hold_by_token(token: str) -> SeatHold | None:
    """The seat held for a booking made without JavaScript, behind its emailed link, with
    what the booking will be."""
    return (
        SeatHold.objects.select_related("service__post", "email_hold__booking")
        .prefetch_related("email_hold__people")
        .filter(token=token, entry__isnull=True, email_hold__isnull=False)
        .first()
    )


def waitlist_current_offer(entry: WaitlistEntry) -> SeatHold | None:
    """The offer the entry holds now, if any."""
    return entry.holds.filter(status=HoldStatus.HELD).first()


def services_release(post: Post) -> QuerySet[Service]:
    """Every service of the post with how many wait on its waitlist and its rounds open,
    for the staff's rounds and waitlist pages."""
    return (
        Service.objects.filter(post=post)
        .select_related("post")
        .annotate(
            waiting=Count("waitlist", filter=Q(waitlist__status__in=WAITLIST_ACTIVE)),
        )
        .order_by("order", "slug")
    )


def waitlist_for_staff(service: Service) -> list[WaitlistEntry]:
    """The service's waitlist in its order (confirmation time): who waits, for which days,
    since when, and the offer each holds now, in four queries whatever its length."""
    held = Prefetch(
        "holds", queryset=SeatHold.objects.filter(status=HoldStatus.HELD), to_attr="held"
    )
    return list(
        WaitlistEntry.objects.filter(service=service, status__in=WAITLIST_ACTIVE)
        .prefetch_related(
            Prefetch("people", queryset=WaitlistPerson.objects.order_by("id")),
            Prefetch("days", queryset=WaitlistDay.objects.order_by("day")),
            held,
        )
        .order_by("confirmed_at", "pk")
    )


def round_for_staff(*, post: Post, pk: int) -> Round | None:
    """One round of the post (the publication left out), for its log page."""
    return _rounds().filter(post=post, pk=pk).first()


def round_days_offered(round_: Round) -> list[date]:
    """The round's days on which the service has opening hours and that are not holidays:
    what the request form lets a citizen choose."""
    service = round_.service
    weekdays = set(OpeningRule.objects.filter(service=service).values_list("weekday", flat=True))
    days, day = [], round_.first_day
    while day <= round_.last_day:
        if day.weekday() in weekdays and not holiday_name(round_.post.country_code, day):
            days.append(day)
        day += timedelta(days=1)
    return days


@dataclass(frozen=True)
class RoundFigures:
    """Demand against supply of one drawn round, for the staff's table and chart."""

    round: Round
    requests: int
    people: int
    seats: int
    served_requests: int
    served_people: int

    @property
    def share_served(self) -> float:
        """The share of the people asking who got a seat (0 to 1; 0 when nobody asked)."""
        return self.served_people / self.people if self.people else 0.0


def rounds_figures(
    *, post: Post, service: Service | None = None, count: int = 52
) -> list[RoundFigures]:
    """Per drawn round of the post (or one service), newest first: requests, people, seats,
    and how many were served. Figures are kept on the round at its draw: one query."""
    rounds = _rounds().filter(post=post, state="drawn")
    if service is not None:
        rounds = rounds.filter(service=service)
    return [
        RoundFigures(
            round=round_,
            requests=round_.requests_count,
            people=round_.people_count,
            seats=round_.seats_count,
            served_requests=round_.served_requests,
            served_people=round_.served_people,
        )
        for round_ in rounds.order_by("-opens_at")[:count]
    ]


def round_log(round_: Round) -> QuerySet[AuditEntry]:
    """The draw's log: the round's audit entries (opened, drawn, told), oldest first."""
    return AuditEntry.objects.filter(
        object_type=Round._meta.label_lower, object_id=str(round_.pk)
    ).order_by("created_at", "pk")
