"""The days and times a booking page offers: the days with room as links (no JavaScript
needed), and the times of one day as choices, on the post's wall clock with its zone.

The times page and the reschedule page show the same list; only what they leave out differs
(the booking's own time when rescheduling) and how far ahead they reach (a priority link).
``when_page`` and ``reschedule_page`` put each page together around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse

from acs.appointments import availability, summary
from acs.appointments.availability import Slot
from acs.appointments.forms import PeopleCountForm, SlotForm, WhenForm
from acs.appointments.models import Booking, Service
from acs.appointments.wizard import Draft, steps
from acs.core import clock
from acs.posts.models import Post


@dataclass(frozen=True)
class DayChoice:
    day: date
    label: str
    free: int
    url: str
    current: bool


@dataclass(frozen=True)
class TimeChoice:
    key: str
    label: str
    free: int
    checked: bool


def parse_day(value: str | None) -> date | None:
    """A ``?day=`` from the address, or None if there is none or it is not a date."""
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def slot_day(post: Post, key: str | None) -> date | None:
    """The post's date of the slot a key names."""
    instant = availability.parse_slot_key(key or "")
    return clock.today(post, instant) if instant else None


def times_offered(
    service: Service,
    *,
    people: int,
    wanted_day: date | None,
    chosen_key: str | None,
    base_url: str,
    query: dict[str, Any],
    skip: datetime | None = None,
    horizon_days: int | None = None,
) -> dict[str, Any]:
    """The days with room for ``people`` and the times of one of them: ``wanted_day`` if it
    has room, else the first day that has. ``horizon_days`` is a priority link's wider
    horizon."""
    post = service.post
    today = clock.today(post)
    horizon = service.horizon_days if horizon_days is None else horizon_days
    offered = availability.slots_between(
        service, today, today + timedelta(days=horizon), horizon_days=horizon_days
    )
    with_room: dict[date, list[Slot]] = {}
    for day, slots in offered.items():
        fitting = [s for s in slots if s.free >= people and s.starts_at != skip]
        if fitting:
            with_room[day] = fitting
    chosen_day = wanted_day if wanted_day in with_room else next(iter(with_room), None)
    days = [
        DayChoice(
            day=day,
            label=clock.short_day(day),
            free=len(slots),
            url=f"{base_url}?{urlencode({**query, 'day': day.isoformat()})}",
            current=day == chosen_day,
        )
        for day, slots in with_room.items()
    ]
    slots = with_room.get(chosen_day, []) if chosen_day else []
    times = [
        TimeChoice(
            key=s.key, label=clock.time_text(s.local), free=s.free, checked=s.key == chosen_key
        )
        for s in slots
    ]
    return {
        "days": days,
        "chosen_day": chosen_day,
        "chosen_day_text": clock.long_date(chosen_day) if chosen_day else "",
        "times": times,
        "zone": clock.zone_text(post, slots[0].starts_at) if slots else "",
        "horizon_days": horizon,
    }


def when_page(
    draft: Draft, *, form: WhenForm | None, count_form: PeopleCountForm, day: str | None
) -> dict[str, Any]:
    """The times page: the number of people asked for (a refused POST's, a valid ?people=,
    or the draft's), and the days and times with room for them."""
    service = draft.service
    people = draft.people_count
    if form is not None and form.cleaned_data.get("people"):
        people = form.cleaned_data["people"]
    elif count_form.is_valid():
        people = count_form.cleaned_data["people"]
    chosen_key = form.data.get("slot") if form is not None else draft.data.get("slot")
    url = reverse("appointments:when", kwargs={"service": service.slug})
    return {
        "service": service,
        **steps(3),
        "count_form": count_form,
        "form": form,
        "people": people,
        "action": url,
        **times_offered(
            service,
            people=people,
            wanted_day=parse_day(day) or slot_day(service.post, chosen_key),
            chosen_key=chosen_key,
            base_url=url,
            query={"people": people},
            horizon_days=draft.priority_horizon,
        ),
        "priority_horizon": draft.priority_horizon,
    }


def reschedule_page(
    booking: Booking,
    *,
    form: SlotForm | None,
    day: str | None,
    error_message: str = "",
    nearest: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The booking, the refusal if there was one, and the other days and times with room
    for its people (never its own time)."""
    url = reverse("appointments:reschedule", kwargs={"token": booking.token})
    chosen_key = form.data.get("slot") if form is not None else None
    return {
        **summary.booking_summary(booking),
        "form": form,
        "error_message": error_message,
        "nearest": nearest or [],
        "action": url,
        **times_offered(
            booking.service,
            people=booking.people_count,
            wanted_day=parse_day(day) or slot_day(booking.post, chosen_key),
            chosen_key=chosen_key,
            base_url=url,
            query={},
            skip=booking.starts_at,
        ),
    }
