"""Capacity is never exceeded: fifty bookers race for the last three seats of one slot.

Every test runs on the configured database: SQLite by default, PostgreSQL when DATABASE_URL
is set (``.ci/run`` runs both). The controls switch protection off and show that the race is
real, and which protection each database depends on. docs/locking.md quotes their figures.
"""

from __future__ import annotations

from datetime import datetime
from itertools import cycle

import pytest
from django.db import IntegrityError, connection

from acs.appointments.models import Booking, BookingPerson, SlotLock
from acs.appointments.services import BookingError, booking_create, booking_reschedule
from acs.core.locking import LockOutsideTransaction, lock_row
from tests.appointments.factories import person
from tests.concurrency.conftest import BOOKERS, NOW, PHONE, SEATS, Race, book_one, in_threads


def on_sqlite_only(test):
    """Tests about SQLite's own write lock exist only when the suite runs on SQLite (CI runs
    it on both databases), rather than showing up as skipped on PostgreSQL."""
    return test if connection.vendor == "sqlite" else None


def assert_exact(race: Race, starts_at: datetime) -> None:
    """As many bookers got a seat as there were seats; every other one was told "just taken"
    and offered other free times; the slot holds exactly its capacity."""
    assert race.other == [] and race.locked == [], race.summary("unexpected errors")
    assert len(race.booked) == race.seats_left, race.summary("wrong count")
    assert len(race.taken) == race.bookers - race.seats_left
    for refusal in race.taken:
        assert refusal.nearest, "a refused booker was offered no other time"
        assert all(slot.starts_at != starts_at and slot.free >= 1 for slot in refusal.nearest)
    assert race.people_in_slot == SEATS


def test_lock_row_refuses_to_run_outside_a_transaction():
    assert not connection.in_atomic_block
    with pytest.raises(LockOutsideTransaction):
        lock_row(SlotLock, service_id=1, starts_at=NOW)


@pytest.mark.django_db(transaction=True)
def test_fifty_bookers_for_the_last_three_seats(race, starts_at):
    assert_exact(race("lock on"), starts_at)


@pytest.mark.django_db(transaction=True)
def test_the_lock_keeps_count_even_with_a_widened_window(race, starts_at, widened_window):
    # The same pause that makes the controls below over-book: the lock, not luck, saves us.
    assert_exact(race("lock on, widened window"), starts_at)


@pytest.mark.django_db(transaction=True)
def test_fifty_reschedules_into_the_last_three_seats(race, service, wednesday, starts_at):
    """Moving is booking too: exactly three move; the others keep the seat they had."""
    others = cycle(slot.starts_at for slot in wednesday[1:])
    bookings = [book_one(service, next(others), 20_000 + n) for n in range(BOOKERS)]
    before = {booking.pk: booking.starts_at for booking in bookings}

    result = race(
        "reschedule, lock on",
        lambda n: booking_reschedule(booking=bookings[n], starts_at=starts_at, now=NOW),
    )

    assert_exact(result, starts_at)
    moved = {booking.pk for booking in result.booked}
    for booking in Booking.objects.filter(pk__in=before.keys() - moved):
        assert booking.starts_at == before[booking.pk]
    assert BookingPerson.objects.filter(service=service, active=True).count() == 5 + BOOKERS


@pytest.mark.django_db(transaction=True)
def test_one_person_booked_fifty_times_at_once_gets_one_booking(service, wednesday):
    """Different slots take different locks, so only the partial unique index on active
    people stops the same passport from holding many appointments."""
    slots = [slot.starts_at for slot in wednesday]

    def book_the_same_person(n: int):
        return booking_create(
            service=service,
            starts_at=slots[n % len(slots)],
            people=[person(7)],
            email=f"bot{n}@example.org",
            phone=PHONE,
            now=NOW,
        )

    results = in_threads(book_the_same_person, BOOKERS)

    booked = [result for result in results if isinstance(result, Booking)]
    refused = [result for result in results if isinstance(result, BookingError)]
    by_index = sum(isinstance(refusal.__cause__, IntegrityError) for refusal in refused)
    print(
        f"one person, {BOOKERS} bookers on {connection.vendor}: {len(booked)} booked, "
        f"{len(refused) - by_index} refused by the check, {by_index} by the unique index"
    )
    assert len(booked) == 1 and len(refused) == BOOKERS - 1, results
    assert {refusal.code for refusal in refused} == {"already_booked"}
    assert BookingPerson.objects.filter(service=service, active=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_control_lock_off(race, starts_at, widened_window, lock_off):
    result = race("control: lock off")
    if connection.vendor == "sqlite":
        # SQLite stays exact: BEGIN IMMEDIATE already queues the writers (see below).
        assert_exact(result, starts_at)
    else:
        # PostgreSQL, READ COMMITTED: every booker counts before the others commit.
        assert len(result.booked) > result.seats_left, result.summary("no race")
        assert result.people_in_slot > SEATS


@pytest.mark.django_db(transaction=True)
def test_control_nothing_protects(race, starts_at, widened_window, no_lock_row, deferred):
    """No lock row at all and, on SQLite, DEFERRED transactions: the count is wrong."""
    result = race("control: nothing protects")
    if connection.vendor == "sqlite":
        # In WAL mode a transaction may write only from the newest snapshot, so SQLite does
        # not over-book: the bookers who counted too early crash with "database is locked",
        # where they should have been told "just taken" and offered other times.
        assert result.locked, result.summary("no race")
        assert result.people_in_slot <= SEATS
    else:
        assert len(result.booked) > result.seats_left, result.summary("no race")
        assert result.people_in_slot > SEATS


@on_sqlite_only
@pytest.mark.django_db(transaction=True)
def test_sqlite_immediate_alone_keeps_count(race, starts_at, widened_window, no_lock_row):
    assert_exact(race("SQLite: IMMEDIATE, no lock row"), starts_at)


@on_sqlite_only
@pytest.mark.django_db(transaction=True)
def test_sqlite_lock_row_insert_alone_keeps_count(
    race, starts_at, widened_window, lock_off, deferred
):
    # lock_row's INSERT … ON CONFLICT DO NOTHING is a write: even in a DEFERRED transaction it
    # takes SQLite's write lock before the count, whether or not it inserts a row.
    assert_exact(race("SQLite: DEFERRED, lock row kept"), starts_at)
