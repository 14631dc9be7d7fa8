"""Race fixtures: a slot with only its last seats free, and bookers that truly race for them.

Each booker is a thread, and Django gives each thread its own database connection; the tests
commit for real (``django_db(transaction=True)``) so that the bookers see one another's rows.
On SQLite the test database is a file (``TEST["NAME"]`` in settings) for the same reason.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from time import sleep
from typing import Any

import pytest
from django.db import OperationalError, connection

from acs.appointments import availability
from acs.appointments.models import Booking, BookingPerson, Service
from acs.appointments.services import BookingError, booking_create
from acs.appointments.services import booking as services
from tests.appointments.factories import make_service, person

NOW = datetime(2027, 1, 12, 11, 0, tzinfo=UTC)  # Tuesday 06:00 in Lima
WEDNESDAY = date(2027, 1, 13)
SEATS = 8
ALREADY_BOOKED = 5  # so 3 seats are left when the race starts
BOOKERS = 50
WINDOW_SECONDS = 0.05  # the pause the controls put between counting seats and writing
PHONE = "+51987654321"


@pytest.fixture(autouse=True)
def _no_emails(monkeypatch):
    """The email is not what these tests are about: its row is written with the booking, but
    not handed to a worker (run inline, sending it would race the bookers for the database)."""
    monkeypatch.setattr("acs.core.tasks.email_send.apply_async", lambda *args, **kwargs: None)


@pytest.fixture
def service(lima) -> Service:
    """Eight people per slot, ten half-hour slots on Wednesday 09:00–14:00 in Lima."""
    return make_service(
        post=lima, slug="race", seats=SEATS, max_people=1, opens=time(9), closes=time(14)
    )


@pytest.fixture
def wednesday(service) -> list[availability.Slot]:
    return availability.slots_between(service, WEDNESDAY, WEDNESDAY, now=NOW)[WEDNESDAY]


@pytest.fixture
def starts_at(service, wednesday) -> datetime:
    """The first slot on Wednesday, with ``ALREADY_BOOKED`` of its ``SEATS`` taken."""
    first = wednesday[0].starts_at
    for number in range(ALREADY_BOOKED):
        book_one(service, first, 10_000 + number)
    slot = availability.slot_offered(service, first, now=NOW)
    assert slot is not None and slot.free == SEATS - ALREADY_BOOKED
    return first


def book_one(service: Service, starts_at: datetime, number: int) -> Booking:
    """Book person ``number`` alone, under their own email, so only capacity can refuse it."""
    return booking_create(
        service=service,
        starts_at=starts_at,
        people=[person(number)],
        email=f"person{number}@example.org",
        phone=PHONE,
        now=NOW,
    )


def people_in_slot(service: Service, starts_at: datetime) -> int:
    return BookingPerson.objects.filter(
        service=service, booking__starts_at=starts_at, active=True
    ).count()


@dataclass
class Race:
    """What the bookers of one race got back."""

    vendor: str
    bookers: int
    seats_left: int
    booked: list[Booking] = field(default_factory=list)
    taken: list[BookingError] = field(default_factory=list)
    locked: list[OperationalError] = field(default_factory=list)  # SQLite "database is locked"
    other: list[Any] = field(default_factory=list)
    people_in_slot: int = 0

    def summary(self, label: str) -> str:
        return (
            f"{label} on {self.vendor}: {self.bookers} bookers, {self.seats_left} seats left, "
            f"{len(self.booked)} succeeded, {len(self.taken)} 'just taken', "
            f"{len(self.locked)} 'database is locked', {len(self.other)} other; "
            f"{self.people_in_slot} people now in a slot of {SEATS}"
        )

    def add(self, result: object) -> None:
        if isinstance(result, Booking):
            self.booked.append(result)
        elif isinstance(result, BookingError) and result.code == "taken":
            self.taken.append(result)
        elif isinstance(result, OperationalError) and "database is locked" in str(result):
            self.locked.append(result)
        else:
            self.other.append(result)


def in_threads(work: Callable[[int], object], count: int) -> list[object]:
    """Run ``work(0)`` … ``work(count - 1)`` in as many threads, released together by a
    barrier once each has its own connection; return each one's result or exception."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(number: int) -> None:
        try:
            connection.ensure_connection()  # connect before the start, not during the race
            barrier.wait(timeout=30)
            results[number] = work(number)
        except Exception as error:  # every outcome is recorded and judged by the test
            results[number] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread never finished"
    return results


@pytest.fixture
def race(service, starts_at) -> Callable[..., Race]:
    """Race ``BOOKERS`` threads for the last seats of the slot at ``starts_at``; by default
    each books one new person, ``attempt(number)`` may do something else (reschedule)."""

    def run(label: str, attempt: Callable[[int], object] | None = None) -> Race:
        results = in_threads(attempt or (lambda n: book_one(service, starts_at, n)), BOOKERS)
        outcome = Race(
            vendor=connection.vendor,
            bookers=BOOKERS,
            seats_left=SEATS - ALREADY_BOOKED,
            people_in_slot=people_in_slot(service, starts_at),
        )
        for result in results:
            outcome.add(result)
        print(outcome.summary(label))  # the figures docs/locking.md quotes (pytest -s)
        return outcome

    return run


@pytest.fixture
def widened_window(monkeypatch) -> None:
    """Pause between counting and writing, so that bookers nothing queues overlap for sure;
    without it an unprotected run could pass by luck, its bookers arriving one by one."""
    count = services._slot_state

    def count_then_wait(*args, **kwargs) -> services.SlotState:
        state = count(*args, **kwargs)
        sleep(WINDOW_SECONDS)
        return state

    monkeypatch.setattr(services, "_slot_state", count_then_wait)


@pytest.fixture
def lock_off(settings) -> None:
    """The switch the controls use: ``lock_row`` creates the lock row but does not lock it."""
    settings.ACS_LOCKS_ENABLED = False


@pytest.fixture
def no_lock_row(lock_off, monkeypatch) -> None:
    """No lock row at all: not even the ``INSERT … ON CONFLICT DO NOTHING`` that creates it."""
    monkeypatch.setattr(services, "lock_row", lambda model, **fields: None)


@pytest.fixture
def deferred(monkeypatch) -> None:
    """On SQLite, new connections begin transactions with plain (DEFERRED) ``BEGIN``.

    Every connection, in every thread, is made from this one settings dict; the bookers'
    threads connect after this change (the main thread's connection keeps IMMEDIATE, and the
    bookers do not use it). Elsewhere this does nothing: the option is SQLite's alone.
    """
    if connection.vendor != "sqlite":
        return
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "transaction_mode", "DEFERRED")
    [mode] = in_threads(lambda _: connection.transaction_mode, 1)
    assert mode == "DEFERRED", "the bookers' connections would still use BEGIN IMMEDIATE"
