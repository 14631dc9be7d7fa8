"""Builders for the waitlist tests: a first-come service whose Wednesday is full, and people
who join its waitlist through the services."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from acs.appointments import availability
from acs.appointments.models import Booking, Service, WaitlistEntry
from acs.appointments.services import booking_create
from acs.appointments.services.waitlist import waitlist_confirm, waitlist_join
from tests.appointments.factories import make_service, person

NOW = datetime(2027, 1, 12, 11, 0, tzinfo=UTC)  # Tuesday 06:00 in Lima
WEDNESDAY = date(2027, 1, 13)
THURSDAY = date(2027, 1, 14)
PHONE = "+51987654321"


def full_service(post, *, seats: int = 1, slug: str = "waitlisted") -> Service:
    """One seat per half hour, 09:00–10:00 every day (two slots a day), every seat of
    Wednesday booked (people 1000 and up)."""
    service = make_service(
        post=post, slug=slug, seats=seats, max_people=3, opens=time(9), closes=time(10)
    )
    for index, slot in enumerate(wednesday(service)):
        for seat in range(seats):
            book(service, slot.starts_at, 1000 + index * 10 + seat)
    return service


def wednesday(service: Service) -> list[availability.Slot]:
    return availability.slots_between(service, WEDNESDAY, WEDNESDAY, now=NOW)[WEDNESDAY]


def book(service: Service, starts_at: datetime, number: int, **kwargs) -> Booking:
    return booking_create(
        service=service,
        starts_at=starts_at,
        people=[person(number)],
        email=f"person{number}@example.org",
        phone=PHONE,
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def waiting(
    service: Service,
    number: int,
    *,
    days: tuple[date, ...] = (WEDNESDAY,),
    people: int = 1,
    now: datetime = NOW,
    language: str = "en",
) -> WaitlistEntry:
    """Person ``number`` (and ``people - 1`` more) joins and confirms, at ``now``."""
    entry = waitlist_join(
        service=service,
        days=list(days),
        people=[person(number + extra) for extra in range(people)],
        email=f"waiting{number}@example.org",
        phone=PHONE,
        language=language,
        now=now,
    )
    return waitlist_confirm(entry=entry, now=now)
