"""Which times a service can be booked: rules, closures, holidays, notice, horizon, seats.

Times are reasoned about in the post's own zone and stored in UTC. A local time that does
not exist (a daylight-saving gap) is never offered; a local time that happens twice (the
hour repeated in autumn) is offered once, at its first occurrence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache

import holidays
from django.db.models import Q, Sum
from django.utils import timezone

from acs.appointments.constants import ACTIVE, HoldStatus
from acs.appointments.models import Booking, Closure, SeatHold, Service
from acs.core import clock


@dataclass(frozen=True)
class Slot:
    starts_at: datetime  # UTC
    local: datetime  # in the post's zone
    free: int

    @property
    def key(self) -> str:
        """How forms name a slot: its UTC instant, unambiguous across daylight saving."""
        return self.starts_at.strftime("%Y-%m-%dT%H:%MZ")


def parse_slot_key(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%MZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


@cache
def _holidays(country: str, year: int) -> dict[date, str]:
    found: dict[date, str] = {}
    # The U.S. federal holidays close the embassy as well as the host country's.
    for calendar in (
        holidays.country_holidays("US", years=year),
        holidays.country_holidays(country, years=year),
    ):
        found.update(calendar)
    return found


def holiday_name(country: str, day: date) -> str | None:
    return _holidays(country, day.year).get(day)


def local_times(service: Service, day: date, rules) -> list[datetime]:
    """The local start times of one day's slots, real instants only."""
    zone = service.post.zone
    step = timedelta(minutes=service.duration_minutes)
    starts: list[datetime] = []
    for rule in rules:
        cursor = datetime.combine(day, rule.opens, tzinfo=zone)
        closes = datetime.combine(day, rule.closes, tzinfo=zone)
        while cursor + step <= closes:
            round_trip = cursor.astimezone(UTC).astimezone(zone)
            if round_trip.replace(tzinfo=None) == cursor.replace(tzinfo=None):
                starts.append(round_trip)  # skips wall times inside a spring-forward gap
            cursor = (cursor.replace(tzinfo=None) + step).replace(tzinfo=zone)
    return starts


def _closed(instant: datetime, end: datetime, closures) -> bool:
    return any(c.starts_at < end and instant < c.ends_at for c in closures)


def slots_between(
    service: Service,
    first_day: date,
    last_day: date,
    *,
    now: datetime | None = None,
    count_seats: bool = True,
    horizon_days: int | None = None,
    closures: bool = True,
) -> dict[date, list[Slot]]:
    """Bookable slots per local day, from ``first_day`` to ``last_day`` inclusive.

    ``horizon_days`` replaces the service's own horizon for one citizen (a priority link
    after a closure cancelled their appointment); everyone else gets ``service.horizon_days``.
    Without ``closures`` the caller checks closures itself (``booking_create`` does, under
    the slot's lock).

    Four queries whatever the range: the rules (none when prefetched, as
    ``selectors.service_get`` does), the closures, the seats taken (booked, or held for the
    waitlist; and the service's post, when not already loaded).
    """
    now = now or timezone.now()
    post = service.post
    zone = post.zone
    today = now.astimezone(zone).date()
    first_day = max(first_day, today)
    horizon = service.horizon_days if horizon_days is None else horizon_days
    last_day = min(last_day, today + timedelta(days=horizon))
    if last_day < first_day:
        return {}
    earliest = now + timedelta(hours=service.min_notice_hours)
    step = timedelta(minutes=service.duration_minutes)

    rules_by_day = defaultdict(list)
    for rule in service.opening_rules.all():
        rules_by_day[rule.weekday].append(rule)
    window_start = datetime.combine(first_day, datetime.min.time(), tzinfo=zone)
    window_end = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    closed = (
        list(
            Closure.objects.filter(
                Q(service__isnull=True) | Q(service=service),
                post_id=service.post_id,
                starts_at__lt=window_end,
                ends_at__gt=window_start,
            )
        )
        if closures
        else []
    )
    taken = seats_taken_between(service, window_start, window_end) if count_seats else {}

    result: dict[date, list[Slot]] = {}
    day = first_day
    while day <= last_day:
        if rules_by_day.get(day.weekday()) and not holiday_name(post.country_code, day):
            slots = []
            for local in local_times(service, day, rules_by_day[day.weekday()]):
                instant = local.astimezone(UTC)
                if instant < earliest or _closed(instant, instant + step, closed):
                    continue
                free = service.seats_per_slot - (taken.get(instant) or 0)
                slots.append(Slot(starts_at=instant, local=local, free=max(free, 0)))
            if slots:
                result[day] = slots
        day += timedelta(days=1)
    return result


def seats_taken_between(service: Service, start: datetime, end: datetime) -> dict[datetime, int]:
    """Seats taken per slot start in [start, end): booked by active bookings, or held for
    the waitlist (offered and not yet claimed: taken for everyone but the entry they are
    offered to, ``services.waitlist``). One query (UNION ALL of the two sums)."""
    booked = (
        Booking.objects.filter(
            service=service, status__in=ACTIVE, starts_at__gte=start, starts_at__lt=end
        )
        .values("starts_at")
        .annotate(people=Sum("people_count"))
        .values_list("starts_at", "people")
    )
    held = (
        SeatHold.objects.filter(
            service=service, status=HoldStatus.HELD, starts_at__gte=start, starts_at__lt=end
        )
        .values("starts_at")
        .annotate(people=Sum("people_count"))
        .values_list("starts_at", "people")
    )
    taken: dict[datetime, int] = {}
    # No ORDER BY inside a compound statement (the models' default ordering): SQLite
    # refuses it.
    for instant, people in booked.order_by().union(held.order_by(), all=True):
        taken[instant] = taken.get(instant, 0) + (people or 0)
    return taken


def seats_held(service: Service, starts_at: datetime, *, exclude_hold: int | None = None) -> int:
    """Seats of one slot held for the waitlist, but for ``exclude_hold`` (the offer being
    claimed). Counted under the slot's lock by whoever takes seats (``booking_create``)."""
    holds = SeatHold.objects.filter(service=service, starts_at=starts_at, status=HoldStatus.HELD)
    if exclude_hold is not None:
        holds = holds.exclude(pk=exclude_hold)
    return holds.aggregate(total=Sum("people_count"))["total"] or 0


def seats_free(service: Service, starts_at: datetime) -> int:
    """The seats of one slot neither booked nor held, for the waitlist's offers (to be called
    under the slot's lock, like the booking's own count)."""
    booked = (
        Booking.objects.filter(service=service, starts_at=starts_at, status__in=ACTIVE).aggregate(
            total=Sum("people_count")
        )["total"]
        or 0
    )
    return service.seats_per_slot - booked - seats_held(service, starts_at)


def slot_offered(
    service: Service,
    starts_at: datetime,
    *,
    now: datetime | None = None,
    count_seats: bool = True,
    horizon_days: int | None = None,
    closures: bool = True,
) -> Slot | None:
    """The slot starting at ``starts_at`` if the service offers it (free seats or not;
    without ``count_seats`` its ``free`` is the full capacity; without ``closures`` a
    closure does not count: see ``slots_between``)."""
    local_day = clock.today(service.post, starts_at)
    days = slots_between(
        service,
        local_day,
        local_day,
        now=now,
        count_seats=count_seats,
        horizon_days=horizon_days,
        closures=closures,
    )
    for slot in days.get(local_day, []):
        if slot.starts_at == starts_at:
            return slot
    return None


def nearest_free(
    service: Service,
    around: datetime,
    *,
    people: int = 1,
    count: int = 3,
    now: datetime | None = None,
) -> list[Slot]:
    """The free slots closest in time to ``around``, for "just taken: try these"."""
    local_day = clock.today(service.post, around)
    days = slots_between(
        service, local_day - timedelta(days=7), local_day + timedelta(days=14), now=now
    )
    free = [slot for slots in days.values() for slot in slots if slot.free >= people]
    free.sort(key=lambda slot: abs(slot.starts_at - around))
    return sorted(free[:count], key=lambda slot: slot.starts_at)
